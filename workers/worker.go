package workers

import (
	"context"
	"log/slog"
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
// Returning an error (or panicking) restarts it after a delay that doubles with each
// failure in a row (100ms up to 10s); each restart is logged, and five quick failures in a
// row are logged as a crash loop.
type SelfFunc func(ctx context.Context, w Worker) error
