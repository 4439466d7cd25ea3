package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// params are the sizes of a run.
type params struct {
	calls       int64
	conc, conns int
	idle        int
	deadline    time.Duration // per-call timeout of seq and conc calls; 0: none
}

// call is one measured call of cn, with p's per-call deadline when set.
func (p params) call(ctx context.Context, cn conn) error {
	if p.deadline <= 0 {
		return cn.call(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, p.deadline)
	err := cn.call(ctx)
	cancel()
	return err
}

// result is one row of the table.
type result struct {
	mode, name string
	n          int64         // calls, notifications or idle connections
	dur        time.Duration // wall time of the measured part
	lat        *hist         // nil when latency is not measured
	cpu        time.Duration // client + server CPU over the measured part
	srvCPU     time.Duration // server child's CPU (0 when in-process)
	cliSys     int64         // client read/write syscalls over the measured part
	srvSys     int64         // server child's read/write syscalls (0 when in-process)
	allocs     uint64        // client-process mallocs over the measured part
	rss        int64         // server RSS after the run (bytes; 0 unknown)
	note       string
	err        error
}

func (r result) rate() float64 {
	if r.dur <= 0 || r.err != nil {
		return 0
	}
	return float64(r.n) / r.dur.Seconds()
}

// meter samples CPU and allocations around the measured part of a run.
type meter struct {
	pid     int
	cpu     time.Duration
	srv     time.Duration
	mallocs uint64
	cliSys  int64
	srvSys  int64
}

func startMeter(pid int) meter {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := meter{pid: pid, cpu: selfCPU(), mallocs: ms.Mallocs, cliSys: treeSyscalls(0)}
	if pid != 0 {
		m.srv, m.srvSys = treeCPU(pid), treeSyscalls(pid)
	}
	return m
}

func (m meter) stop(r *result) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cpu := selfCPU()
	r.cliSys = treeSyscalls(0) - m.cliSys
	if m.pid != 0 {
		r.srvCPU, r.srvSys = treeCPU(m.pid)-m.srv, treeSyscalls(m.pid)-m.srvSys
	}
	r.cpu, r.allocs = cpu-m.cpu+r.srvCPU, ms.Mallocs-m.mallocs
}

// runOne starts c's server, runs mode against it and stops it.
func runOne(ctx context.Context, e *env, c contender, mode string, p params) (r result) {
	r = result{mode: mode, name: c.name}
	if mode == "idle" && (c.idle == nil || e.inproc) {
		r.err = errUnsupported
		r.note = "n/a"
		return r
	}
	srv, err := c.start(ctx, e)
	if err != nil {
		r.err = fmt.Errorf("start server: %w", err)
		return r
	}
	defer func() {
		if err := srv.stop(); err != nil && r.err == nil {
			r.err = fmt.Errorf("stop server: %w", err)
		}
	}()
	label := mode + " " + c.name
	switch mode {
	case "seq":
		r = runSeq(ctx, e, c, srv, p, label)
	case "notify":
		r = runNotify(ctx, e, c, srv, p, label)
	case "conc":
		r = runConc(ctx, e, c, srv, p, label)
	case "idle":
		r = runIdle(ctx, e, c, srv, p, label)
	case "setup":
		r = runSetup(ctx, e, c, srv, p, label)
	}
	r.mode, r.name = mode, c.name
	if srv.pid != 0 && r.rss == 0 {
		r.rss = treeRSS(srv.pid)
	}
	return r
}

func runSeq(ctx context.Context, e *env, c contender, srv *server, p params, label string) (r result) {
	cn, err := c.dial(ctx, srv.addr, false)
	if err != nil {
		r.err = fmt.Errorf("dial: %w", err)
		return r
	}
	defer cn.close()
	for i := int64(0); i < min(p.calls/20, 5000); i++ { // warm up
		if err := cn.call(ctx); err != nil {
			r.err = fmt.Errorf("warm-up call: %w", err)
			return r
		}
	}
	h := new(hist)
	pr := startProgress(e.progress, label, p.calls)
	defer pr.end()
	m := startMeter(srv.pid)
	start := time.Now()
	for i := int64(0); i < p.calls; i++ {
		t := time.Now()
		if err := p.call(ctx, cn); err != nil {
			r.err = fmt.Errorf("call %d: %w", i, err)
			return r
		}
		h.record(time.Since(t))
		if i&1023 == 0 {
			pr.done.Store(i)
		}
	}
	r.dur = time.Since(start)
	m.stop(&r)
	r.n, r.lat = p.calls, h
	return r
}

func runNotify(ctx context.Context, e *env, c contender, srv *server, p params, label string) (r result) {
	cn, err := c.dial(ctx, srv.addr, false)
	if err != nil {
		r.err = fmt.Errorf("dial: %w", err)
		return r
	}
	defer cn.close()
	if err := cn.notify(ctx); err != nil { // also opens gRPC's stream
		r.err = err
		if errors.Is(err, errUnsupported) {
			r.note = "n/a: no one-way call"
		}
		return r
	}
	if err := waitCount(ctx, cn, 1, 10*time.Second); err != nil {
		r.err = err
		return r
	}
	pr := startProgress(e.progress, label, p.calls)
	defer pr.end()
	m := startMeter(srv.pid)
	start := time.Now()
	for i := int64(0); i < p.calls; i++ {
		if err := cn.notify(ctx); err != nil {
			r.err = fmt.Errorf("notify %d: %w", i, err)
			return r
		}
		if i&1023 == 0 {
			pr.done.Store(i)
		}
	}
	sent := time.Since(start)
	if err := waitCount(ctx, cn, p.calls+1, 2*time.Minute); err != nil {
		r.err = err
		return r
	}
	r.dur = time.Since(start)
	m.stop(&r)
	r.n = p.calls
	r.note = fmt.Sprintf("sent in %.2fs (%.0f/s), delivered per server count", sent.Seconds(), float64(p.calls)/sent.Seconds())
	return r
}

// waitCount polls the server's delivery count until it reaches want.
func waitCount(ctx context.Context, cn conn, want int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var got int64
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := cn.count(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("count: %w", err)
		}
		if got = n; got >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d notifications delivered after %v", got, want, limit)
		}
		time.Sleep(time.Millisecond)
	}
}

func runConc(ctx context.Context, e *env, c contender, srv *server, p params, label string) (r result) {
	cns := make([]conn, p.conns)
	for i := range cns {
		cn, err := c.dial(ctx, srv.addr, true)
		if err != nil {
			r.err = fmt.Errorf("dial: %w", err)
			return r
		}
		defer cn.close()
		cns[i] = cn
	}
	phase := func(total int64, pr *progress) (*hist, error) {
		var left atomic.Int64
		left.Store(total)
		hs := make([]hist, p.conc)
		errs := make(chan error, p.conc)
		var wg sync.WaitGroup
		for g := 0; g < p.conc; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cn, h := cns[g%len(cns)], &hs[g]
				for {
					i := left.Add(-1)
					if i < 0 {
						return
					}
					t := time.Now()
					if err := p.call(ctx, cn); err != nil {
						errs <- err
						left.Store(-1 << 40)
						return
					}
					h.record(time.Since(t))
					if pr != nil && i&1023 == 0 {
						pr.done.Store(total - i)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		all := new(hist)
		for i := range hs {
			all.add(&hs[i])
		}
		return all, <-errs
	}
	if _, err := phase(min(p.calls/10, int64(100*p.conc)), nil); err != nil {
		r.err = fmt.Errorf("warm-up: %w", err)
		return r
	}
	pr := startProgress(e.progress, label, p.calls)
	defer pr.end()
	m := startMeter(srv.pid)
	start := time.Now()
	h, err := phase(p.calls, pr)
	r.dur = time.Since(start)
	m.stop(&r)
	if err != nil {
		r.err = err
		return r
	}
	r.n, r.lat = p.calls, h
	r.note = fmt.Sprintf("%d callers over %d conn(s)", p.conc, p.conns)
	return r
}

// runSetup measures connection set-up: dial (TCP, and TLS for a TLS
// contender), one call, close; calls/100 times (at least 200), one after
// another. The latency is of the whole set-up.
func runSetup(ctx context.Context, e *env, c contender, srv *server, p params, label string) (r result) {
	n := max(p.calls/100, 200)
	h := new(hist)
	pr := startProgress(e.progress, label, n)
	defer pr.end()
	m := startMeter(srv.pid)
	start := time.Now()
	for i := int64(0); i < n; i++ {
		t := time.Now()
		cn, err := c.dial(ctx, srv.addr, false)
		if err != nil {
			r.err = fmt.Errorf("dial %d: %w", i, err)
			return r
		}
		err = cn.call(ctx)
		cn.close()
		if err != nil {
			r.err = fmt.Errorf("call on connection %d: %w", i, err)
			return r
		}
		h.record(time.Since(t))
		pr.done.Store(i)
	}
	r.dur = time.Since(start)
	m.stop(&r)
	r.n, r.lat = n, h
	r.note = "connections/s: dial, one call, close"
	return r
}

func runIdle(ctx context.Context, e *env, c contender, srv *server, p params, label string) (r result) {
	time.Sleep(200 * time.Millisecond)
	base := treeRSS(srv.pid)
	pr := startProgress(e.progress, label, int64(p.idle))
	ncs := make([]net.Conn, 0, p.idle)
	defer func() {
		for _, nc := range ncs {
			nc.Close()
		}
	}()
	start := time.Now()
	for i := 0; i < p.idle; i++ {
		nc, err := c.idle(srv.addr)
		if err != nil {
			pr.end()
			r.err = fmt.Errorf("idle connection %d: %w", i, err)
			return r
		}
		ncs = append(ncs, nc)
		pr.done.Store(int64(i + 1))
		if ctx.Err() != nil {
			pr.end()
			r.err = ctx.Err()
			return r
		}
	}
	r.dur = time.Since(start)
	pr.end()
	// Let the server accept and set up every connection, then wait for RSS to settle.
	prev := int64(0)
	for i := 0; i < 20; i++ {
		time.Sleep(500 * time.Millisecond)
		cur := treeRSS(srv.pid)
		if i >= 2 && cur-prev < cur/100 {
			break
		}
		prev = cur
	}
	runtime.GC()
	r.rss = treeRSS(srv.pid)
	r.n = int64(p.idle)
	r.note = fmt.Sprintf("%.1f KiB/conn over the idle server's %.1f MiB", float64(r.rss-base)/1024/float64(p.idle), float64(base)/(1<<20))
	return r
}
