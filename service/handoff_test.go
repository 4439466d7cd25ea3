package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/daemon"
	"github.com/svrkit/svrkit/transport"
)

// TestGracefulRestartUnderLoad restarts with -s restart while clients dial a new
// connection per call: the listening socket is handed over, so no dial is refused and no
// call fails.
func TestGracefulRestartUnderLoad(t *testing.T) {
	for _, model := range []string{"process", "thread"} {
		t.Run(model, func(t *testing.T) {
			f := newFakeSvr(t, model, 2, "")
			pid := f.start()
			oldTree := append(daemon.Descendants(pid), pid)
			var ok, failed, notSent atomic.Int64
			var firstErr atomic.Value
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 100000; i++ {
						select {
						case <-stop:
							return
						default:
						}
						ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
						c, err := transport.Dial(ctx, f.addr, transport.ClientOptions{})
						if err == nil {
							var s string
							err = c.Call(ctx, "echo", &s, "x")
							c.Close()
						}
						cancel()
						if errors.Is(err, transport.ErrNotSent) {
							// A connection accepted as the old server began
							// draining: told to go away before the call left,
							// which a client retries elsewhere (the router does).
							notSent.Add(1)
						} else if err != nil {
							failed.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
						} else {
							ok.Add(1)
						}
					}
				}()
			}
			waitFor(t, "load running", func() bool { return ok.Load() > 50 })
			out, errOut, code := f.run("-f", f.conf, "-s", "restart")
			m := startedRE.FindStringSubmatch(out)
			if code != 0 || m == nil || !strings.Contains(out, "restarted gracefully") {
				close(stop)
				wg.Wait()
				t.Fatalf("restart: %d %q %q\nlog:\n%s", code, out, errOut, f.log())
			}
			newPid, _ := strconv.Atoi(m[1])
			t.Cleanup(func() { f.stopAndCheck(newPid) })
			atRestart := ok.Load()
			waitFor(t, "calls after the restart", func() bool { return ok.Load() > atRestart+50 })
			close(stop)
			wg.Wait()
			if failed.Load() != 0 {
				t.Errorf("%d of %d calls failed across the graceful restart; first: %v", failed.Load(), ok.Load()+failed.Load(), firstErr.Load())
			}
			for _, p := range oldTree {
				if daemon.Alive(p) {
					t.Errorf("old process %d (%s) still alive", p, cmdline(p))
				}
			}
			if p, locked, _ := daemon.ReadPidFile(f.pidfile); p != newPid || !locked || newPid == pid {
				t.Errorf("pidfile: pid %d locked %v; want new master %d (old %d)", p, locked, newPid, pid)
			}
			if model == "process" && len(daemon.Children(newPid)) != 2 {
				t.Errorf("new master's workers: %v", childTitles(newPid))
			}
			var servedBy int
			if err := call(t, f.addr, "pid", &servedBy); err != nil || servedBy == pid {
				t.Errorf("after restart served by %d (old master %d): %v", servedBy, pid, err)
			}
			t.Logf("%s model: %d calls ok, %d failed, %d not sent (to retry) across the restart", model, ok.Load(), failed.Load(), notSent.Load())
		})
	}
}

// copyFile copies src to dst (mode 0755) through a temp file renamed into place, as an
// upgrade installs a new binary.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// TestGracefulRestartRunsInstalledBinary: after an upgrade replaced the binary file (by
// rename), a graceful restart runs the new file, not the deleted one the old master runs.
func TestGracefulRestartRunsInstalledBinary(t *testing.T) {
	f := newFakeSvr(t, "thread", 1, "")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f.exe = filepath.Join(f.dir, "echo_svr")
	copyFile(t, self, f.exe)
	pid := f.start()
	copyFile(t, self, f.exe) // the "upgrade": a new inode at the same path
	if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); !strings.HasSuffix(link, " (deleted)") {
		t.Fatalf("old master's exe = %q; want a deleted file", link)
	}
	out, errOut, code := f.run("-f", f.conf, "-s", "restart")
	m := startedRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("restart: %d %q %q\nlog:\n%s", code, out, errOut, f.log())
	}
	newPid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() { f.stopAndCheck(newPid) })
	if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", newPid)); link != f.exe {
		t.Errorf("new master runs %q, want %q", link, f.exe)
	}
	var s string
	if err := call(t, f.addr, "echo", &s, "upgraded"); err != nil || s != "upgraded" {
		t.Errorf("echo after upgrade: %q %v", s, err)
	}
}
