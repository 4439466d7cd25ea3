package service

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/daemon"
	"github.com/svrkit/svrkit/transport"
)

// fakeSvr is one generated-service installation in a temp dir.
type fakeSvr struct {
	t       testing.TB
	dir     string
	conf    string
	pidfile string
	addr    string
	exe     string // the binary to run; "" = this test binary
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// newFakeSvr writes echo_svr.conf with the given [rpc_server] worker type and sum and the
// given [self_server]... sections (may be "").
func newFakeSvr(t testing.TB, rpcType string, rpcSum int, self string) *fakeSvr {
	dir := t.TempDir()
	port := freePort(t)
	f := &fakeSvr{t: t, dir: dir, conf: filepath.Join(dir, "echo_svr.conf"), pidfile: filepath.Join(dir, "echo.pid"),
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	text := fmt.Sprintf("[app]\nname=echo\npid=%s\nlog=%s\nstop_timeout=3s\n\n[rpc_server]\nip=127.0.0.1\nport=%d\nworker_type=%s\nworker_sum=%d\n\n%s",
		f.pidfile, filepath.Join(dir, "echo.log"), port, rpcType, rpcSum, self)
	if err := os.WriteFile(f.conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs the fake echo_svr with args; it returns stdout, stderr and the exit code.
func (f *fakeSvr) run(args ...string) (string, string, int) {
	f.t.Helper()
	exe, err := os.Executable() // not os.Args[0]: it may be relative under bazel test
	if err != nil {
		f.t.Fatal(err)
	}
	if f.exe != "" {
		exe = f.exe
	}
	cmd := exec.Command(exe, args...)
	// GORACE: a -race child otherwise sleeps 1s in os.Exit, which slows every stop.
	cmd.Env = append(os.Environ(), envFake+"=1", envDir+"="+f.dir, "GORACE=atexit_sleep_ms=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		f.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

var startedRE = regexp.MustCompile(`echo started \(pid (\d+), pidfile (.*)\)`)

// start starts the daemon with -d and checks that the printed pid matches the pidfile. The
// daemon is stopped at the end of the test, and the test fails if any process is left.
func (f *fakeSvr) start() int {
	f.t.Helper()
	out, errOut, code := f.run("-f", f.conf, "-d")
	m := startedRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		f.t.Fatalf("start: exit %d, stdout %q, stderr %q\nlog:\n%s", code, out, errOut, f.log())
	}
	pid, _ := strconv.Atoi(m[1])
	filePid, locked, err := daemon.ReadPidFile(f.pidfile)
	if err != nil || !locked || filePid != pid || m[2] != f.pidfile {
		f.t.Fatalf("pidfile %s: pid %d locked %v err %v; printed pid %d", f.pidfile, filePid, locked, err, pid)
	}
	f.t.Cleanup(func() { f.stopAndCheck(pid) })
	return pid
}

// stopAndCheck stops the daemon (if still running) and fails if any process of its tree survived.
func (f *fakeSvr) stopAndCheck(pid int) {
	tree := append(daemon.Descendants(pid), pid)
	if daemon.Alive(pid) {
		if out, errOut, code := f.run("-f", f.conf, "-s", "stop"); code != 0 {
			f.t.Errorf("stop: exit %d %q %q", code, out, errOut)
		}
	}
	for _, p := range tree {
		if daemon.Alive(p) {
			f.t.Errorf("process %d (%s) left after stop", p, cmdline(p))
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	if _, err := os.Stat(f.pidfile); !os.IsNotExist(err) {
		f.t.Errorf("pidfile left after stop: %v", err)
	}
}

func (f *fakeSvr) log() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, "echo.log"))
	return string(b)
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
}

func childTitles(pid int) []string {
	var out []string
	for _, c := range daemon.Children(pid) {
		line := cmdline(c)
		if i := strings.Index(line, " -f "); i >= 0 {
			line = line[:i]
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

func call(t *testing.T, addr, method string, reply any, args ...any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, addr, transport.ClientOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(ctx, method, reply, args...)
}

func TestThreadModelWithCustomProcessCoroutineSelf(t *testing.T) {
	f := newFakeSvr(t, "thread", 4, `[self_server]
dispatch_type=custom
worker_type=process_coroutine
group_sum=2
[self_group0]
group_name=event
worker_sum=2
coroutine_sum=3
[self_group1]
group_name=value_log
worker_sum=2
coroutine_sum=3
`)
	pid := f.start()
	if got := cmdline(pid); !strings.HasPrefix(got, "echo_svr: master -f ") {
		t.Errorf("master argv = %q", got)
	}
	want := []string{"echo_svr: self event worker 0", "echo_svr: self event worker 1",
		"echo_svr: self value_log worker 0", "echo_svr: self value_log worker 1"}
	if got := childTitles(pid); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("children = %q, want %q", got, want)
	}
	waitFor(t, "12 self coroutines", func() bool { return countMarkers(f.dir) == 12 })
	var got string
	if err := call(t, f.addr, "echo", &got, "testtest"); err != nil || got != "testtest" {
		t.Errorf("echo = %q %v", got, err)
	}
	out, _, code := f.run("-f", f.conf, "-s", "status")
	if code != 0 || !strings.Contains(out, fmt.Sprintf("echo running (pid %d, 4 worker processes", pid)) {
		t.Errorf("status: %d %q", code, out)
	}
}

func TestProcessModelTree(t *testing.T) {
	f := newFakeSvr(t, "process", 3, "[self_server]\ndispatch_type=simple\nworker_type=thread\nworker_sum=2\n")
	pid := f.start()
	want := []string{"echo_svr: rpc worker 0", "echo_svr: rpc worker 1", "echo_svr: rpc worker 2"}
	if got := childTitles(pid); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("children = %q, want %q", got, want)
	}
	waitFor(t, "2 simple self goroutines in the master", func() bool { return countMarkers(f.dir) == 2 })
	var servedBy int
	if err := call(t, f.addr, "pid", &servedBy); err != nil {
		t.Fatal(err)
	}
	if servedBy == pid || !contains(daemon.Children(pid), servedBy) {
		t.Errorf("served by pid %d; want one of the rpc workers %v (master %d does not serve)", servedBy, daemon.Children(pid), pid)
	}
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

func TestKilledRPCWorkerIsReplacedUnderLoad(t *testing.T) {
	f := newFakeSvr(t, "process", 2, "")
	pid := f.start()
	workersBefore := daemon.Children(pid)
	if len(workersBefore) != 2 {
		t.Fatalf("rpc workers: %v", workersBefore)
	}

	// Load: a client that keeps calling, reconnecting when its connection breaks.
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var c *transport.Client
		defer func() {
			if c != nil {
				c.Close()
			}
		}()
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if c == nil {
				var err error
				if c, err = transport.Dial(ctx, f.addr, transport.ClientOptions{}); err != nil {
					failed.Add(1)
					cancel()
					time.Sleep(5 * time.Millisecond)
					continue
				}
			}
			var s string
			if err := c.Call(ctx, "echo", &s, "x"); err != nil || s != "x" {
				failed.Add(1)
				c.Close()
				c = nil
			} else {
				ok.Add(1)
			}
			cancel()
		}
	}()
	waitFor(t, "load running", func() bool { return ok.Load() > 20 })

	// Kill the worker that serves the load client's connection... whichever it is: kill one.
	victim := workersBefore[0]
	victimTitle := strings.SplitN(cmdline(victim), " -f ", 2)[0] // e.g. "echo_svr: rpc worker 1"
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var replacement int
	waitFor(t, "replacement worker", func() bool {
		kids := daemon.Children(pid)
		if len(kids) != 2 || contains(kids, victim) {
			return false
		}
		for _, k := range kids {
			if k != workersBefore[1] {
				replacement = k
			}
		}
		return strings.HasPrefix(cmdline(replacement), victimTitle+" -f ")
	})
	okAtReplace := ok.Load()
	waitFor(t, "answers after the kill", func() bool { return ok.Load() > okAtReplace+50 })
	close(stop)
	wg.Wait()
	if failed.Load() > 5 {
		t.Errorf("%d failed calls around the kill (ok %d)", failed.Load(), ok.Load())
	}
	// New connections reach the replacement too.
	seen := false
	for i := 0; i < 200 && !seen; i++ {
		var servedBy int
		if err := call(t, f.addr, "pid", &servedBy); err != nil {
			t.Fatal(err)
		}
		seen = servedBy == replacement
	}
	if !seen {
		t.Errorf("replacement worker %d never answered", replacement)
	}
	if !strings.Contains(f.log(), "worker process died; restarting") ||
		!strings.Contains(f.log(), `child="`+strings.TrimPrefix(victimTitle, "echo_svr: ")+`"`) {
		t.Errorf("restart not logged:\n%s", f.log())
	}
}

func TestStopDrainsInFlightCall(t *testing.T) {
	for _, model := range []string{"process", "thread"} {
		t.Run(model, func(t *testing.T) {
			f := newFakeSvr(t, model, 2, "")
			pid := f.start()
			tree := daemon.Descendants(pid)
			done := make(chan error, 1)
			go func() {
				var s string
				err := call(t, f.addr, "slow", &s, 700)
				if err == nil && s != "slow done" {
					err = fmt.Errorf("reply %q", s)
				}
				done <- err
			}()
			waitFor(t, "slow call in flight", func() bool {
				_, err := os.Stat(filepath.Join(f.dir, "slow-started"))
				return err == nil
			})
			out, errOut, code := f.run("-f", f.conf, "-s", "stop")
			if code != 0 || !strings.Contains(out, fmt.Sprintf("echo stopped (pid %d)", pid)) {
				t.Errorf("stop: %d %q %q", code, out, errOut)
			}
			if err := <-done; err != nil {
				t.Errorf("in-flight call: %v", err)
			}
			for _, p := range append(tree, pid) {
				if daemon.Alive(p) {
					t.Errorf("pid %d alive after stop", p)
				}
			}
			out, _, code = f.run("-f", f.conf, "-s", "status")
			if code != ExitNotRunning || !strings.Contains(out, "not running") {
				t.Errorf("status after stop: %d %q", code, out)
			}
		})
	}
}

func TestDoubleStartAndStalePidfile(t *testing.T) {
	f := newFakeSvr(t, "thread", 1, "")
	// A pidfile left by a process that died: a real, dead pid.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f.pidfile, []byte(strconv.Itoa(dead.Process.Pid)+"\n"), 0o644)
	out, _, code := f.run("-f", f.conf, "-s", "status")
	if code != ExitNotRunning || !strings.Contains(out, "stale pidfile") {
		t.Errorf("status with stale pidfile: %d %q", code, out)
	}
	pid := f.start() // the stale pidfile does not block

	_, errOut, code := f.run("-f", f.conf, "-d")
	want := fmt.Sprintf("echo already running (pid %d, pidfile %s)", pid, f.pidfile)
	if code != ExitFailure || !strings.Contains(errOut, want) {
		t.Errorf("second start: exit %d, stderr %q; want %q", code, errOut, want)
	}
	_, errOut, code = f.run("-f", f.conf) // foreground too
	if code != ExitFailure || !strings.Contains(errOut, want) {
		t.Errorf("second foreground start: exit %d, stderr %q", code, errOut)
	}
	if !daemon.Alive(pid) {
		t.Error("first instance died")
	}
	// restart replaces it.
	out, errOut, code = f.run("-f", f.conf, "-s", "restart")
	m := startedRE.FindStringSubmatch(out)
	if code != 0 || m == nil || m[1] == strconv.Itoa(pid) {
		t.Fatalf("restart: %d %q %q", code, out, errOut)
	}
	newPid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() { f.stopAndCheck(newPid) })
}

func TestBadConfigAndUsage(t *testing.T) {
	f := newFakeSvr(t, "fork", 2, "")
	for _, args := range [][]string{{"-f", f.conf}, {"-f", f.conf, "-d"}, {"-f", f.conf, "-s", "status"}} {
		_, errOut, code := f.run(args...)
		if code != ExitFailure || !strings.Contains(errOut, "[rpc_server] worker_type") || !strings.Contains(errOut, `"fork"`) ||
			!strings.Contains(errOut, f.conf) {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	if _, errOut, code := f.run(); code != ExitUsage || !strings.Contains(errOut, "usage") {
		t.Errorf("no -f: %d %q", code, errOut)
	}
	if _, errOut, code := f.run("-f", f.conf, "-s", "reload"); code != ExitUsage || !strings.Contains(errOut, "start | stop") {
		t.Errorf("bad -s: %d %q", code, errOut)
	}
	// A port that is taken: the detaching parent reports the daemon's error.
	g := newFakeSvr(t, "thread", 1, "")
	ln, err := net.Listen("tcp", g.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, errOut, code := g.run("-f", g.conf, "-d")
	if code != ExitFailure || !strings.Contains(errOut, "start failed") || !strings.Contains(errOut, "address already in use") {
		t.Errorf("busy port: %d %q", code, errOut)
	}
	if _, err := os.Stat(g.pidfile); !os.IsNotExist(err) {
		t.Errorf("pidfile left by failed start: %v", err)
	}
}

func TestWorkersDieWithKilledMaster(t *testing.T) {
	f := newFakeSvr(t, "process", 2, "[self_server]\ndispatch_type=simple\nworker_type=process\nworker_sum=1\n")
	pid := f.start()
	kids := daemon.Children(pid)
	if len(kids) != 3 {
		t.Fatalf("children: %v", childTitles(pid))
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "workers to follow the master (Pdeathsig)", func() bool {
		for _, k := range kids {
			if daemon.Alive(k) {
				return false
			}
		}
		return !daemon.Alive(pid)
	})
	// The pidfile of the killed master is stale: status says so, and start works.
	out, _, code := f.run("-f", f.conf, "-s", "status")
	if code != ExitNotRunning || !strings.Contains(out, "stale pidfile") {
		t.Errorf("status: %d %q", code, out)
	}
	newPid := f.start()
	if len(daemon.Children(newPid)) != 3 {
		t.Errorf("restarted tree: %v", childTitles(newPid))
	}
}
