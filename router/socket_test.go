package router

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// These tests use real transport servers on 127.0.0.1.

type testServer struct {
	name, addr string
	srv        *transport.Server
	ln         net.Listener
	done       chan error
}

// startServer serves "whoami" (returns name) on addr ("127.0.0.1:0" for a
// fresh port).
func startServer(t *testing.T, name, addr string) *testServer {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // a just-closed port may take a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{name: name, addr: ln.Addr().String(), ln: ln, done: make(chan error, 1),
		srv: transport.NewServer(transport.ServerOptions{})}
	s.srv.Register("whoami", func(ctx context.Context, params []byte) (any, error) { return name, nil })
	go func() { s.done <- s.srv.Serve(ln) }()
	t.Cleanup(s.kill)
	return s
}

// kill stops the server abruptly: listener and connections closed.
func (s *testServer) kill() {
	if s.ln == nil {
		return
	}
	s.srv.Close()
	s.ln.Close()
	<-s.done
	s.ln = nil
}

func socketOptions() Options {
	return Options{ProbeInterval: 50 * time.Millisecond, CallTimeout: 2 * time.Second,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
}

func whoami(ctx context.Context, c *Client, opt CallOptions) (string, error) {
	var got string
	err := c.Call(ctx, "whoami", &got, nil, opt)
	return got, err
}

// TestSocketHashringFailover: one of three servers is killed while four
// goroutines call; every (idempotent) call still answers, the dead server's
// keys move to the others and the other keys stay where they were.
func TestSocketHashringFailover(t *testing.T) {
	var srvs []*testServer
	cfg := &Config{Mode: ModeHashring}
	for i := 0; i < 3; i++ {
		s := startServer(t, "s"+strconv.Itoa(i), "127.0.0.1:0")
		srvs = append(srvs, s)
		cfg.Servers = append(cfg.Servers, Server{Name: "server" + strconv.Itoa(i), Addr: s.addr, Weight: 100})
	}
	c, err := New(cfg, socketOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	const keys = 60
	before := map[string]string{}
	for k := 0; k < keys; k++ {
		key := "key" + strconv.Itoa(k)
		got, err := whoami(ctx, c, CallOptions{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		before[key] = got
	}
	victim := before["key0"]

	var calls, failures atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := whoami(ctx, c, CallOptions{Key: "key" + strconv.Itoa(i%keys), Idempotent: true}); err != nil {
					failures.Add(1)
					t.Errorf("call during failover: %v", err)
				}
				calls.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	for _, s := range srvs {
		if s.name == victim {
			s.kill()
		}
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d calls, %d failures while %s was killed", calls.Load(), failures.Load(), victim)

	for key, was := range before {
		got, err := whoami(ctx, c, CallOptions{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		if got == victim || (was != victim && got != was) {
			t.Errorf("key %s: was on %s, now on %s (killed %s)", key, was, got, victim)
		}
	}
}

// TestSocketReconnect: the only server dies, calls fail; it comes back on
// the same address and the client reconnects by itself.
func TestSocketReconnect(t *testing.T) {
	s := startServer(t, "s0", "127.0.0.1:0")
	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: s.addr, Weight: 1}}}, socketOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if got, err := whoami(ctx, c, CallOptions{}); err != nil || got != "s0" {
		t.Fatalf("%q, %v", got, err)
	}
	s.kill()
	if _, err := whoami(ctx, c, CallOptions{Idempotent: true}); err == nil {
		t.Fatal("call to a dead server succeeded")
	}
	startServer(t, "s0-again", s.addr)
	waitFor(t, "reconnect", func() bool {
		got, err := whoami(ctx, c, CallOptions{})
		return err == nil && got == "s0-again"
	})
}

// TestSocketSharding: three shards without backups, server1 killed: its
// shards report the down shard, the others keep answering; then a shard
// with a backup fails over and returns to its master when it restarts.
func TestSocketSharding(t *testing.T) {
	var srvs []*testServer
	cfg := &Config{Mode: ModeSharding, ShardSum: 9}
	for i := 0; i < 3; i++ {
		s := startServer(t, "s"+strconv.Itoa(i), "127.0.0.1:0")
		srvs = append(srvs, s)
		cfg.Servers = append(cfg.Servers, Server{Name: "server" + strconv.Itoa(i), Addr: s.addr, ShardBegin: 3 * i, ShardEnd: 3*i + 2})
	}
	ctx := context.Background()
	clients := make([]*Client, 9)
	for id := range clients {
		opts := socketOptions()
		opts.HasID, opts.ID = true, int64(id)+9 // shard id, via the modulo
		var err error
		if clients[id], err = New(cfg, opts); err != nil {
			t.Fatal(err)
		}
		defer clients[id].Close()
		if got, err := whoami(ctx, clients[id], CallOptions{}); err != nil || got != srvs[id/3].name {
			t.Fatalf("id %d: %q, %v", id, got, err)
		}
	}
	srvs[1].kill()
	for id, c := range clients {
		got, err := whoami(ctx, c, CallOptions{Idempotent: true})
		if id/3 != 1 {
			if err != nil || got != srvs[id/3].name {
				t.Errorf("id %d: %q, %v", id, got, err)
			}
			continue
		}
		var sd *ShardDownError
		if !errors.As(err, &sd) || sd.Shard != id || sd.Master != srvs[1].addr {
			t.Errorf("id %d: want shard %d down, got %q, %v", id, id, got, err)
		}
	}

	// Master with a backup: fail over, then back.
	backup := startServer(t, "backup", "127.0.0.1:0")
	master := startServer(t, "master", "127.0.0.1:0")
	bcfg := &Config{Mode: ModeSharding, ShardSum: 1, Servers: []Server{{Name: "server0", Addr: master.addr, BackupAddr: backup.addr}}}
	opts := socketOptions()
	opts.HasID = true
	c, err := New(bcfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := whoami(ctx, c, CallOptions{}); err != nil || got != "master" {
		t.Fatalf("%q, %v", got, err)
	}
	master.kill()
	waitFor(t, "backup", func() bool { got, err := whoami(ctx, c, CallOptions{}); return err == nil && got == "backup" })
	startServer(t, "master-again", master.addr)
	waitFor(t, "master", func() bool { got, err := whoami(ctx, c, CallOptions{}); return err == nil && got == "master-again" })
}

// BenchmarkSocketCall: a sequential call through the router to a real
// transport server on loopback (compare with transport's own benchmarks).
func BenchmarkSocketCall(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := transport.NewServer(transport.ServerOptions{})
	srv.Register("whoami", func(ctx context.Context, params []byte) (any, error) { return "s", nil })
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() { srv.Close(); <-done }()
	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: ln.Addr().String(), Weight: 1}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := whoami(ctx, c, CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
