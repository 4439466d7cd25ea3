package supervise

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/svrkit/svrkit/workers"
)

// RunWorker runs worker index of group g: g.CoroutineSum goroutines of fn (one unless
// process_coroutine), each restarted with the default Backoff as workers.SelfFunc says.
// It returns when every goroutine has finished: after ctx is cancelled, or when all
// returned nil.
func RunWorker(ctx context.Context, cfg *workers.Config, g workers.GroupConfig, index int, fn workers.SelfFunc, log *slog.Logger) {
	runWorker(ctx, cfg, g, index, fn, log, DefaultBackoff())
}

func runWorker(ctx context.Context, cfg *workers.Config, g workers.GroupConfig, index int, fn workers.SelfFunc, log *slog.Logger, b Backoff) {
	n := g.CoroutineSum
	if n < 1 {
		n = 1
	}
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		w := workers.Worker{Group: g.Name, Index: index, Coroutine: c, Config: cfg,
			Log: log.With("group", g.Name, "worker", index, "coroutine", c)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			runSupervised(ctx, w, fn, b)
		}()
	}
	wg.Wait()
}

// runSupervised runs fn as w until it returns nil or ctx is done, restarting it with
// backoff b (verified) after an error or a panic.
func runSupervised(ctx context.Context, w workers.Worker, fn workers.SelfFunc, b Backoff) {
	r := restarts{b: b}
	for ctx.Err() == nil {
		began := time.Now()
		err := callSafely(ctx, w, fn)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			w.Log.Info("self worker finished")
			return
		}
		d := r.failed(time.Since(began))
		lvl := slog.LevelWarn
		msg := "self worker failed; restarting"
		if r.streak >= CrashLoopAfter {
			lvl, msg = slog.LevelError, "self worker crash loop; restarting"
		}
		w.Log.Log(ctx, lvl, msg, "err", err, "failures_in_a_row", r.streak, "restart_in", d)
		if !sleep(ctx.Done(), d) {
			return
		}
	}
}

func callSafely(ctx context.Context, w workers.Worker, fn workers.SelfFunc) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx, w)
}
