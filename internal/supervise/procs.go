package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ProcSpec describes one supervised worker process.
type ProcSpec struct {
	Name       string     // for logs, e.g. "rpc worker 2"
	Path       string     // executable; "" = os.Executable()
	Args       []string   // full argv; Args[0] is the title ps shows
	Env        []string   // full environment
	ExtraFiles []*os.File // inherited as fd 3, 4, ...; owned by the caller, kept open while running
	Stdout     io.Writer  // nil = os.Stdout
	Stderr     io.Writer  // nil = os.Stderr
	// RestartOnSuccess restarts the process when it exits with status 0 (rpc workers).
	// When false, exit status 0 means the worker is done (self workers whose handlers all
	// returned nil).
	RestartOnSuccess bool
	// Ready gives the process's first start a readiness pipe (the fd after ExtraFiles,
	// named by procenv.WorkerReady) on which it reports that it started;
	// (*Procs).WaitReady waits for the reports. Restarts run without it.
	Ready bool
}

// Config configures StartProcs. Zero fields mean DefaultConfig's.
type Config struct {
	Log       *slog.Logger  // supervision events (starts, deaths, restarts); nil discards
	Backoff   Backoff       // delay before a dead process is started again
	KillAfter time.Duration // after ctx is cancelled: SIGTERM, then SIGKILL after this long
}

// DefaultConfig is the default Backoff and KillAfter 10s, logs discarded.
func DefaultConfig() Config {
	return Config{Log: slog.New(slog.DiscardHandler), Backoff: DefaultBackoff(), KillAfter: 10 * time.Second}
}

// Verify returns c with zero fields set to the defaults, or an error for a negative
// KillAfter or an invalid Backoff.
func (c Config) Verify() (Config, error) {
	d := DefaultConfig()
	if c.Log == nil {
		c.Log = d.Log
	}
	if c.KillAfter < 0 {
		return c, fmt.Errorf("supervise: KillAfter %v is negative", c.KillAfter)
	}
	if c.KillAfter == 0 {
		c.KillAfter = d.KillAfter
	}
	var err error
	if c.Backoff, err = c.Backoff.Verify(); err != nil {
		return c, fmt.Errorf("supervise: %w", err)
	}
	return c, nil
}

// Procs is a running set of supervised worker processes.
type Procs struct {
	cfg      Config
	wg       sync.WaitGroup
	mu       sync.Mutex
	pids     map[int]int // spec index -> current pid (0 when not running)
	restarts atomic.Int64
	// waitReady names the specs started with Ready (spec index -> name); their reports
	// arrive on ready.
	waitReady map[int]string
	ready     chan readyReport
}

// StartProcs starts one process per spec and supervises them until ctx is cancelled: a
// process that exits is started again (same spec, so the same role and index) after a
// backoff delay, and the restart is logged. Every child gets SIGTERM when the supervising
// thread dies (Pdeathsig). When ctx is cancelled each child gets SIGTERM and, after
// KillAfter, SIGKILL. If a process cannot be started at all, the ones already started are
// stopped and the error is returned.
func StartProcs(ctx context.Context, specs []ProcSpec, cfg Config) (*Procs, error) {
	cfg, err := cfg.Verify()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("supervise: find own executable: %w", err)
	}
	p := &Procs{cfg: cfg, pids: map[int]int{}, waitReady: map[int]string{}, ready: make(chan readyReport, len(specs))}
	for i, s := range specs {
		if s.Ready {
			p.waitReady[i] = s.Name
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	started := make(chan error, len(specs))
	for i, s := range specs {
		if s.Path == "" {
			s.Path = exe
		}
		p.wg.Add(1)
		go p.supervise(ctx, i, s, started)
	}
	var first error
	for range specs {
		if err := <-started; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		cancel()
		p.wg.Wait()
		return nil, first
	}
	go func() { p.wg.Wait(); cancel() }()
	return p, nil
}

// Wait blocks until every supervised process has exited for good (after ctx is cancelled
// and the processes are stopped, or all finished).
func (p *Procs) Wait() { p.wg.Wait() }

// PIDs returns the pids of the processes running now.
func (p *Procs) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for _, pid := range p.pids {
		if pid != 0 {
			out = append(out, pid)
		}
	}
	return out
}

// Restarts is how many times a process was started again after exiting.
func (p *Procs) Restarts() int64 { return p.restarts.Load() }

func (p *Procs) setPID(i, pid int) {
	p.mu.Lock()
	p.pids[i] = pid
	p.mu.Unlock()
}

// supervise runs spec i for the life of ctx. It keeps its goroutine on one OS thread so
// Pdeathsig (which fires when the *thread* that started the child exits) only fires when
// the whole master dies (golang/go#27505).
func (p *Procs) supervise(ctx context.Context, i int, s ProcSpec, started chan<- error) {
	defer p.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	log := p.cfg.Log.With("child", s.Name)
	r := restarts{b: p.cfg.Backoff}
	first := true
	for {
		cs := s
		var readyR, readyW *os.File
		if first && s.Ready {
			var err error
			if readyR, readyW, err = os.Pipe(); err != nil {
				started <- fmt.Errorf("supervise: start %s: readiness pipe: %w", s.Name, err)
				return
			}
			cs = withReadyPipe(s, readyW)
		}
		cmd := command(cs)
		began := time.Now()
		err := cmd.Start()
		if readyW != nil {
			readyW.Close() // the child has its copy: EOF once it exits
		}
		if first {
			first = false
			if err != nil {
				if readyR != nil {
					readyR.Close()
				}
				started <- fmt.Errorf("supervise: start %s (%s): %w", s.Name, s.Path, err)
				return
			}
			started <- nil
		}
		if err == nil {
			var firstExit chan error // the first start's exit status, for awaitReady
			if readyR != nil {
				firstExit = make(chan error, 1)
				p.wg.Add(1)
				go p.awaitReady(ctx, i, s.Name, readyR, firstExit)
			}
			p.setPID(i, cmd.Process.Pid)
			log.Info("worker process started", "pid", cmd.Process.Pid)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err = <-exited:
			case <-ctx.Done():
				err = p.terminate(log, cmd, exited)
				if firstExit != nil {
					firstExit <- err
				}
				p.setPID(i, 0)
				return
			}
			if firstExit != nil {
				firstExit <- err
			}
			p.setPID(i, 0)
			if err == nil && !s.RestartOnSuccess {
				log.Info("worker process finished", "pid", cmd.Process.Pid)
				return
			}
			if err == nil {
				err = errors.New("exited with status 0")
			}
		}
		if ctx.Err() != nil {
			return
		}
		d := r.failed(time.Since(began))
		lvl, msg := slog.LevelWarn, "worker process died; restarting"
		if r.streak >= CrashLoopAfter {
			lvl, msg = slog.LevelError, "worker process crash loop; restarting"
		}
		log.Log(ctx, lvl, msg, "err", err, "failures_in_a_row", r.streak, "restart_in", d)
		if !sleep(ctx.Done(), d) {
			return
		}
		p.restarts.Add(1)
	}
}

// terminate sends SIGTERM, waits up to KillAfter, then SIGKILLs; it returns how the
// process exited.
func (p *Procs) terminate(log *slog.Logger, cmd *exec.Cmd, exited <-chan error) error {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(p.cfg.KillAfter)
	defer t.Stop()
	select {
	case err := <-exited:
		return err
	case <-t.C:
	}
	log.Error("worker process did not stop in time; killing", "pid", cmd.Process.Pid, "after", p.cfg.KillAfter)
	_ = cmd.Process.Kill()
	return <-exited
}

func command(s ProcSpec) *exec.Cmd {
	cmd := &exec.Cmd{
		Path:       s.Path,
		Args:       s.Args,
		Env:        s.Env,
		ExtraFiles: s.ExtraFiles,
		Stdout:     s.Stdout,
		Stderr:     s.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Pdeathsig: syscall.SIGTERM,
		},
	}
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	return cmd
}
