package procenv

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// A ReadyPipe is an environment variable naming the inherited fd on which a child reports,
// once, whether it started: one line, "ok" or "error: <why>".
type ReadyPipe string

// The two ready pipes.
const (
	// DetachReady: a detached master tells the command that started it (detach.Detach).
	DetachReady ReadyPipe = "SVRKIT_READY_FD"
	// WorkerReady: a worker process tells its master (first start only; restarts by
	// supervision run without it).
	WorkerReady ReadyPipe = "SVRKIT_WORKER_READY_FD"
)

// ErrBadReport is wrapped by ParseReport's error for a line that is neither report.
var ErrBadReport = errors.New("bad start-up report")

// Pass returns env without p's variable, plus p naming fd: the environment of a child that
// inherits the pipe's write end as fd.
func (p ReadyPipe) Pass(env []string, fd int) []string {
	return append(without(env, string(p)), string(p)+"="+strconv.Itoa(fd))
}

// Take returns this process's end of the pipe, or nil when it was not started with one.
// It clears the variable and marks the fd close-on-exec so processes started later do not
// inherit it. Call it once, early.
func (p ReadyPipe) Take() *Reporter {
	v := os.Getenv(string(p))
	if v == "" {
		return nil
	}
	os.Unsetenv(string(p))
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return &Reporter{f: os.NewFile(uintptr(fd), "ready-pipe")}
}

// Reporter is a child's end of a ready pipe.
type Reporter struct{ f *os.File }

// Report sends nil as "ok" and an error as "error: <why>" (on one line), then closes the
// pipe. Only the first call has an effect; a nil Reporter does nothing.
func (r *Reporter) Report(err error) {
	if r == nil || r.f == nil {
		return
	}
	line := "ok\n"
	if err != nil {
		line = "error: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
	}
	_, _ = r.f.WriteString(line)
	r.f.Close()
	r.f = nil
}

// ParseReport reads a report line (surrounding space ignored). reported is false when the
// line is empty: the child closed the pipe, or died, without reporting. err is the child's
// error, or says the line is malformed.
func ParseReport(line string) (reported bool, err error) {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return false, nil
	case line == "ok":
		return true, nil
	case strings.HasPrefix(line, "error: "):
		return true, errors.New(strings.TrimPrefix(line, "error: "))
	}
	return true, fmt.Errorf("%w %q", ErrBadReport, line)
}

func without(env []string, key string) []string {
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}
