package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/svrkit/svrkit/daemon"
	"github.com/svrkit/svrkit/internal/names"
	"github.com/svrkit/svrkit/internal/procenv"
	"github.com/svrkit/svrkit/internal/supervise"
	"github.com/svrkit/svrkit/workers"
)

// runMaster runs the master in this process until SIGTERM or SIGINT: it holds the pidfile,
// listens, runs the thread models in-process and supervises the process models' children.
// notifier (nil when not detached) learns whether start-up succeeded.
func runMaster(app App, cfg *workers.Config, notifier *procenv.Reporter) (err error) {
	defer func() { notifier.Report(err) }() // no-op once Report(nil) was sent
	inherited, err := takeHandoff()
	if err != nil {
		return err
	}
	var pf *daemon.PidFile
	defer func() { pf.Release() }()
	if inherited == nil {
		if pf, err = daemon.AcquirePidFile(cfg.App.PidFile, cfg.App.Name); err != nil {
			return err
		}
	} else {
		defer inherited.pidFile.Close() // no-op once taken over
	}
	base, closer, err := newLogger(cfg, "")
	if err != nil {
		if inherited != nil {
			inherited.ln.Close()
		}
		return err
	}
	defer closer.Close()
	log := base.With("role", "master")
	if err := checkSecurity(cfg); err != nil {
		return err
	}
	reg, err := openRegistration(cfg, log)
	if err != nil {
		return err
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stopSignals()
	restartSig := make(chan os.Signal, 1)
	signal.Notify(restartSig, syscall.SIGUSR2, syscall.SIGHUP)
	defer signal.Stop(restartSig)

	var ln net.Listener
	switch {
	case inherited != nil && serves(inherited.ln, cfg.RPC):
		ln = inherited.ln
		log.Info("graceful restart: serving the inherited listening socket", "addr", ln.Addr().String())
	case inherited != nil:
		// The conf's address changed: open the new one; the old master keeps serving the
		// old one until we are ready, then closes it as it drains.
		old := inherited.ln.Addr().String()
		inherited.ln.Close()
		if ln, err = net.Listen("tcp", cfg.RPC.Addr()); err != nil {
			return fmt.Errorf("graceful restart: [rpc_server] ip:port changed from %s to %s, and the new address cannot be opened while the old one is served (%w); stop and start instead", old, cfg.RPC.Addr(), err)
		}
		log.Info("graceful restart: [rpc_server] ip:port changed; serving the new address, the old master closes the old one as it drains",
			"old_addr", old, "addr", ln.Addr().String())
	default:
		if ln, err = net.Listen("tcp", cfg.RPC.Addr()); err != nil {
			return fmt.Errorf("listen on [rpc_server] ip:port %s: %w", cfg.RPC.Addr(), err)
		}
	}
	defer ln.Close()
	warnInsecure(log, cfg, ln.Addr())

	var specs []supervise.ProcSpec
	inProcLn := ln
	if cfg.RPC.WorkerType == workers.Process {
		lf, err := ln.(*net.TCPListener).File() // a dup; children get it as fd 3
		if err != nil {
			return fmt.Errorf("share listening socket: %w", err)
		}
		defer lf.Close()
		for i := 0; i < cfg.RPC.WorkerSum; i++ {
			specs = append(specs, childSpec(cfg, procenv.Role{Kind: procenv.RoleRPC, Index: i}, lf))
		}
		inProcLn = nil
	}
	selfInProc := cfg.Self != nil && cfg.Self.WorkerType == workers.Thread
	if cfg.Self != nil && !selfInProc {
		if err := checkApp(app, cfg); err != nil {
			return err
		}
		for _, g := range cfg.Self.Groups {
			for i := 0; i < g.WorkerSum; i++ {
				specs = append(specs, childSpec(cfg, procenv.Role{Kind: procenv.RoleSelf, Group: g.Name, Index: i}, nil))
			}
		}
	}

	var running *Running
	if inProcLn != nil || selfInProc {
		if running, err = start(ctx, app, cfg, inProcLn, selfInProc, base); err != nil {
			return err
		}
	}
	procCtx, stopProcs := context.WithCancel(context.Background())
	defer stopProcs()
	var procs *supervise.Procs
	if len(specs) > 0 {
		procs, err = supervise.StartProcs(procCtx, specs, supervise.Config{
			Log:       log,
			KillAfter: cfg.App.StopTimeout + 2*time.Second,
		})
		if err != nil {
			if running != nil {
				_ = running.Stop(context.Background())
			}
			return err
		}
		// Start is truthful: every worker process has registered its APIs (rpc) or run
		// App.Init (self) before this master reports ready, or the start fails.
		wait := readyTimeout(cfg)
		wctx, cancel := context.WithTimeout(ctx, wait)
		err = procs.WaitReady(wctx)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				err = fmt.Errorf("%w within %v (see %s)", err, wait, logName(cfg))
			}
			log.Error("worker processes failed to start; stopping", "err", err)
			if running != nil {
				_ = running.Stop(context.Background())
			}
			stopProcs()
			procs.Wait()
			return fmt.Errorf("%s: %w", cfg.App.Name, err)
		}
	}
	if inherited != nil {
		if pf, err = daemon.TakeOverPidFile(inherited.pidFile, cfg.App.PidFile); err != nil {
			if running != nil {
				_ = running.Stop(context.Background())
			}
			stopProcs()
			if procs != nil {
				procs.Wait()
			}
			return fmt.Errorf("graceful restart: %w", err)
		}
	}
	reg.register(ctx)
	log.Info("started", "pid", os.Getpid(), "addr", ln.Addr().String(),
		"rpc_worker_type", cfg.RPC.WorkerType, "worker_processes", len(specs))
	notifier.Report(nil)

	restarted := false
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case sig := <-restartSig:
			log.Info("graceful restart: starting a new master on the same socket", "signal", sig.String())
			pid, err := startSuccessor(cfg, ln, pf)
			if err != nil {
				log.Error("graceful restart failed; this master keeps serving", "err", err)
				recordRestartFailure(cfg, err)
				continue
			}
			log.Info("graceful restart: new master ready; this one stops accepting and drains", "new_pid", pid)
			restarted = true
			break wait
		}
	}
	reg.leave(restarted)
	log.Info("stopping: draining in-flight calls", "deadline", cfg.App.StopTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.App.StopTimeout)
	defer cancel()
	if running != nil {
		if err := running.Stop(stopCtx); err != nil {
			log.Warn("stop", "err", err)
		}
	}
	stopProcs()
	if procs != nil {
		procs.Wait()
	}
	log.Info("stopped")
	return nil
}

// serves reports whether ln listens on the conf's [rpc_server] ip:port (port 0: any port).
// Both wildcards (0.0.0.0, ::) count as one: Go listens dual-stack on either.
func serves(ln net.Listener, rpc workers.RPCConfig) bool {
	a, ok := ln.Addr().(*net.TCPAddr)
	if !ok || (rpc.Port != 0 && a.Port != rpc.Port) {
		return false
	}
	ip := net.ParseIP(rpc.IP)
	return a.IP.Equal(ip) || (a.IP.IsUnspecified() && ip.IsUnspecified())
}

// childSpec describes the worker process playing role; listener (may be nil) becomes fd 3.
func childSpec(cfg *workers.Config, role procenv.Role, listener *os.File) supervise.ProcSpec {
	s := supervise.ProcSpec{
		Name:             role.String(),
		Args:             []string{names.Title(cfg.App.Name, role.String()), "-f", cfg.Path},
		Env:              append(os.Environ(), role.Env()...),
		RestartOnSuccess: role.Kind == procenv.RoleRPC,
		Ready:            true,
	}
	if listener != nil {
		s.ExtraFiles = []*os.File{listener}
	}
	return s
}

// readyTimeout bounds how long a start waits for the worker processes to report ready:
// [app] stop_timeout, at least 10s, at most 25s (under detach.Detach's 30s, so the
// detaching parent hears the reason).
func readyTimeout(cfg *workers.Config) time.Duration {
	d := cfg.App.StopTimeout
	if d < 10*time.Second {
		d = 10 * time.Second
	}
	if d > 25*time.Second {
		d = 25 * time.Second
	}
	return d
}
