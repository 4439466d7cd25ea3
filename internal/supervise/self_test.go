package supervise

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/workers"
)

var fast = Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond, ResetAfter: 10 * time.Second}

func TestRunWorkerCoroutines(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	seen := map[int]bool{}
	started := make(chan struct{}, 10)
	fn := func(ctx context.Context, w workers.Worker) error {
		if w.Group != "event_log" || w.Index != 4 || w.Config == nil || w.Log == nil {
			t.Errorf("worker = %+v", w)
		}
		mu.Lock()
		seen[w.Coroutine] = true
		mu.Unlock()
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	done := make(chan struct{})
	go func() {
		runWorker(ctx, &workers.Config{}, workers.GroupConfig{Name: "event_log", WorkerSum: 5, CoroutineSum: 3}, 4, fn, slog.New(slog.DiscardHandler), fast)
		close(done)
	}()
	for i := 0; i < 3; i++ {
		<-started
	}
	cancel()
	<-done
	if len(seen) != 3 || !seen[0] || !seen[2] {
		t.Errorf("coroutines seen: %v", seen)
	}
}

func TestSelfWorkerRestartsAndFinishes(t *testing.T) {
	var calls atomic.Int32
	fn := func(ctx context.Context, w workers.Worker) error {
		switch calls.Add(1) {
		case 1:
			return errors.New("boom")
		case 2:
			panic("kaboom")
		default:
			return nil // done: not restarted
		}
	}
	w := workers.Worker{Group: "g", Log: slog.New(slog.DiscardHandler)}
	runSupervised(context.Background(), w, fn, fast)
	if calls.Load() != 3 {
		t.Errorf("calls = %d, want 3 (error, panic, done)", calls.Load())
	}
}

func TestSelfWorkerStopsDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	fn := func(ctx context.Context, w workers.Worker) error {
		if calls.Add(1) == 1 {
			cancel()
		}
		return errors.New("always")
	}
	runSupervised(ctx, workers.Worker{Log: slog.New(slog.DiscardHandler)}, fn, Backoff{Min: time.Hour, Max: time.Hour, ResetAfter: time.Hour})
	if calls.Load() != 1 {
		t.Errorf("calls = %d", calls.Load())
	}
}

func TestBackoff(t *testing.T) {
	b, err := Backoff{}.Verify()
	if err != nil || b != DefaultBackoff() {
		t.Fatalf("Backoff{}.Verify() = %+v, %v", b, err)
	}
	r := restarts{b: b}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 10000, 10000}
	for i, w := range want {
		if d := r.failed(time.Millisecond); d != w*time.Millisecond {
			t.Errorf("failure %d: delay %v, want %v", i+1, d, w*time.Millisecond)
		}
	}
	if d := r.failed(time.Minute); d != 100*time.Millisecond || r.streak != 1 {
		t.Errorf("after a long run: %v streak %d", d, r.streak)
	}
}

func TestConfigVerify(t *testing.T) {
	c, err := Config{}.Verify()
	if err != nil || c.KillAfter != DefaultConfig().KillAfter || c.Backoff != DefaultBackoff() || c.Log == nil {
		t.Fatalf("Config{}.Verify() = %+v, %v; want the defaults", c, err)
	}
	for _, bad := range []Config{
		{KillAfter: -time.Second},
		{Backoff: Backoff{Min: -1}},
		{Backoff: Backoff{ResetAfter: -1}},
		{Backoff: Backoff{Min: time.Minute}}, // above the default Max of 10s
		{Backoff: Backoff{Min: time.Second, Max: time.Millisecond}},
	} {
		if _, err := bad.Verify(); err == nil {
			t.Errorf("%+v: Verify accepted it", bad)
		}
		if _, err := StartProcs(context.Background(), nil, bad); err == nil {
			t.Errorf("%+v: StartProcs accepted it", bad)
		}
	}
}
