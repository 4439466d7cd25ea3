package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// ErrNotRunning is wrapped by Stop's error when no live process holds the pidfile.
var ErrNotRunning = errors.New("not running")

// State describes a daemon as seen through its pidfile.
type State struct {
	PidFile string
	Running bool // this service's master holds the pidfile's lock
	PID     int  // the pid in the pidfile (0 if none)
	Workers int  // live child processes of PID (0 for the thread models)

	pidAlive bool // not Running, but PID is a live process (one that holds no lock)
}

// String is a one-line summary such as "running (pid 42, 4 worker processes, pidfile /srv/echo.pid)".
func (s State) String() string {
	if !s.Running {
		if s.PID != 0 {
			return "not running (" + s.stale() + ")"
		}
		return fmt.Sprintf("not running (no pidfile %s)", s.PidFile)
	}
	return fmt.Sprintf("running (pid %d, %d worker processes, pidfile %s)", s.PID, s.Workers, s.PidFile)
}

// stale describes a pidfile whose lock nobody holds.
func (s State) stale() string {
	if s.pidAlive {
		return fmt.Sprintf("stale pidfile %s: pid %d is alive but does not hold its lock", s.PidFile, s.PID)
	}
	return fmt.Sprintf("stale pidfile %s names dead pid %d", s.PidFile, s.PID)
}

// Status reads the daemon's state from its pidfile and /proc. Running means proven: the
// pidfile is owned by the caller or root, is locked, and names a live process that started
// at the recorded time from the recorded executable. A locked pidfile that fails any of
// these checks is an error wrapping ErrNotOurs, naming the file and the reason.
func Status(pidfile string) (State, error) {
	st := State{PidFile: pidfile}
	rec, locked, err := readPidFile(pidfile, true)
	st.PID = rec.pid
	if err != nil {
		return st, err
	}
	if !locked {
		st.pidAlive = Alive(rec.pid)
		return st, nil
	}
	if err := rec.verify(); err != nil {
		return st, fmt.Errorf("daemon: pidfile %s is locked, but %w", pidfile, err)
	}
	st.Running = true
	st.Workers = len(Children(rec.pid))
	return st, nil
}

// Stop stops the daemon holding pidfile: SIGTERM to its pid (the master drains and stops
// its workers), then waits for it and every process it had started to exit. If they are
// still there after timeout (0 = 10s; negative is an error), they get SIGKILL and the pidfile is removed; the
// returned error says so. A pidfile whose lock nobody holds is stale: it is removed and
// the error wraps ErrNotRunning. Stop signals nothing when Status cannot prove the pidfile
// names this service's master; its error says why.
func Stop(ctx context.Context, pidfile string, timeout time.Duration) error {
	if timeout < 0 {
		return fmt.Errorf("daemon: Stop: negative timeout %v", timeout)
	}
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	st, err := Status(pidfile)
	if err != nil {
		return fmt.Errorf("%w; sent no signal", err)
	}
	if !st.Running {
		if st.PID != 0 {
			removeIfUnlocked(pidfile)
			return fmt.Errorf("daemon: %w (removed %s)", ErrNotRunning, st.stale())
		}
		return fmt.Errorf("daemon: %w (no pidfile %s)", ErrNotRunning, pidfile)
	}
	pid := st.PID
	tree := Descendants(pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && err != syscall.ESRCH {
		return fmt.Errorf("daemon: signal pid %d: %w", pid, err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if waitGone(ctx, append([]int{pid}, tree...)) {
		removeIfUnlocked(pidfile) // normally the master removed it; not if it crashed on the way out
		return nil
	}
	var left []int
	for _, p := range append(append([]int{pid}, tree...), Descendants(pid)...) {
		if Alive(p) {
			_ = syscall.Kill(p, syscall.SIGKILL)
			left = append(left, p)
		}
	}
	kctx, kcancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer kcancel()
	waitGone(kctx, left)
	removeIfUnlocked(pidfile)
	return fmt.Errorf("daemon: pid %d did not stop within %v; sent SIGKILL to %v", pid, timeout, left)
}

// waitGone polls until none of pids is alive or ctx ends; it reports whether all are gone.
func waitGone(ctx context.Context, pids []int) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		alive := false
		for _, p := range pids {
			if Alive(p) {
				alive = true
				break
			}
		}
		if !alive {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// removeIfUnlocked removes pidfile once nobody holds its lock, waiting up to a second: a
// killed process releases its lock only when its last thread has exited, which can be
// after its pid already shows as a zombie.
func removeIfUnlocked(pidfile string) {
	for i := 0; i < 50; i++ {
		_, locked, err := ReadPidFile(pidfile)
		if err != nil {
			return
		}
		if !locked {
			_ = os.Remove(pidfile)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
