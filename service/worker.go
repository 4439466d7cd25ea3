package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/svrkit/svrkit/internal/names"
	"github.com/svrkit/svrkit/internal/procenv"
	"github.com/svrkit/svrkit/internal/supervise"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

// runWorker runs this process as the worker role its master gave it, until SIGTERM. ready
// (nil after a restart) learns whether start-up succeeded: rpc workers report once the
// APIs are registered and the socket is served, self workers once App.Init returned.
func runWorker(app App, cfg *workers.Config, role procenv.Role, ready *procenv.Reporter, stderr io.Writer) int {
	var err error
	switch role.Kind {
	case procenv.RoleRPC:
		err = runRPCWorker(app, cfg, role, ready)
	default:
		err = runSelfWorker(app, cfg, role, ready)
	}
	ready.Report(err) // no-op once reported
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", names.Title(cfg.App.Name, role.String()), err)
		return ExitFailure
	}
	return ExitOK
}

// runRPCWorker serves the listening socket inherited as fd 3 until SIGTERM, then drains.
func runRPCWorker(app App, cfg *workers.Config, role procenv.Role, ready *procenv.Reporter) error {
	log, closer, err := newLogger(cfg, "rpc")
	if err != nil {
		return err
	}
	defer closer.Close()
	log = log.With("worker", role.Index)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	f := os.NewFile(procenv.ListenFD, "listener")
	if f == nil {
		return fmt.Errorf("no listening socket at fd %d", procenv.ListenFD)
	}
	ln, err := net.FileListener(f) // dups the fd
	f.Close()
	if err != nil {
		return fmt.Errorf("inherited listening socket (fd %d): %w", procenv.ListenFD, err)
	}
	if app.Init != nil {
		if err := app.Init(withRole(ctx, Role{Kind: RoleRPC, Index: role.Index}), cfg); err != nil {
			ln.Close()
			return fmt.Errorf("init: %w", err)
		}
	}
	// Each worker process serves calls concurrently (transport's default bound); worker_sum
	// is the number of processes.
	opts, err := serverOptions(cfg, 0, log)
	if err != nil {
		ln.Close()
		return err
	}
	srv := transport.NewServer(opts)
	if app.Register != nil {
		if err := app.Register(srv, cfg); err != nil {
			ln.Close()
			return fmt.Errorf("register rpc APIs: %w", err)
		}
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("rpc worker serving", "pid", os.Getpid(), "addr", ln.Addr().String())
	ready.Report(nil)
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("rpc worker draining", "in_flight", srv.Stats().InFlight, "deadline", cfg.App.StopTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.App.StopTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("drain deadline passed; closing connections", "err", err)
		_ = srv.Close()
	}
	<-served
	log.Info("rpc worker stopped")
	return nil
}

// runSelfWorker runs one self worker (coroutine_sum goroutines for process_coroutine)
// until SIGTERM. It exits 0 when every handler returned nil (the master then does not
// restart it) or on stop.
func runSelfWorker(app App, cfg *workers.Config, role procenv.Role, ready *procenv.Reporter) error {
	g, ok := cfg.Self.Group(role.Group)
	if !ok {
		return fmt.Errorf("self group %q is not in %s", role.Group, cfg.Path)
	}
	fn := app.Self[g.Name]
	if fn == nil {
		return fmt.Errorf("the app has no self handler for group %q", g.Name)
	}
	if cfg.Self.WorkerType != workers.ProcessCoroutine {
		g.CoroutineSum = 1
	}
	log, closer, err := newLogger(cfg, "self")
	if err != nil {
		return err
	}
	defer closer.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if app.Init != nil {
		if err := app.Init(withRole(ctx, Role{Kind: RoleSelf, Group: g.Name, Index: role.Index}), cfg); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}
	done := make(chan struct{})
	go func() {
		supervise.RunWorker(ctx, cfg, g, role.Index, fn, log)
		close(done)
	}()
	ready.Report(nil)
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-done:
	case <-time.After(cfg.App.StopTimeout):
		log.Error("self handlers did not return before the stop deadline; exiting anyway",
			"group", g.Name, "worker", role.Index, "deadline", cfg.App.StopTimeout)
	}
	return nil
}
