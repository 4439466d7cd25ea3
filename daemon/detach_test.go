package daemon

import (
	"context"
	"errors"
	"github.com/svrkit/svrkit/internal/detach"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func detachChild(t *testing.T, behaviour, pidfile string, timeout time.Duration) (int, error) {
	t.Helper()
	return detach.Detach(detach.Options{
		Args:    []string{"daemon_test: master"},
		Env:     append(os.Environ(), envChild+"="+behaviour, envPidFile+"="+pidfile, "GORACE=atexit_sleep_ms=0"),
		LogFile: filepath.Join(filepath.Dir(pidfile), "out.log"),
		Timeout: timeout,
	})
}

func session(pid int) int {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	sid, _ := strconv.Atoi(f[3])
	return sid
}

func TestDetachStatusStop(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "testd.pid")
	pid, err := detachChild(t, "serve", pidfile, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if session(pid) != pid {
		t.Errorf("daemon is not a session leader: sid %d, pid %d", session(pid), pid)
	}
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if !strings.HasPrefix(string(cmdline), "daemon_test: master\x00") {
		t.Errorf("argv = %q", cmdline)
	}
	st, err := Status(pidfile)
	if err != nil || !st.Running || st.PID != pid || st.Workers != 0 {
		t.Errorf("status = %+v %v", st, err)
	}
	// Second start fails clearly, and the parent says why.
	_, err = detachChild(t, "serve", pidfile, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "testd already running (pid "+strconv.Itoa(pid)) {
		t.Errorf("second start: %v", err)
	}
	if err := Stop(context.Background(), pidfile, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if Alive(pid) {
		t.Error("still alive after Stop")
	}
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pidfile left: %v", err)
	}
	if err := Stop(context.Background(), pidfile, time.Second); !errors.Is(err, ErrNotRunning) {
		t.Errorf("stop when stopped: %v", err)
	}
}

func TestStopKillsAfterDeadline(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "testd.pid")
	pid, err := detachChild(t, "stuck", pidfile, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = Stop(context.Background(), pidfile, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "SIGKILL") {
		t.Errorf("stop of a stuck daemon: %v", err)
	}
	if Alive(pid) {
		t.Error("stuck daemon survived")
	}
	if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
		t.Errorf("pidfile left: %v", err)
	}
}

func TestDetachFailures(t *testing.T) {
	dir := t.TempDir()
	_, err := detachChild(t, "die", filepath.Join(dir, "a.pid"), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before reporting ready (exit status 7)") {
		t.Errorf("dying child: %v", err)
	}
	_, err = detachChild(t, "serve", filepath.Join(dir, "no-such-dir", "b.pid"), 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "no-such-dir") {
		t.Errorf("child failing start-up: %v", err)
	}
	_, err = detachChild(t, "slow", filepath.Join(dir, "c.pid"), 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not report ready") {
		t.Errorf("slow child: %v", err)
	}
}

// TestNegativeTimeouts: an invalid option is an error, not a silent default.
func TestNegativeTimeouts(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "testd.pid")
	if err := Stop(context.Background(), pidfile, -time.Second); err == nil || !strings.Contains(err.Error(), "negative timeout") {
		t.Errorf("Stop with a negative timeout: %v", err)
	}
	if _, err := detachChild(t, "serve", pidfile, -time.Second); err == nil || !strings.Contains(err.Error(), "negative Timeout") {
		t.Errorf("Detach with a negative timeout: %v", err)
	}
}
