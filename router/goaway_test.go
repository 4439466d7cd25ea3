package router

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// TestSocketGoAwayHandoff: as in a graceful restart, a new server takes over
// the listening socket and the old one shuts down (goaway) while goroutines
// share the router's connection with non-idempotent calls: none fails, and
// later calls reach the new server.
func TestSocketGoAwayHandoff(t *testing.T) {
	old := startServer(t, "old", "127.0.0.1:0")
	f, err := old.ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln2, err := net.FileListener(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	next := transport.NewServer(transport.ServerOptions{})
	next.Register("whoami", func(ctx context.Context, params []byte) (any, error) {
		time.Sleep(100 * time.Microsecond)
		return "new", nil
	})
	served := make(chan error, 1)
	go func() { served <- next.Serve(ln2) }()
	defer func() { next.Close(); <-served }()

	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: old.addr, Weight: 1}}}, socketOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var calls atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := whoami(context.Background(), c, CallOptions{}); err != nil {
					errs <- err
					return
				}
				calls.Add(1)
			}
		}()
	}
	for calls.Load() < 200 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := old.srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	<-old.done
	old.ln = nil
	n := calls.Load()
	for calls.Load() < n+200 {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed across the handoff: %v", err)
	}
	if got, err := whoami(context.Background(), c, CallOptions{}); err != nil || got != "new" {
		t.Errorf("after handoff: %q %v", got, err)
	}
}
