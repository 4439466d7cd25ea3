package supervise

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/svrkit/svrkit/internal/procenv"
)

// readyReport is one worker's answer on its readiness pipe.
type readyReport struct {
	index int
	name  string
	err   error
}

// awaitReady reads spec index's readiness line from r. When the pipe closes without a
// line (the process died first), it reports how the process exited (from exit).
func (p *Procs) awaitReady(ctx context.Context, index int, name string, r *os.File, exit <-chan error) {
	defer p.wg.Done()
	line, _ := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	r.Close()
	reported, err := procenv.ParseReport(line)
	if !reported {
		select {
		case e := <-exit:
			if e == nil {
				e = errors.New("exit status 0")
			}
			err = fmt.Errorf("exited before it was ready (%v)", e)
		case <-ctx.Done():
			err = fmt.Errorf("stopped before it was ready: %w", ctx.Err())
		}
	}
	p.ready <- readyReport{index: index, name: name, err: err}
}

// WaitReady waits until every process started with ProcSpec.Ready has reported that it
// started. It returns the first failure, "<name> failed to start: <why>" (the worker's own
// error, or how it exited before reporting), or, when ctx ends first, an error naming the
// workers not ready yet. Call it once, after StartProcs.
func (p *Procs) WaitReady(ctx context.Context) error {
	pending := map[int]string{}
	for i, n := range p.waitReady {
		pending[i] = n
	}
	for len(pending) > 0 {
		select {
		case r := <-p.ready:
			delete(pending, r.index)
			if r.err != nil {
				return fmt.Errorf("%s failed to start: %w", r.name, r.err)
			}
		case <-ctx.Done():
			names := make([]string, 0, len(pending))
			for _, n := range pending {
				names = append(names, n)
			}
			sort.Strings(names)
			return fmt.Errorf("worker processes not ready (%s): %w", strings.Join(names, ", "), ctx.Err())
		}
	}
	return nil
}

// withReadyPipe returns a copy of s with w as the next inherited fd and
// procenv.WorkerReady naming it.
func withReadyPipe(s ProcSpec, w *os.File) ProcSpec {
	fd := 3 + len(s.ExtraFiles)
	s.ExtraFiles = append(append([]*os.File(nil), s.ExtraFiles...), w)
	env := s.Env
	if env == nil {
		env = os.Environ()
	}
	s.Env = procenv.WorkerReady.Pass(env, fd)
	return s
}
