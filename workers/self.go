package workers

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Worker is the identity and context a self-server handler runs with.
type Worker struct {
	Group     string       // group name; "simple" for simple dispatch
	Index     int          // worker index within the group, 0..worker_sum-1
	Coroutine int          // goroutine index within the worker, 0..coroutine_sum-1 (0 unless process_coroutine)
	Config    *Config      // the parsed server config
	Log       *slog.Logger // carries app, role, group, worker and coroutine
}

// SelfFunc is a self-server handler. ctx is cancelled on stop; the handler should return
// soon after. Returning nil means the worker's job is done: it is not started again.
// Returning an error (or panicking) restarts it with Backoff; each restart is logged.
type SelfFunc func(ctx context.Context, w Worker) error

// RunWorker runs worker index of group g: g.CoroutineSum goroutines of fn (one unless
// process_coroutine), each supervised as described on SelfFunc. It returns when every
// goroutine has finished: after ctx is cancelled, or when all returned nil.
func RunWorker(ctx context.Context, cfg *Config, g GroupConfig, index int, fn SelfFunc, log *slog.Logger, b Backoff) {
	n := g.CoroutineSum
	if n < 1 {
		n = 1
	}
	var wg sync.WaitGroup
	for c := 0; c < n; c++ {
		w := Worker{Group: g.Name, Index: index, Coroutine: c, Config: cfg,
			Log: log.With("group", g.Name, "worker", index, "coroutine", c)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			RunSupervised(ctx, w, fn, b)
		}()
	}
	wg.Wait()
}

// RunSupervised runs fn as w until it returns nil or ctx is done, restarting it with
// backoff after an error or a panic.
func RunSupervised(ctx context.Context, w Worker, fn SelfFunc, b Backoff) {
	r := restarts{b: b.withDefaults()}
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

func callSafely(ctx context.Context, w Worker, fn SelfFunc) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(ctx, w)
}
