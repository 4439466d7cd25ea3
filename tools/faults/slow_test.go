package faults

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/transport"
)

// TestDeadlinesWithSlowHandlers: thread model, worker_sum=2, handlers that take 2 s.
// Callers with a 300 ms deadline get context.DeadlineExceeded in time, whether their call
// runs or waits for a handler slot, and a fast call on another connection still works
// once a slot frees.
func TestDeadlinesWithSlowHandlers(t *testing.T) {
	s := newSvr(t, "thread", 2, "")
	s.start()
	const callers = 8
	var wg sync.WaitGroup
	lat := make([]time.Duration, callers)
	errs := make([]error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			c, err := transport.Dial(ctx, s.addr, transport.ClientOptions{})
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			begin := time.Now()
			errs[i] = c.Call(ctx, "slow", nil, 2000)
			lat[i] = time.Since(begin)
		}()
	}
	wg.Wait()
	var worst time.Duration
	for i := range errs {
		worst = max(worst, lat[i])
		if !errors.Is(errs[i], context.DeadlineExceeded) {
			t.Errorf("caller %d: %v, want deadline exceeded", i, errs[i])
		}
	}
	if worst > 300*time.Millisecond+hangSlack {
		t.Errorf("a caller returned %v after its 300ms deadline", worst)
	}
	// The callers' connections are closed, so the handlers' ctx ends and the slots free.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, s.addr, transport.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	begin := time.Now()
	var got string
	if err := c.Call(ctx, "echo", &got, "x"); err != nil || got != "x" {
		t.Fatalf("echo after the slow calls: %q %v", got, err)
	}
	t.Logf("FIGURE deadlines: %d callers of a 2s handler with 300ms deadlines on worker_sum=2: all got deadline exceeded, latest after %v; next echo took %v",
		callers, worst.Round(time.Millisecond), time.Since(begin).Round(time.Millisecond))
}

// TestLoadShedding: a transport server with MaxConcurrent 2 and MaxQueue 4 under 40
// concurrent slow calls: 2 run, at most 4 wait, the rest are answered "server busy" at once
// (no unbounded pile-up); with QueueTimeout a waiting call is shed after that time.
func TestLoadShedding(t *testing.T) {
	for _, qt := range []time.Duration{0, 100 * time.Millisecond} {
		srv := transport.NewServer(transport.ServerOptions{MaxConcurrent: 2, MaxQueue: 4, QueueTimeout: qt})
		srv.Register("slow", func(ctx context.Context, p []byte) (any, error) {
			var ms int64
			if err := codec.DecodeParams(p, []string{"ms"}, &ms); err != nil {
				return nil, err
			}
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
				return "done", nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(ln) }()
		const n = 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		okN, busyN, otherN := 0, 0, 0
		var busyLat time.Duration
		var peakQueued int64
		stopPeek, peekDone := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(peekDone)
			for {
				select {
				case <-stopPeek:
					return
				case <-time.After(time.Millisecond):
					mu.Lock()
					peakQueued = max(peakQueued, srv.Stats().Queued)
					mu.Unlock()
				}
			}
		}()
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := transport.Dial(ctx, ln.Addr().String(), transport.ClientOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				begin := time.Now()
				err = c.Call(ctx, "slow", nil, 300)
				d := time.Since(begin)
				mu.Lock()
				defer mu.Unlock()
				var se *transport.ServerError
				switch {
				case err == nil:
					okN++
				case errors.As(err, &se) && strings.HasPrefix(se.Message, transport.BusyMessage):
					busyN++
					busyLat = max(busyLat, d)
				default:
					otherN++
					t.Errorf("slow: %v", err)
				}
			}()
		}
		wg.Wait()
		close(stopPeek)
		<-peekDone
		_ = srv.Shutdown(context.Background())
		<-served
		st := srv.Stats()
		t.Logf("FIGURE load shedding (MaxConcurrent 2, MaxQueue 4, QueueTimeout %v): %d slow calls: %d ran, %d got %q (slowest busy answer %v), %d other; peak waiting %d, shed %d",
			qt, n, okN, busyN, transport.BusyMessage, busyLat.Round(time.Millisecond), otherN, peakQueued, st.Shed)
		if peakQueued > 4 || busyN == 0 || okN < 2 || okN > 2+4+2*4 {
			t.Errorf("ran %d, busy %d, peak waiting %d", okN, busyN, peakQueued)
		}
		if qt > 0 && busyLat > qt+time.Second {
			t.Errorf("a waiting call was shed after %v (QueueTimeout %v)", busyLat, qt)
		}
	}
}
