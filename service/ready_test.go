package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/daemon"
)

// confProcs lists the live processes whose command line names conf: a fake service's
// master and workers.
func confProcs(conf string) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !daemon.Alive(pid) {
			continue
		}
		if strings.Contains(cmdline(pid), " -f "+conf) {
			out = append(out, pid)
		}
	}
	return out
}

func touch(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStartFailsWhenWorkerProcessFails: a worker process that fails its start-up (Register
// returns an error, or it crashes before it is ready) fails `-d`: the parent prints the
// worker's error and exits 1, and neither a pidfile nor a process is left. Without the
// failure the same installation starts.
func TestStartFailsWhenWorkerProcessFails(t *testing.T) {
	for _, tc := range []struct {
		name, rpcType, self, file string
		want                      []string
	}{
		{"rpc register error", "process", "[self_server]\ndispatch_type=simple\nworker_type=process\nworker_sum=1\n", failRegisterFile,
			[]string{"echo_svr: start failed: echo: rpc worker ", " failed to start: register rpc APIs: " + errRegister.Error()}},
		{"self init crash", "thread", "[self_server]\ndispatch_type=simple\nworker_type=process\nworker_sum=2\n", panicInitFile,
			[]string{"echo_svr: start failed: echo: self simple worker ", " failed to start: exited before it was ready (exit status 2)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSvr(t, tc.rpcType, 2, tc.self)
			touch(t, f.dir, tc.file)
			out, errOut, code := f.run("-f", f.conf, "-d")
			if code != ExitFailure || strings.Contains(out, "started") {
				t.Errorf("start: exit %d, stdout %q; want exit %d and no \"started\"", code, out, ExitFailure)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q\nlog:\n%s", errOut, w, f.log())
				}
			}
			if _, err := os.Stat(f.pidfile); !os.IsNotExist(err) {
				t.Errorf("pidfile left by the failed start: %v", err)
			}
			for _, p := range confProcs(f.conf) {
				t.Errorf("process %d (%s) left by the failed start", p, cmdline(p))
				syscall.Kill(p, syscall.SIGKILL)
			}
			// Fixed: the same installation starts and serves.
			os.Remove(filepath.Join(f.dir, tc.file))
			f.start()
			var s string
			if err := call(t, f.addr, "echo", &s, "fixed"); err != nil || s != "fixed" {
				t.Errorf("echo after a good start: %q %v", s, err)
			}
		})
	}
}

// TestGracefulRestartKeepsServingWhenNewWorkersFail: when the new master's rpc workers fail
// to register, the old master keeps the pidfile, its workers and the socket.
func TestGracefulRestartKeepsServingWhenNewWorkersFail(t *testing.T) {
	f := newFakeSvr(t, "process", 2, "")
	pid := f.start()
	kids := daemon.Children(pid)
	touch(t, f.dir, failRegisterFile)
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the failed hand-off to be logged", func() bool {
		return strings.Contains(f.log(), "graceful restart failed; this master keeps serving")
	})
	if !strings.Contains(f.log(), "failed to start: register rpc APIs: "+errRegister.Error()) {
		t.Errorf("log lacks the new worker's error:\n%s", f.log())
	}
	if p, locked, err := daemon.ReadPidFile(f.pidfile); p != pid || !locked || err != nil {
		t.Errorf("pidfile: pid %d locked %v err %v; want the old master %d", p, locked, err, pid)
	}
	want := append([]int{pid}, kids...)
	waitFor(t, "only the old master and its workers", func() bool {
		got := confProcs(f.conf)
		if len(got) != len(want) {
			return false
		}
		for _, p := range want {
			if !contains(got, p) {
				return false
			}
		}
		return true
	})
	var s string
	if err := call(t, f.addr, "echo", &s, "still here"); err != nil || s != "still here" {
		t.Errorf("echo after the failed hand-off: %q %v", s, err)
	}
	// -s restart reports the failure and its reason as soon as the old master knows it,
	// not after its own deadline (35s + stop_timeout).
	start := time.Now()
	_, errOut, code := f.run("-f", f.conf, "-s", "restart")
	if code == 0 || !strings.Contains(errOut, fmt.Sprintf("graceful restart failed, pid %d still serves", pid)) ||
		!strings.Contains(errOut, errRegister.Error()) {
		t.Errorf("-s restart with failing new workers: exit %d, stderr %q", code, errOut)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("-s restart took %v to report the failure", d)
	}
	if p, locked, err := daemon.ReadPidFile(f.pidfile); p != pid || !locked || err != nil {
		t.Errorf("pidfile after -s restart: pid %d locked %v err %v; want the old master %d", p, locked, err, pid)
	}
	os.Remove(filepath.Join(f.dir, failRegisterFile))
}
