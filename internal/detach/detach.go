// Package detach starts a daemon: the running binary re-executed in a new session, and
// waits until it reports on its procenv.DetachReady pipe that it started.
package detach

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/svrkit/svrkit/internal/nofollow"
	"github.com/svrkit/svrkit/internal/procenv"
)

// Options configures Detach. Zero values are documented per field.
type Options struct {
	Args    []string      // argv of the daemon, Args[0] being the title ps shows; nil = os.Args
	Env     []string      // environment; nil = os.Environ()
	LogFile string        // the daemon's stdout and stderr (appended; a symbolic link is refused); "" = /dev/null
	Timeout time.Duration // how long to wait for the report; 0 = 30s, negative is an error. On timeout the child is killed.
	// ExtraFiles are passed to the daemon as fds 4, 5, ... (fd 3 is the ready pipe); nil = none.
	// A graceful restart passes the listening socket and the locked pidfile this way.
	ExtraFiles []*os.File
	// Path is the executable to run; "" = this process's own (os.Executable()).
	Path string
}

// Detach starts the running binary again as a daemon: in a new session (setsid), stdin
// from /dev/null, stdout and stderr to LogFile. Go cannot fork safely once threads run, so
// this re-executes instead of forking. It then waits for the child to report ready and
// returns the child's pid, or the child's start-up error (or how it
// exited) so that a control script's "start" is truthful. The child reports on its
// procenv.DetachReady pipe.
func Detach(opts Options) (int, error) {
	if opts.Timeout < 0 {
		return 0, fmt.Errorf("detach: negative Timeout %v", opts.Timeout)
	}
	if opts.Args == nil {
		opts.Args = os.Args
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Timeout == 0 {
		opts.Timeout = 30 * time.Second
	}
	exe := opts.Path
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return 0, fmt.Errorf("detach: find own executable: %w", err)
		}
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, fmt.Errorf("detach: %w", err)
	}
	defer devnull.Close()
	out := devnull
	if opts.LogFile != "" {
		if out, err = nofollow.Append(opts.LogFile); err != nil {
			return 0, fmt.Errorf("detach: open log file for the daemon's output: %w", err)
		}
		defer out.Close()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("detach: ready pipe: %w", err)
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        opts.Args,
		Env:         procenv.DetachReady.Pass(opts.Env, 3),
		Stdin:       devnull,
		Stdout:      out,
		Stderr:      out,
		ExtraFiles:  append([]*os.File{w}, opts.ExtraFiles...),
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("detach: start %s: %w", exe, err)
	}
	pid := cmd.Process.Pid
	_ = r.SetReadDeadline(time.Now().Add(opts.Timeout))
	msg, rerr := io.ReadAll(io.LimitReader(r, 64<<10))
	reported, perr := procenv.ParseReport(string(msg))
	switch {
	case reported && perr == nil:
		_ = cmd.Process.Release()
		return pid, nil
	case reported && !errors.Is(perr, procenv.ErrBadReport): // the child's error: it exits
		_ = cmd.Wait()
		return 0, perr
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("detach: pid %d did not report ready within %v; killed it (see %s)", pid, opts.Timeout, logName(opts.LogFile))
	default:
		werr := cmd.Wait()
		return 0, fmt.Errorf("detach: pid %d exited before reporting ready (%v); see %s", pid, werr, logName(opts.LogFile))
	}
}

func logName(p string) string {
	if p == "" {
		return "its log (output went to /dev/null)"
	}
	return p
}
