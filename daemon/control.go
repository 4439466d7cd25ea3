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
	Running bool // a live process holds the pidfile's lock
	PID     int  // the pid in the pidfile (0 if none)
	Workers int  // live child processes of PID (0 for the thread models)
}

// String is a one-line summary such as "running (pid 42, 4 worker processes, pidfile /tmp/echo.pid)".
func (s State) String() string {
	if !s.Running {
		if s.PID != 0 {
			return fmt.Sprintf("not running (stale pidfile %s names dead pid %d)", s.PidFile, s.PID)
		}
		return fmt.Sprintf("not running (no pidfile %s)", s.PidFile)
	}
	return fmt.Sprintf("running (pid %d, %d worker processes, pidfile %s)", s.PID, s.Workers, s.PidFile)
}

// Status reads the daemon's state from its pidfile and /proc.
func Status(pidfile string) (State, error) {
	st := State{PidFile: pidfile}
	pid, locked, err := ReadPidFile(pidfile)
	st.PID = pid
	if err != nil {
		return st, err
	}
	if locked && Alive(pid) {
		st.Running = true
		st.Workers = len(Children(pid))
	}
	return st, nil
}

// Stop stops the daemon holding pidfile: SIGTERM to its pid (the master drains and stops
// its workers), then waits for it and every process it had started to exit. If they are
// still there after timeout (0 = 10s), they get SIGKILL and the pidfile is removed; the
// returned error says so. A pidfile whose lock nobody holds is stale: it is removed and
// the error wraps ErrNotRunning.
func Stop(ctx context.Context, pidfile string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	pid, locked, err := ReadPidFile(pidfile)
	if err != nil {
		return err
	}
	if !locked || !Alive(pid) {
		if pid != 0 {
			removeIfUnlocked(pidfile)
			return fmt.Errorf("daemon: %w (removed stale pidfile %s of dead pid %d)", ErrNotRunning, pidfile, pid)
		}
		return fmt.Errorf("daemon: %w (no pidfile %s)", ErrNotRunning, pidfile)
	}
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
