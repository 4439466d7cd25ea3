package daemon

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestPidFileLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pid")
	pf, err := AcquirePidFile(path, "echo")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if first, _, _ := strings.Cut(string(b), "\n"); first != strconv.Itoa(os.Getpid()) {
		t.Errorf("pidfile holds %q", b)
	}
	pid, locked, err := ReadPidFile(path)
	if err != nil || !locked || pid != os.Getpid() {
		t.Errorf("ReadPidFile = %d %v %v", pid, locked, err)
	}
	// A second holder (a separate open file description) is refused with a clear message.
	_, err = AcquirePidFile(path, "echo")
	want := "echo already running (pid " + strconv.Itoa(os.Getpid()) + ", pidfile " + path + ")"
	if !errors.Is(err, ErrRunning) || err.Error() != want {
		t.Errorf("second acquire: %v, want %q", err, want)
	}
	if err := pf.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pidfile not removed: %v", err)
	}
	if err := pf.Release(); err != nil {
		t.Errorf("second release: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 0 {
		t.Errorf("leftover files: %v", ents)
	}
}

func TestStalePidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pid")
	// A pidfile left by a killed process: a pid, nobody holding the lock.
	if err := os.WriteFile(path, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := Status(path)
	if err != nil || st.Running || st.PID != 999999 || !strings.Contains(st.String(), "stale") {
		t.Errorf("status of stale pidfile: %+v %v (%s)", st, err, st)
	}
	pf, err := AcquirePidFile(path, "echo")
	if err != nil {
		t.Fatalf("stale pidfile blocked start: %v", err)
	}
	defer pf.Release()
	if pid, locked, _ := ReadPidFile(path); pid != os.Getpid() || !locked {
		t.Errorf("after takeover: %d %v", pid, locked)
	}
}

func TestPidFileErrors(t *testing.T) {
	if _, err := AcquirePidFile("/nonexistent-dir/x.pid", "echo"); err == nil || !strings.Contains(err.Error(), "/nonexistent-dir/x.pid") {
		t.Errorf("bad dir: %v", err)
	}
	st, err := Status(filepath.Join(t.TempDir(), "none.pid"))
	if err != nil || st.Running || st.PID != 0 || !strings.Contains(st.String(), "no pidfile") {
		t.Errorf("missing pidfile: %+v %v", st, err)
	}
}

func TestPidFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pid")
	for round := 0; round < 20; round++ {
		const n = 8
		type res struct {
			pf  *PidFile
			err error
		}
		out := make(chan res, n)
		for i := 0; i < n; i++ {
			go func() { pf, err := AcquirePidFile(path, "echo"); out <- res{pf, err} }()
		}
		var winners []*PidFile
		for i := 0; i < n; i++ {
			r := <-out
			if r.err == nil {
				winners = append(winners, r.pf)
			} else if !errors.Is(r.err, ErrRunning) {
				t.Errorf("round %d: unexpected error %v", round, r.err)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners", round, len(winners))
		}
		if _, locked, _ := ReadPidFile(path); !locked {
			t.Fatalf("round %d: the pidfile at the path is not the locked one", round)
		}
		winners[0].Release()
	}
}

func TestTakeOverPidFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pid")
	old, err := AcquirePidFile(path, "echo")
	if err != nil {
		t.Fatal(err)
	}
	// The successor gets a second fd of the same open file description (as an inherited fd).
	fd, err := syscall.Dup(int(old.File().Fd()))
	if err != nil {
		t.Fatal(err)
	}
	inherited := os.NewFile(uintptr(fd), "inherited")
	before, _ := os.Stat(path)
	pf, err := TakeOverPidFile(inherited, path)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if os.SameFile(before, after) {
		t.Error("pidfile not replaced")
	}
	// The predecessor goes: its Release leaves the successor's pidfile alone.
	if err := old.Release(); err != nil {
		t.Fatal(err)
	}
	if _, locked, err := ReadPidFile(path); err != nil || !locked {
		t.Fatalf("after the old holder left: locked %v, %v", locked, err)
	}
	if _, err := AcquirePidFile(path, "echo"); !errors.Is(err, ErrRunning) {
		t.Errorf("start during takeover: %v", err)
	}
	if err := pf.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("pidfile left: %v", err)
	}
}
