package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/router"
)

// TestRouterFailover: three servers behind a hashring router; under load one server is
// stopped and started again, another is killed with SIGKILL (master and all) and started
// again. Idempotent calls fail over; every acknowledged put is stored.
func TestRouterFailover(t *testing.T) {
	p := prof()
	svrs, servers := startThree(t, 8)
	c, err := router.New(&router.Config{Mode: "hashring", Servers: servers}, router.Options{
		CallTimeout: time.Second, ProbeInterval: 100 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	tl := newTally()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < p.Clients; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10_000_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("r%d-%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				begin := time.Now()
				tl.sent.Add(1)
				var got string
				err := c.Call(ctx, "put", &got, []any{key}, router.CallOptions{Key: key, Idempotent: true})
				tl.record(key, time.Since(begin), err)
				cancel()
			}
		}()
	}
	waitFor(t, "load running", 10*time.Second, func() bool { return tl.acked.Load() > 100 })
	pause := p.Load / 3
	for round := 0; round < max(1, p.Kills/2); round++ {
		time.Sleep(pause)
		if out, errOut, code := svrs[1].run("-f", svrs[1].conf, "-s", "stop"); code != 0 {
			t.Errorf("stop server1: %d %q %q", code, out, errOut)
		}
		time.Sleep(pause)
		svrs[1].start()
		time.Sleep(pause)
		pid := svrs[2].pid()
		for _, q := range svrs[2].processes() {
			syscall.Kill(q, syscall.SIGKILL)
		}
		waitFor(t, "server2 dead", 5*time.Second, func() bool { return len(svrs[2].processes()) == 0 })
		_ = pid
		time.Sleep(pause)
		svrs[2].start() // a stale pidfile does not block the start
	}
	time.Sleep(pause)
	close(stop)
	wg.Wait()
	stored := map[string]int{}
	for _, s := range svrs {
		for k, v := range s.lines("put") {
			stored[k] += v
		}
	}
	lost := tl.lost(stored)
	t.Logf("FIGURE router failover (%s): 3 servers hashring, %d stop/start + %d kill -9/start, %d clients, idempotent calls: %s; acknowledged-then-lost %d",
		p.Name, max(1, p.Kills/2), max(1, p.Kills/2), p.Clients, tl, len(lost))
	if len(lost) != 0 || tl.hung.Load() != 0 {
		t.Errorf("lost %d, hung %d", len(lost), tl.hung.Load())
	}
	if f := tl.failed.Load(); f*100 > tl.sent.Load() {
		t.Errorf("more than 1%% of idempotent calls failed despite failover: %s", tl)
	}
}

// TestShardingReportsDownShard: three sharding servers; with one stopped, ids of its shards
// fail at once with a ShardDownError naming the shard, and all other ids keep working.
func TestShardingReportsDownShard(t *testing.T) {
	var svrs []*svr
	var servers []router.Server
	for i := 0; i < 3; i++ {
		s := newSvr(t, "thread", 4, "")
		s.start()
		svrs = append(svrs, s)
		servers = append(servers, router.Server{Addr: s.addr, ShardBegin: i * 100, ShardEnd: i*100 + 99})
	}
	cfg := &router.Config{Mode: "sharding", ShardSum: 300, Servers: servers}
	if out, errOut, code := svrs[1].run("-f", svrs[1].conf, "-s", "stop"); code != 0 {
		t.Fatalf("stop: %d %q %q", code, out, errOut)
	}
	okCalls, down, other := 0, 0, 0
	var slowest time.Duration
	for i := 0; i < 60; i++ {
		id := int64(rand.IntN(100000))
		c, err := router.New(cfg, router.Options{HasID: true, ID: id, CallTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		begin := time.Now()
		var got string
		err = c.Call(ctx, "echo", &got, []any{"x"}, router.CallOptions{})
		slowest = max(slowest, time.Since(begin))
		cancel()
		c.Close()
		shard := int(id % 300)
		var sd *router.ShardDownError
		switch {
		case shard/100 == 1 && errors.As(err, &sd) && sd.Shard == shard && strings.Contains(err.Error(), "is down"):
			down++
		case shard/100 != 1 && err == nil && got == "x":
			okCalls++
		default:
			other++
			t.Errorf("id %d (shard %d): %v", id, shard, err)
		}
	}
	t.Logf("FIGURE sharding (1 of 3 servers down): %d calls ok, %d reported shard down, %d wrong; slowest call %v", okCalls, down, other, slowest.Round(time.Millisecond))
	if down == 0 || okCalls == 0 {
		t.Errorf("ok %d, down %d: both kinds expected", okCalls, down)
	}
}

// TestRouterHungServer: one of three hashring servers hangs (every process of it stopped
// with SIGSTOP: the kernel still accepts connections, nothing reads them). Load on random
// keys, with caller deadlines shorter than CallTimeout (the attempt's own timeout never
// fires), then with CallTimeout shorter than the caller's deadline. After the first few
// timeouts no call may reach the hung server: the ping probe keeps it out while probes
// come and go.
func TestRouterHungServer(t *testing.T) {
	p := prof()
	svrs, servers := startThree(t, 4)
	hung := svrs[1].processes()
	t.Cleanup(func() { // before the servers' own cleanup stops them
		for _, q := range hung {
			syscall.Kill(q, syscall.SIGCONT)
		}
	})
	for _, q := range hung {
		syscall.Kill(q, syscall.SIGSTOP)
	}
	phases := []struct {
		name              string
		deadline, attempt time.Duration
	}{
		{"caller deadline 300ms < CallTimeout 1s", 300 * time.Millisecond, time.Second},
		{"CallTimeout 300ms < caller deadline 1s", time.Second, 300 * time.Millisecond},
	}
	for _, ph := range phases {
		c, err := router.New(&router.Config{Mode: "hashring", Servers: servers}, router.Options{
			CallTimeout: ph.attempt, ProbeInterval: 100 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		// Failures on the hung server; a live server slower than the deadline
		// on this loaded machine is counted apart.
		var calls, failed, lateFailed, others int
		failedKeys := map[string]bool{}
		var lastFail time.Duration // since begin
		begin := time.Now()
		for time.Since(begin) < 2*p.Load {
			key := fmt.Sprintf("k%d", rand.IntN(60))
			ctx, cancel := context.WithTimeout(context.Background(), ph.deadline)
			var got string
			err := c.Call(ctx, "echo", &got, []any{key}, router.CallOptions{Key: key})
			cancel()
			calls++
			switch {
			case err == nil:
			case !strings.Contains(err.Error(), svrs[1].addr):
				others++
				t.Logf("%s: call %d failed on a live server: %v", ph.name, calls, err)
			default:
				failed++
				failedKeys[key] = true
				lastFail = time.Since(begin)
				if failed > 3 {
					lateFailed++
					t.Errorf("%s: call %d failed on the hung server after %d failures there: %v", ph.name, calls, failed-1, err)
				}
			}
		}
		c.Close()
		t.Logf("FIGURE hung server (%s, %s): %d calls on 60 keys for %v, %d failed on the hung server (%d keys), %d after the first 3, the last %v into the run; %d failed on live servers",
			p.Name, ph.name, calls, 2*p.Load, failed, len(failedKeys), lateFailed, lastFail.Round(time.Millisecond), others)
	}
}

// startThree starts three thread-model servers of workers rpc workers each and
// returns them with their hashring entries (weight 100 each).
func startThree(t *testing.T, workers int) ([]*svr, []router.Server) {
	var svrs []*svr
	var servers []router.Server
	for i := 0; i < 3; i++ {
		s := newSvr(t, "thread", workers, "")
		s.start()
		svrs = append(svrs, s)
		servers = append(servers, router.Server{Addr: s.addr, Weight: 100})
	}
	return svrs, servers
}
