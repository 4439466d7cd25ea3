package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/daemon"
)

// svr is one installation of the service under test in a temp dir.
type svr struct {
	t       testing.TB
	dir     string
	conf    string
	pidfile string
	port    int
	addr    string
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

// newSvr writes faults_svr.conf: rpc worker type and sum, then extra (e.g. [self_server]).
func newSvr(t testing.TB, rpcType string, rpcSum int, extra string) *svr {
	t.Helper()
	dir := t.TempDir()
	s := &svr{t: t, dir: dir, conf: filepath.Join(dir, "faults_svr.conf"), pidfile: filepath.Join(dir, "faults.pid"), port: freePort(t)}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.writeConf(fmt.Sprintf("[app]\nname=faults\npid=%s\nlog=%s\nstop_timeout=3s\n\n[rpc_server]\nip=127.0.0.1\nport=%d\nworker_type=%s\nworker_sum=%d\n\n%s",
		s.pidfile, filepath.Join(dir, "faults.log"), s.port, rpcType, rpcSum, extra))
	return s
}

func (s *svr) writeConf(text string) {
	if err := os.WriteFile(s.conf, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

// run runs the service binary with args and returns stdout, stderr and the exit code.
func (s *svr) run(args ...string) (string, string, int) {
	s.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envSvr+"=1", envDir+"="+s.dir, "GORACE=atexit_sleep_ms=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		s.t.Fatalf("%v: no exit after 60s", args)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

var startedRE = regexp.MustCompile(`faults started \(pid (\d+), pidfile`)

// start starts the daemon (-d) and stops it (checking nothing is left) when the test ends.
func (s *svr) start() int {
	s.t.Helper()
	out, errOut, code := s.run("-f", s.conf, "-d")
	m := startedRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		s.t.Fatalf("start: exit %d, stdout %q, stderr %q\nlog:\n%s", code, out, errOut, s.log())
	}
	pid, _ := strconv.Atoi(m[1])
	s.t.Cleanup(func() { s.stopAndCheck() })
	return pid
}

// pid is the master's pid from the pidfile (0 when not running).
func (s *svr) pid() int {
	pid, locked, err := daemon.ReadPidFile(s.pidfile)
	if err != nil || !locked {
		return 0
	}
	return pid
}

// stopAndCheck stops the service if it runs and fails the test if a process of it is left.
func (s *svr) stopAndCheck() {
	if pid := s.pid(); pid != 0 {
		if out, errOut, code := s.run("-f", s.conf, "-s", "stop"); code != 0 {
			s.t.Errorf("stop: exit %d %q %q", code, out, errOut)
		}
	}
	s.checkNothingLeft()
}

// checkNothingLeft fails when a process started for this installation still runs or the
// pidfile is left behind.
func (s *svr) checkNothingLeft() {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := s.processes()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range left {
				s.t.Errorf("process %d (%s) left running", p, cmdline(p))
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(s.pidfile); !os.IsNotExist(err) {
		s.t.Errorf("pidfile %s left behind: %v", s.pidfile, err)
	}
}

// processes lists live processes whose environment names this installation's dir.
func (s *svr) processes() []int {
	mark := []byte(envDir + "=" + s.dir + "\x00")
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err == nil && bytes.Contains(env, mark) && daemon.Alive(p) {
			out = append(out, p)
		}
	}
	return out
}

func (s *svr) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "faults.log"))
	return string(b)
}

// lines returns every line of the files dir/<kind>.* (what the service stored).
func (s *svr) lines(kind string) map[string]int {
	out := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(s.dir, kind+".*"))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			out[sc.Text()]++
		}
		fh.Close()
	}
	return out
}

func cmdline(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
}

// rssKiB is the resident set size of pid in KiB (VmRSS from /proc), 0 if unknown.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				return n
			}
		}
	}
	return 0
}

func waitFor(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
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
