package transport

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGoAwayIdleClient: an idle client learns of Shutdown from the goaway
// notification and stops by itself, before the server's drain would close it.
func TestGoAwayIdleClient(t *testing.T) {
	forEachConn(t, ServerOptions{DrainGrace: 5 * time.Second}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		if err := c.Call(context.Background(), "echo", nil, "x"); err != nil {
			t.Fatal(err)
		}
		awaitWatcher(t, c) // idle: no caller reads
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut := make(chan error, 1)
		go func() { shut <- ts.Shutdown(ctx) }()
		select {
		case <-c.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("idle client did not notice goaway")
		}
		if !errors.Is(c.Err(), ErrDraining) || !c.Draining() {
			t.Fatalf("Err after goaway: %v", c.Err())
		}
		err := c.Call(context.Background(), "echo", nil, "x")
		if !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrDraining) {
			t.Fatalf("call after goaway: %v", err)
		}
		if err := <-shut; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	})
}

// TestGoAwayPendingCallsFinish: after goaway pending calls still get their
// responses and new ones fail at once as not sent.
func TestGoAwayPendingCallsFinish(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		res := make(chan error, 1)
		go func() {
			var got string
			err := c.Call(context.Background(), "block", &got)
			if err == nil && got != "released" {
				err = errors.New("block answered " + got)
			}
			res <- err
		}()
		<-ts.blocked
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut := make(chan error, 1)
		go func() { shut <- ts.Shutdown(ctx) }()
		deadline := time.Now().Add(3 * time.Second)
		for !c.Draining() {
			if time.Now().After(deadline) {
				t.Fatal("client not draining after goaway")
			}
			time.Sleep(time.Millisecond)
		}
		if err := c.Call(context.Background(), "echo", nil, "x"); !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrDraining) {
			t.Fatalf("call on draining client: %v", err)
		}
		if err := c.Notify(context.Background(), "note"); !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrDraining) {
			t.Fatalf("notify on draining client: %v", err)
		}
		select {
		case <-c.Done():
			t.Fatal("client stopped with a call pending")
		default:
		}
		close(ts.release)
		if err := <-res; err != nil {
			t.Fatalf("pending call across goaway: %v", err)
		}
		select {
		case <-c.Done():
		case <-time.After(3 * time.Second):
			t.Fatal("drained client did not stop")
		}
		if err := <-shut; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	})
}

// TestGoAwayHandoffNoLoss: as in a graceful restart, a successor serves the
// same listening socket while the old server shuts down; clients on
// persistent connections that redial on ErrNotSent lose no call.
func TestGoAwayHandoffNoLoss(t *testing.T) {
	old := startServer(t, ServerOptions{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// old serves ln; next serves its duplicate (the inherited socket).
	oldServed := make(chan error, 1)
	go func() { oldServed <- old.Serve(ln) }()
	next := startServer(t, ServerOptions{})
	go func() { next.Serve(ln2) }()

	stop := make(chan struct{})
	var calls, retried atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *Client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				for try := 0; ; try++ {
					if c == nil {
						var err error
						if c, err = Dial(context.Background(), addr, ClientOptions{}); err != nil {
							errs <- err
							return
						}
					}
					var got string
					err := c.Call(context.Background(), "echo", &got, "v")
					if err == nil {
						calls.Add(1)
						break
					}
					c.Close()
					c = nil
					if !errors.Is(err, ErrNotSent) || try > 3 {
						errs <- err
						return
					}
					retried.Add(1)
				}
			}
		}()
	}
	for calls.Load() < 200 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := old.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	<-oldServed
	n := calls.Load()
	for calls.Load() < n+200 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed across handoff: %v", err)
	}
	t.Logf("%d calls, %d resent after goaway", calls.Load(), retried.Load())
}

// awaitWatcher returns once c's watcher holds the turn to read (at once when
// a goroutine reads all the time: readLoop).
func awaitWatcher(t *testing.T, c *Client) {
	t.Helper()
	cr, ok := c.rd.(*callerReads)
	if !ok {
		return
	}
	watching := make(chan struct{})
	var once sync.Once
	c.mu.Lock()
	if cr.state == turnWatcher {
		c.mu.Unlock()
		return
	}
	cr.trace = func(from, to turnState) {
		if to == turnWatcher {
			once.Do(func() { close(watching) })
		}
	}
	c.mu.Unlock()
	select {
	case <-watching:
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher never took the turn")
	}
	c.mu.Lock()
	cr.trace = nil
	c.mu.Unlock()
}
