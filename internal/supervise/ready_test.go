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

func readySpec(name, behaviour string) ProcSpec {
	s := spec(name, behaviour, true)
	s.Ready = true
	return s
}

func TestWaitReadyOK(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs strings.Builder
	sw := &syncWriter{b: &logs}
	p, err := StartProcs(ctx, []ProcSpec{readySpec("r0", "ready"), readySpec("r1", "ready"), spec("plain", "sleep", true)},
		Config{Backoff: fast, Log: slog.New(slog.NewTextHandler(sw, nil))})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := p.WaitReady(wctx); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	// A restart gets no pipe (the "ready" child exits 5 without one): supervision goes on.
	waitFor(t, "3 pids", func() bool { return len(p.PIDs()) == 3 })
	for _, pid := range p.PIDs() {
		if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); strings.HasPrefix(string(b), "supervise_test: r0") {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	waitFor(t, "r0 restarted without a readiness pipe", func() bool {
		return strings.Contains(sw.String(), `child=r0 err="exit status 5"`)
	})
	cancel()
	p.Wait()
}

func TestWaitReadyFailure(t *testing.T) {
	for _, tc := range []struct{ behaviour, want string }{
		{"notready", "bad failed to start: register: boom second line"},
		{"fail", "bad failed to start: exited before it was ready (exit status 3)"},
	} {
		t.Run(tc.behaviour, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := StartProcs(ctx, []ProcSpec{readySpec("ok", "ready"), readySpec("bad", tc.behaviour)},
				Config{Backoff: fast})
			if err != nil {
				t.Fatal(err)
			}
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			defer wcancel()
			err = p.WaitReady(wctx)
			if err == nil || err.Error() != tc.want {
				t.Errorf("WaitReady = %v; want %q", err, tc.want)
			}
			cancel()
			p.Wait()
			if pids := p.PIDs(); len(pids) != 0 {
				t.Errorf("pids left: %v", pids)
			}
		})
	}
}

func TestWaitReadyTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// "sleep" never reports.
	s := spec("silent", "sleep", true)
	s.Ready = true
	p, err := StartProcs(ctx, []ProcSpec{s}, Config{Backoff: fast})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer wcancel()
	err = p.WaitReady(wctx)
	if err == nil || !strings.Contains(err.Error(), "worker processes not ready (silent)") {
		t.Errorf("WaitReady = %v", err)
	}
	cancel()
	p.Wait()
}
