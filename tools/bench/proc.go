package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// envServe switches this binary into a server child: its value names the contender.
const envServe = "SVRKIT_BENCH_SERVE"

// server is a running server under test.
type server struct {
	addr string
	pid  int          // the child's pid; 0 when the server runs in this process
	stop func() error // stops it and releases its resources
	note string       // how it was started
}

// placement says where child servers run.
type placement struct {
	taskset    string // path of taskset, "" when not pinning
	serverCPUs string // taskset -c list for servers, e.g. "1"
}

// spawn starts this binary as a server child for kind with args. When
// readAddr is set the child prints its listening address as its first stdout
// line; otherwise the caller knows it and waits until it accepts.
func spawn(ctx context.Context, pl placement, kind string, args []string, readAddr bool, knownAddr string, ready func() bool) (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	name, argv := self, args
	if pl.taskset != "" {
		name, argv = pl.taskset, append([]string{"-c", pl.serverCPUs, self}, args...)
	}
	cmd := exec.Command(name, argv...)
	cmd.Env = append(os.Environ(), envServe+"="+kind)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out io.ReadCloser
	if readAddr {
		if out, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s server child: %w", kind, err)
	}
	addrc := make(chan string, 1)
	if readAddr {
		go func() {
			line, _ := bufio.NewReader(out).ReadString('\n')
			addrc <- strings.TrimSpace(line)
			io.Copy(io.Discard, out)
		}()
	}
	done := make(chan error, 1) // the child's exit; closed after it
	go func() { done <- cmd.Wait(); close(done) }()
	s := &server{pid: cmd.Process.Pid, note: "child pid " + strconv.Itoa(cmd.Process.Pid)}
	s.stop = func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("%s server child %d did not stop on SIGTERM within 15s; killed", kind, s.pid)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if readAddr {
		select {
		case s.addr = <-addrc:
		case err := <-done:
			return nil, fmt.Errorf("%s server child exited before listening: %v", kind, err)
		case <-ctx.Done():
			s.stop()
			return nil, fmt.Errorf("%s server child: no address within 20s", kind)
		}
		if s.addr == "" {
			s.stop()
			return nil, fmt.Errorf("%s server child printed no address", kind)
		}
	} else {
		s.addr = knownAddr
	}
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			if ready == nil || ready() {
				return s, nil
			}
			err = errors.New("accepting, but not ready yet")
		}
		select {
		case err := <-done:
			return nil, fmt.Errorf("%s server child exited before accepting: %v", kind, err)
		case <-ctx.Done():
			s.stop()
			return nil, fmt.Errorf("%s server child: %s not accepting within 20s: %w", kind, s.addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tree is pid and all its descendants (read from /proc).
func tree(pid int) []int {
	parent := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp, ok := statField(p, 4); ok {
			parent[int(pp)] = append(parent[int(pp)], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// statField reads field n (1-based, as in proc(5)) of /proc/pid/stat as a number.
func statField(pid, n int) (int64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	if n-3 >= len(f) || n < 3 {
		return 0, false
	}
	v, err := strconv.ParseInt(f[n-3], 10, 64)
	return v, err == nil
}

// treeCPU is the user+system CPU time used so far by pid and its descendants
// (clock ticks of 10 ms; USER_HZ is 100 on Linux).
func treeCPU(pid int) time.Duration {
	var ticks int64
	for _, p := range tree(pid) {
		u, ok1 := statField(p, 14)
		s, ok2 := statField(p, 15)
		if ok1 && ok2 {
			ticks += u + s
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// treeRSS sums VmRSS of pid and its descendants, in bytes.
func treeRSS(pid int) int64 {
	var total int64
	for _, p := range tree(pid) {
		total += vmRSS(p)
	}
	return total
}

func vmRSS(pid int) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// selfCPU is this process's user+system CPU time (getrusage RUSAGE_SELF).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// raiseNoFile lifts the soft RLIMIT_NOFILE to the hard limit (children inherit
// it) and returns the new soft limit.
func raiseNoFile() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	rl.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("setrlimit NOFILE %d: %w", rl.Max, err)
	}
	return rl.Cur, nil
}

// pinSelf pins every thread of this process to cpus with taskset and sets
// GOMAXPROCS to match. Threads created later inherit the mask.
func pinSelf(taskset, cpus string, n int) error {
	out, err := exec.Command(taskset, "-a", "-c", "-p", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -c -p %s: %v: %s", cpus, err, out)
	}
	runtime.GOMAXPROCS(n)
	return nil
}

var errUnsupported = errors.New("not supported")

// treeSyscalls sums the read- and write-family syscall counters (syscr +
// syscw of /proc/<pid>/io) of pid and its descendants; pid 0 means this process.
func treeSyscalls(pid int) int64 {
	if pid == 0 {
		return ioSyscalls("self")
	}
	var n int64
	for _, p := range tree(pid) {
		n += ioSyscalls(strconv.Itoa(p))
	}
	return n
}

func ioSyscalls(pid string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "io"))
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		for _, k := range []string{"syscr:", "syscw:"} {
			if v, ok := strings.CutPrefix(line, k); ok {
				x, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += x
			}
		}
	}
	return n
}
