package supervise

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func spec(name, behaviour string, restartOnSuccess bool) ProcSpec {
	return ProcSpec{
		Name:             name,
		Args:             []string{"supervise_test: " + name},
		Env:              append(os.Environ(), envChild+"="+behaviour, "GORACE=atexit_sleep_ms=0"),
		RestartOnSuccess: restartOnSuccess,
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] != 'Z'
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProcsRestartKilledWorker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := StartProcs(ctx, []ProcSpec{spec("w0", "sleep", true), spec("w1", "sleep", true)},
		Config{Backoff: fast, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 pids", func() bool { return len(p.PIDs()) == 2 })
	victim := p.PIDs()[0]
	cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(victim) + "/cmdline")
	if !strings.HasPrefix(string(cmdline), "supervise_test: w") {
		t.Errorf("argv[0] = %q", cmdline)
	}
	syscall.Kill(victim, syscall.SIGKILL)
	waitFor(t, "replacement", func() bool {
		pids := p.PIDs()
		return len(pids) == 2 && pids[0] != victim && pids[1] != victim && p.Restarts() == 1
	})
	pids := p.PIDs()
	cancel()
	p.Wait()
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d still alive after stop", pid)
		}
	}
}

func TestProcsFinishedAndCrashLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	sw := &syncWriter{b: &logs}
	log := slog.New(slog.NewTextHandler(sw, nil))
	p, err := StartProcs(ctx, []ProcSpec{spec("done", "done", false), spec("crash", "fail", true)},
		Config{Backoff: fast, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	// (a -race child's os.Exit(0) takes a second: the race runtime's exit sleep)
	waitFor(t, "crash loop report and finish", func() bool {
		return p.Restarts() >= CrashLoopAfter+1 && strings.Contains(sw.String(), "worker process finished")
	})
	cancel()
	p.Wait()
	out := logs.String()
	for _, w := range []string{"worker process finished", "child=done", "crash loop", "child=crash", "exit status 3"} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %q:\n%s", w, out)
		}
	}
}

func TestProcsKillAfterDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := StartProcs(ctx, []ProcSpec{spec("stuck", "ignoreterm", true)},
		Config{Backoff: fast, KillAfter: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pid", func() bool { return len(p.PIDs()) == 1 })
	time.Sleep(100 * time.Millisecond) // let it install signal.Ignore
	pid := p.PIDs()[0]
	cancel()
	p.Wait()
	if alive(pid) {
		t.Errorf("stuck pid %d survived", pid)
	}
}

func TestProcsStartError(t *testing.T) {
	s := spec("bad", "sleep", true)
	s.Path = "/nonexistent/binary"
	_, err := StartProcs(context.Background(), []ProcSpec{spec("ok", "sleep", true), s}, Config{})
	if err == nil || !strings.Contains(err.Error(), "start bad") {
		t.Fatalf("err = %v", err)
	}
}
