package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/internal/supervise"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

// App is what a generated server registers.
type App struct {
	Name     string                                               // the app name (titles, messages)
	Register func(s *transport.Server, cfg *workers.Config) error // registers the rpc APIs
	Init     func(ctx context.Context, cfg *workers.Config) error // optional, once per process before it serves (RoleOf(ctx) says which)
	Self     map[string]workers.SelfFunc                          // group -> handler ("simple" for simple dispatch)
}

// Running is a service started by Start.
type Running struct {
	ln      net.Listener
	srv     *transport.Server
	served  chan error
	cancel  context.CancelFunc
	selfWG  sync.WaitGroup
	closer  io.Closer
	log     *slog.Logger
	stopped sync.Once
	stopErr error
}

// Start runs app in this process: the rpc server on ln (at most [rpc_server] worker_sum
// calls at once, whatever worker_type says) and every self worker as goroutines (worker_sum
// per group, coroutine_sum goroutines each for process_coroutine). Logs go to [app] log or
// stderr. A cfg built by hand must pass cfg.Verify. ctx only bounds start-up (Init); stop
// with (*Running).Stop.
func Start(ctx context.Context, app App, cfg *workers.Config, ln net.Listener) (*Running, error) {
	if ln == nil {
		return nil, errors.New("service: Start needs a listener")
	}
	if err := cfg.Verify(); err != nil {
		return nil, err
	}
	log, closer, err := newLogger(cfg, "")
	if err != nil {
		return nil, err
	}
	r, err := start(ctx, app, cfg, ln, true, log)
	if err != nil {
		closer.Close()
		return nil, err
	}
	warnInsecure(log.With("role", "rpc"), cfg, ln.Addr())
	r.closer = closer
	return r, nil
}

// start runs the rpc server on ln (when ln != nil) and, when withSelf, the self workers as
// goroutines. log carries "app" but no "role".
func start(ctx context.Context, app App, cfg *workers.Config, ln net.Listener, withSelf bool, log *slog.Logger) (*Running, error) {
	if err := checkApp(app, cfg); err != nil {
		return nil, err
	}
	if app.Init != nil {
		if err := app.Init(withRole(ctx, Role{Kind: RoleMaster}), cfg); err != nil {
			return nil, fmt.Errorf("service: %s init: %w", app.Name, err)
		}
	}
	r := &Running{ln: ln, log: log}
	if ln != nil {
		opts, err := serverOptions(cfg, cfg.RPC.WorkerSum, log.With("role", "rpc"))
		if err != nil {
			return nil, err
		}
		r.srv = transport.NewServer(opts)
		if app.Register != nil {
			if err := app.Register(r.srv, cfg); err != nil {
				return nil, fmt.Errorf("service: %s register rpc APIs: %w", app.Name, err)
			}
		}
		r.served = make(chan error, 1)
		go func() { r.served <- r.srv.Serve(ln) }()
	}
	selfCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	if withSelf && cfg.Self != nil {
		for _, g := range cfg.Self.Groups {
			fn := app.Self[g.Name]
			for i := 0; i < g.WorkerSum; i++ {
				r.selfWG.Add(1)
				go func() {
					defer r.selfWG.Done()
					supervise.RunWorker(selfCtx, cfg, g, i, fn, log.With("role", "self"))
				}()
			}
		}
	}
	return r, nil
}

// checkApp verifies every configured self group has a handler.
func checkApp(app App, cfg *workers.Config) error {
	if cfg.Self == nil {
		return nil
	}
	for _, g := range cfg.Self.Groups {
		if app.Self[g.Name] == nil {
			return fmt.Errorf("service: %s: config %s has self group %q but the app has no handler for it", app.Name, cfg.Path, g.Name)
		}
	}
	return nil
}

// Addr is the rpc server's listening address (nil when no rpc server runs here).
func (r *Running) Addr() net.Addr {
	if r.ln == nil {
		return nil
	}
	return r.ln.Addr()
}

// Stop stops gracefully: the rpc server stops accepting and drains in-flight calls, then
// the self workers' contexts are cancelled and awaited. When ctx ends first, remaining
// connections are closed and Stop returns ctx's error without waiting for stuck self
// handlers. Safe to call more than once.
func (r *Running) Stop(ctx context.Context) error {
	r.stopped.Do(func() { r.stopErr = r.stop(ctx) })
	return r.stopErr
}

func (r *Running) stop(ctx context.Context) error {
	var errs []error
	if r.srv != nil {
		r.log.Info("rpc server draining", "role", "rpc", "in_flight", r.srv.Stats().InFlight)
		if err := r.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("service: drain rpc calls: %w", err))
			_ = r.srv.Close()
		}
		if err := <-r.served; err != nil && !errors.Is(err, transport.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("service: rpc server: %w", err))
		}
	}
	r.cancel()
	done := make(chan struct{})
	go func() { r.selfWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("service: self workers still running after stop deadline: %w", ctx.Err()))
	}
	if r.closer != nil {
		_ = r.closer.Close()
	}
	return errors.Join(errs...)
}

// serverOptions maps [rpc_server]'s bounds onto the transport server's options
// (zero values keep the transport's defaults), with the middleware App.Init added
// and the security the conf asks for: TLS from tls_cert, tls_key, tls_client_ca,
// and a token check (outermost, before App.Init's middleware) from
// auth_token_file. The files are read now: each process reads them when it
// starts (so again on graceful restart). maxConcurrent 0 means the default.
func serverOptions(cfg *workers.Config, maxConcurrent int, log *slog.Logger) (transport.ServerOptions, error) {
	rc := cfg.RPC
	tlsCfg, err := cfg.ServerTLS()
	if err != nil {
		return transport.ServerOptions{}, err
	}
	mw := cfg.Middleware
	tokens, err := cfg.AuthTokens()
	if err != nil {
		return transport.ServerOptions{}, err
	}
	if tokens != nil {
		mw = append([]transport.Middleware{transport.TokenAuth(tokens)}, mw...)
	}
	return transport.ServerOptions{
		TLS:              tlsCfg,
		Middleware:       mw,
		MaxConcurrent:    maxConcurrent,
		Logger:           log,
		MaxQueue:         rc.MaxQueue,
		QueueTimeout:     rc.QueueTimeout,
		MaxConnInFlight:  rc.MaxConnInFlight,
		WriteTimeout:     rc.WriteTimeout,
		MessageTimeout:   rc.MessageTimeout,
		IdleTimeout:      rc.IdleTimeout,
		MaxConns:         rc.MaxConns,
		MaxBufferedBytes: rc.MaxBufferedBytes,
		Limits:           codec.Limits{MaxMessageSize: rc.MaxMessageSize},
	}, nil
}
