package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/svrkit/svrkit/internal/nofollow"
	"github.com/svrkit/svrkit/internal/readypipe"
)

// EnvReadyFD names the fd on which a detached child reports start-up to its parent.
const EnvReadyFD = "SVRKIT_READY_FD"

// DetachOptions configures Detach. Zero values are documented per field.
type DetachOptions struct {
	Args    []string      // argv of the daemon, Args[0] being the title ps shows; nil = os.Args
	Env     []string      // environment; nil = os.Environ()
	LogFile string        // the daemon's stdout and stderr (appended; a symbolic link is refused); "" = /dev/null
	Timeout time.Duration // how long to wait for Ready; 0 = 30s. On timeout the child is killed.
	// ExtraFiles are passed to the daemon as fds 4, 5, ... (fd 3 is the ready pipe); nil = none.
	// A graceful restart passes the listening socket and the locked pidfile this way.
	ExtraFiles []*os.File
	// Path is the executable to run; "" = this process's own (os.Executable()).
	Path string
}

// Detach starts the running binary again as a daemon: in a new session (setsid), stdin
// from /dev/null, stdout and stderr to LogFile. Go cannot fork safely once threads run, so
// this re-executes instead of forking. It then waits for the child to call
// (*Notifier).Ready and returns the child's pid, or the child's start-up error (or how it
// exited) so that a control script's "start" is truthful.
func Detach(opts DetachOptions) (int, error) {
	if opts.Args == nil {
		opts.Args = os.Args
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	exe := opts.Path
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return 0, fmt.Errorf("daemon: find own executable: %w", err)
		}
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return 0, fmt.Errorf("daemon: %w", err)
	}
	defer devnull.Close()
	out := devnull
	if opts.LogFile != "" {
		if out, err = nofollow.Append(opts.LogFile); err != nil {
			return 0, fmt.Errorf("daemon: open log file for the daemon's output: %w", err)
		}
		defer out.Close()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("daemon: ready pipe: %w", err)
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:        exe,
		Args:        opts.Args,
		Env:         append(withoutEnv(opts.Env, EnvReadyFD), EnvReadyFD+"=3"),
		Stdin:       devnull,
		Stdout:      out,
		Stderr:      out,
		ExtraFiles:  append([]*os.File{w}, opts.ExtraFiles...),
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, fmt.Errorf("daemon: start %s: %w", exe, err)
	}
	pid := cmd.Process.Pid
	_ = r.SetReadDeadline(time.Now().Add(opts.Timeout))
	msg, rerr := io.ReadAll(io.LimitReader(r, 64<<10))
	reported, perr := readypipe.Parse(string(msg))
	switch {
	case reported && perr == nil:
		_ = cmd.Process.Release()
		return pid, nil
	case reported && !errors.Is(perr, readypipe.ErrBadReport): // the child's error: it exits
		_ = cmd.Wait()
		return 0, perr
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, fmt.Errorf("daemon: pid %d did not report ready within %v; killed it (see %s)", pid, opts.Timeout, logName(opts.LogFile))
	default:
		werr := cmd.Wait()
		return 0, fmt.Errorf("daemon: pid %d exited before reporting ready (%v); see %s", pid, werr, logName(opts.LogFile))
	}
}

func logName(p string) string {
	if p == "" {
		return "its log (output went to /dev/null)"
	}
	return p
}

func withoutEnv(env []string, key string) []string {
	out := make([]string, 0, len(env)+1)
	for _, e := range env {
		if !strings.HasPrefix(e, key+"=") {
			out = append(out, e)
		}
	}
	return out
}

// Notifier is the detached child's end of the ready pipe.
type Notifier struct{ w *readypipe.Writer }

// TakeNotifier returns the ready pipe when this process was started by Detach, else nil.
// It clears EnvReadyFD and marks the fd close-on-exec so worker processes started later do
// not inherit it. Call it once, early.
func TakeNotifier() *Notifier {
	w := readypipe.Take(EnvReadyFD)
	if w == nil {
		return nil
	}
	return &Notifier{w: w}
}

// Ready reports start-up to the waiting parent: nil means ready (the parent prints the pid
// and exits 0), an error is printed by the parent, which exits non-zero. Only the first
// call has an effect; a nil Notifier does nothing.
func (n *Notifier) Ready(err error) {
	if n != nil {
		n.w.Report(err)
	}
}
