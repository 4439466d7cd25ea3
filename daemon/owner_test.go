package daemon

import (
	"context"
	"errors"
	"fmt"
	"github.com/svrkit/svrkit/internal/detach"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// victim starts an unrelated `sleep` that holds a flock on a pidfile planted at path with
// the given contents (%d is replaced by the victim's pid); it returns the victim's pid.
func victim(t *testing.T, path, contents string) int {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	cmd.ExtraFiles = []*os.File{f} // the lock belongs to the open file: sleep holds it too
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if strings.Contains(contents, "%d") {
		contents = fmt.Sprintf(contents, cmd.Process.Pid)
	}
	if _, err := f.WriteString(contents); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestPlantedPidfileIsRefused: a locked pidfile naming an unrelated live process is never
// taken for the master: status errors, stop signals nothing, a start says why it can't.
func TestPlantedPidfileIsRefused(t *testing.T) {
	sleepRec := func(pid int) record {
		r, err := procRecord(pid)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name   string
		plant  func(path string) int
		reason string
	}{
		{"pid only", func(path string) int { return victim(t, path, "%d\n") }, "without its start time"},
		{"wrong start time", func(path string) int {
			pid := victim(t, path, "")
			r := sleepRec(pid)
			r.start++
			os.WriteFile(path, []byte(r.String()), 0o644)
			return pid
		}, "(pid reused)"},
		{"wrong executable", func(path string) int {
			pid := victim(t, path, "")
			r := sleepRec(pid)
			r.exe.ino++
			os.WriteFile(path, []byte(r.String()), 0o644)
			return pid
		}, "runs executable"},
		{"someone else's file", func(path string) int {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			pid := victim(t, path, "")
			os.WriteFile(path, []byte(sleepRec(pid).String()), 0o644) // a perfect record...
			if err := os.Chown(path, 65534, 65534); err != nil {      // ...planted by nobody
				t.Fatal(err)
			}
			return pid
		}, "owned by uid 65534"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "echo.pid")
			pid := c.plant(path)
			st, err := Status(path)
			if !errors.Is(err, ErrNotOurs) || st.Running || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.reason) {
				t.Errorf("status: %+v, %v; want ErrNotOurs naming %s and %q", st, err, path, c.reason)
			}
			err = Stop(context.Background(), path, time.Second)
			if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), "sent no signal") {
				t.Errorf("stop: %v", err)
			}
			if !Alive(pid) {
				t.Fatal("stop killed the victim")
			}
			_, err = AcquirePidFile(path, "echo")
			if !errors.Is(err, ErrNotOurs) || !strings.Contains(err.Error(), "echo: cannot start: pidfile "+path) {
				t.Errorf("acquire: %v", err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("planted pidfile touched: %v", err)
			}
		})
	}
}

// TestPidFileSymlinkRefused: a symbolic link at the pidfile path is never followed.
func TestPidFileSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	path, target := filepath.Join(dir, "echo.pid"), filepath.Join(dir, "created-by-root")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if _, err := AcquirePidFile(path, "echo"); err == nil || !strings.Contains(err.Error(), path+" is a symbolic link") {
		t.Errorf("acquire: %v", err)
	}
	if _, err := Status(path); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("status: %v", err)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("link target created: %v", err)
	}
}

// TestDetachLogSymlinkRefused: a symbolic link at the log path is neither followed nor appended to.
func TestDetachLogSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	target, log := filepath.Join(dir, "passwd"), filepath.Join(dir, "out.log")
	os.WriteFile(target, []byte("root:x:0:0\n"), 0o644)
	if err := os.Symlink(target, log); err != nil {
		t.Fatal(err)
	}
	_, err := detach.Detach(detach.Options{Args: []string{"daemon_test"}, Env: append(os.Environ(), envChild+"=die"), LogFile: log})
	if err == nil || !strings.Contains(err.Error(), log+" is a symbolic link") {
		t.Errorf("detach: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "root:x:0:0\n" {
		t.Errorf("target now %q", b)
	}
}

// TestStaleMessages: a pidfile nobody locks, naming a live process, is not called dead.
func TestStaleMessages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pid")
	os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	st, err := Status(path)
	want := "not running (stale pidfile " + path + ": pid " + strconv.Itoa(os.Getpid()) + " is alive but does not hold its lock)"
	if err != nil || st.String() != want {
		t.Errorf("status: %q %v, want %q", st, err, want)
	}
	err = Stop(context.Background(), path, time.Second)
	if !errors.Is(err, ErrNotRunning) || strings.Contains(err.Error(), "dead") {
		t.Errorf("stop: %v", err)
	}
}

// TestAcquireWhileCompetitorWrites: a pidfile a competing start has created and locked
// but not yet written is not reported as "already running (pid 0)".
func TestAcquireWhileCompetitorWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "echo.pid")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	_, err = AcquirePidFile(path, "echo")
	if !errors.Is(err, ErrRunning) || strings.Contains(err.Error(), "pid 0") || !strings.Contains(err.Error(), "not written its pid") {
		t.Errorf("acquire: %v", err)
	}
}
