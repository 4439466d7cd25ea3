package service

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/svrkit/svrkit/daemon"
	"github.com/svrkit/svrkit/internal/detach"
	"github.com/svrkit/svrkit/internal/names"
	"github.com/svrkit/svrkit/internal/procenv"
	"github.com/svrkit/svrkit/workers"
)

// Exit codes of Main.
const (
	ExitOK         = 0
	ExitFailure    = 1
	ExitUsage      = 2
	ExitNotRunning = 3 // -s status: not running (LSB convention)
)

// Main is the whole main() of a generated <app>_svr; it exits the process.
//
//	<app>_svr -f <app>_svr.conf          run in the foreground (master + workers)
//	<app>_svr -f <app>_svr.conf -d       detach; print the daemon's pid once it is ready
//	<app>_svr -f conf -s start           same as -d
//	<app>_svr -f conf -s stop            SIGTERM, wait for the drain, SIGKILL after the deadline
//	<app>_svr -f conf -s restart         graceful restart: a new master takes over the listening
//	                                     socket, then the old one drains (start if not running)
//	<app>_svr -f conf -s status          print state; exit 0 if running, 3 if not
//
// A process started by a master as a worker process runs that worker's role.
func Main(app App) {
	os.Exit(Run(app, os.Args[1:], os.Stdout, os.Stderr))
}

// Run is Main without os.Exit: it returns the exit code.
func Run(app App, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(app.Name+"_svr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("f", "", "server config file `<app>_svr.conf` (required)")
	detach := fs.Bool("d", false, "detach: run as a daemon")
	cmd := fs.String("s", "", "control command: start | stop | restart | status (default: run in the foreground)")
	if err := fs.Parse(args); err != nil {
		return ExitUsage
	}
	if *conf == "" || fs.NArg() > 0 {
		fmt.Fprintf(stderr, "usage: %s_svr -f <conf> [-d] [-s start|stop|restart|status]\n", app.Name)
		return ExitUsage
	}
	switch *cmd {
	case "", "start", "stop", "restart", "status":
	default:
		fmt.Fprintf(stderr, "%s_svr: -s %q: allowed: start | stop | restart | status\n", app.Name, *cmd)
		return ExitUsage
	}
	if abs, err := filepath.Abs(*conf); err == nil {
		*conf = abs
	}
	notifier := procenv.DetachReady.Take()    // set in a master started by detach.Detach
	workerReady := procenv.WorkerReady.Take() // set in a worker process's first start only
	fail := func(err error) int {
		notifier.Report(err)
		workerReady.Report(err)
		fmt.Fprintf(stderr, "%s_svr: %v\n", app.Name, err)
		return ExitFailure
	}
	cfg, err := workers.LoadConfig(*conf)
	if err != nil {
		return fail(err)
	}
	if role, ok, err := procenv.RoleFromEnv(); ok {
		if err != nil {
			return fail(err)
		}
		return runWorker(app, cfg, role, workerReady, stderr)
	}
	name := cfg.App.Name
	ctx := context.Background()
	stopWait := cfg.App.StopTimeout + 5*time.Second
	switch {
	case *cmd == "status":
		st, err := daemon.Status(cfg.App.PidFile)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s %s\n", name, st)
		if !st.Running {
			return ExitNotRunning
		}
		return ExitOK
	case *cmd == "restart":
		st, err := daemon.Status(cfg.App.PidFile)
		if err != nil {
			return fail(err)
		}
		if !st.Running {
			fmt.Fprintf(stdout, "%s %s\n", name, st) // "not running (...)": a plain start
			return detachStart(app, cfg, stdout, stderr)
		}
		newPid, err := gracefulRestart(ctx, cfg, st.PID, stopWait)
		if err != nil {
			if daemon.Alive(st.PID) {
				return fail(err)
			}
			fmt.Fprintf(stderr, "%s_svr: %v; starting afresh\n", app.Name, err)
			return detachStart(app, cfg, stdout, stderr)
		}
		fmt.Fprintf(stdout, "%s restarted gracefully (old pid %d drained and exited)\n", name, st.PID)
		fmt.Fprintf(stdout, "%s started (pid %d, pidfile %s)\n", name, newPid, cfg.App.PidFile)
		return ExitOK
	case *cmd == "stop":
		st, _ := daemon.Status(cfg.App.PidFile)
		err := daemon.Stop(ctx, cfg.App.PidFile, stopWait)
		switch {
		case errors.Is(err, daemon.ErrNotRunning):
			fmt.Fprintf(stdout, "%s %s\n", name, st) // "not running (...)"
		case err != nil:
			return fail(err)
		default:
			fmt.Fprintf(stdout, "%s stopped (pid %d)\n", name, st.PID)
		}
		return ExitOK
	case *cmd == "start" || (*detach && notifier == nil):
		return detachStart(app, cfg, stdout, stderr)
	}
	if err := runMaster(app, cfg, notifier); err != nil {
		fmt.Fprintf(stderr, "%s_svr: %v\n", app.Name, err)
		return ExitFailure
	}
	return ExitOK
}

// detachStart re-executes this binary as the daemon master and reports its pid.
func detachStart(app App, cfg *workers.Config, stdout, stderr io.Writer) int {
	// Fail fast without spawning anything; the daemon's own pidfile lock stays the real check.
	st, err := daemon.Status(cfg.App.PidFile)
	if errors.Is(err, daemon.ErrNotOurs) {
		fmt.Fprintf(stderr, "%s_svr: start failed: %v\n", cfg.App.Name, err)
		return ExitFailure
	}
	if err == nil && st.Running {
		fmt.Fprintf(stderr, "%s_svr: start failed: %s %v (pid %d, pidfile %s)\n",
			cfg.App.Name, cfg.App.Name, daemon.ErrRunning, st.PID, st.PidFile)
		return ExitFailure
	}
	pid, err := detach.Detach(detach.Options{
		Args:    []string{names.Title(cfg.App.Name, names.Master), "-f", cfg.Path},
		LogFile: cfg.App.LogFile,
	})
	if err != nil {
		fmt.Fprintf(stderr, "%s_svr: start failed: %v\n", cfg.App.Name, err)
		return ExitFailure
	}
	fmt.Fprintf(stdout, "%s started (pid %d, pidfile %s)\n", cfg.App.Name, pid, cfg.App.PidFile)
	return ExitOK
}
