package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/svrkit/svrkit/daemon"
	"github.com/svrkit/svrkit/internal/detach"
	"github.com/svrkit/svrkit/internal/names"
	"github.com/svrkit/svrkit/internal/nofollow"
	"github.com/svrkit/svrkit/internal/procenv"
	"github.com/svrkit/svrkit/workers"
)

// Graceful restart (SIGUSR2 or SIGHUP to the master, or `-s restart`): the running master
// re-executes its binary as a new master and passes it two inherited fds, the listening
// socket and the locked pidfile. The new master starts its workers on the same socket, takes
// the pidfile over (it stays locked throughout) and reports ready; only then does the old
// master stop accepting and drain like a stop. The socket is never closed, so no connection
// attempt is refused during the hand-off. procenv names the inherited fds.

// handoff is what a new master inherited from its predecessor.
type handoff struct {
	ln      net.Listener
	pidFile *os.File
}

// takeHandoff returns the inherited socket and pidfile when this master was started by a
// graceful restart (nil, nil otherwise). It clears the environment so workers do not see it.
func takeHandoff() (*handoff, error) {
	lf, pf, err := procenv.TakeHandoff()
	if err != nil {
		return nil, fmt.Errorf("graceful restart: %w", err)
	}
	if lf == nil {
		return nil, nil
	}
	ln, err := net.FileListener(lf) // dups the fd
	lf.Close()
	if err != nil {
		pf.Close()
		return nil, fmt.Errorf("graceful restart: inherited listening socket: %w", err)
	}
	return &handoff{ln: ln, pidFile: pf}, nil
}

// executable is the binary a graceful restart runs: this process's own, or, when that file
// was replaced since (an upgrade installed by rename), the new file at the same path.
func executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	return strings.TrimSuffix(exe, " (deleted)"), nil
}

// startSuccessor starts a new master that inherits ln and pf and waits until it is ready;
// it returns the new master's pid.
func startSuccessor(cfg *workers.Config, ln net.Listener, pf *daemon.PidFile) (int, error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		return 0, fmt.Errorf("graceful restart: listener is a %T, not TCP", ln)
	}
	lf, err := tl.File() // a dup for the child
	if err != nil {
		return 0, fmt.Errorf("graceful restart: share listening socket: %w", err)
	}
	defer lf.Close()
	exe, err := executable()
	if err != nil {
		return 0, fmt.Errorf("graceful restart: %w", err)
	}
	// Detach puts its ready pipe at fd 3; ExtraFiles follow as 4 and 5.
	env := append(os.Environ(), procenv.HandoffEnv(4, 5)...)
	return detach.Detach(detach.Options{
		Path:       exe,
		Args:       []string{names.Title(cfg.App.Name, names.Master), "-f", cfg.Path},
		Env:        env,
		LogFile:    cfg.App.LogFile,
		ExtraFiles: []*os.File{lf, pf.File()},
	})
}

// restartFailedFile is where a master that could not hand over records why (one line,
// "<pid> <reason>"), so that `-s restart` reports it at once instead of waiting out its
// deadline. It sits next to the pidfile.
func restartFailedFile(cfg *workers.Config) string { return cfg.App.PidFile + ".restart-failed" }

// recordRestartFailure writes restartFailedFile for this master (best effort), through a
// new temporary file renamed into place: a symbolic link planted at either name is replaced,
// never followed.
func recordRestartFailure(cfg *workers.Config, err error) {
	path := restartFailedFile(cfg)
	tmp, terr := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if terr != nil {
		return
	}
	_, werr := fmt.Fprintf(tmp, "%d %s\n", os.Getpid(), strings.ReplaceAll(err.Error(), "\n", " "))
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), path) != nil {
		os.Remove(tmp.Name())
	}
}

// restartFailure returns the reason master pid recorded for a failed hand-off, if any.
func restartFailure(cfg *workers.Config, pid int) (string, bool) {
	f, err := nofollow.OpenFile(restartFailedFile(cfg), os.O_RDONLY, 0)
	if err != nil {
		return "", false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", false
	}
	p, why, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if !ok || p != strconv.Itoa(pid) {
		return "", false
	}
	return why, true
}

// gracefulRestart asks the running master (pid in the pidfile) to hand over to a new master
// and waits until the pidfile names a new, running master and the old one has exited. It
// prints the same line as a start.
func gracefulRestart(ctx context.Context, cfg *workers.Config, oldPid int, stopWait time.Duration) (int, error) {
	os.Remove(restartFailedFile(cfg)) // a stale record must not fail this attempt
	if err := signalPid(oldPid); err != nil {
		return 0, err
	}
	// The old master waits up to 30s for its successor to be ready (detach.Detach).
	ctx, cancel := context.WithTimeout(ctx, 35*time.Second+stopWait)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	newPid := 0
	for {
		if newPid == 0 {
			// Look at the old master before the pidfile: it exits only after its successor
			// took the pidfile over, so "gone, and the pidfile names no successor" is final.
			oldGone := !daemon.Alive(oldPid)
			if st, err := daemon.Status(cfg.App.PidFile); err == nil && st.Running && st.PID != oldPid {
				newPid = st.PID
			} else if oldGone {
				return 0, fmt.Errorf("graceful restart: master pid %d exited without a successor (see %s)", oldPid, logName(cfg))
			} else if why, failed := restartFailure(cfg, oldPid); failed {
				os.Remove(restartFailedFile(cfg))
				return 0, fmt.Errorf("graceful restart failed, pid %d still serves: %s", oldPid, why)
			}
		}
		if newPid != 0 && !daemon.Alive(oldPid) {
			return newPid, nil
		}
		select {
		case <-ctx.Done():
			if newPid != 0 {
				return 0, fmt.Errorf("graceful restart: new master pid %d runs, but old master pid %d has not exited", newPid, oldPid)
			}
			return 0, fmt.Errorf("graceful restart: no new master after %v; pid %d still serves (see %s)", 35*time.Second+stopWait, oldPid, logName(cfg))
		case <-t.C:
		}
	}
}

func logName(cfg *workers.Config) string {
	if cfg.App.LogFile == "" {
		return "the master's log"
	}
	return cfg.App.LogFile
}

// signalPid asks master pid for a graceful restart.
func signalPid(pid int) error {
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		return fmt.Errorf("graceful restart: signal master pid %d: %w", pid, err)
	}
	return nil
}
