package router

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// blackhole is a hung server: it accepts connections and never reads them.
type blackhole struct {
	addr     string
	ln       net.Listener
	accepted chan struct{} // one value per accepted connection
	mu       sync.Mutex
	conns    []net.Conn
	done     chan struct{}
}

func startBlackhole(t *testing.T) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackhole{addr: ln.Addr().String(), ln: ln, accepted: make(chan struct{}, 1000), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
			select {
			case b.accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-b.done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	return b
}

// TestSocketBlackholeEjected: one of three hashring servers accepts
// connections and never answers. After the first few timeouts no call is
// routed to it any more: the ping probe keeps it out (a TCP connect would
// readmit it at once), and its keys are served by the other two, while the
// other keys stay where they were. Both with attempts bounded by
// CallTimeout, and with caller deadlines shorter than CallTimeout, which
// never let the attempt's own timeout fire.
func TestSocketBlackholeEjected(t *testing.T) {
	cases := []struct {
		name        string
		callTimeout time.Duration
		deadline    time.Duration // the caller's, 0: none
		idempotent  bool
		maxFailed   int // calls failed before the ejection
	}{
		{name: "call timeout, idempotent", callTimeout: 150 * time.Millisecond, idempotent: true, maxFailed: 0},
		{name: "call timeout", callTimeout: 150 * time.Millisecond, maxFailed: 1},
		{name: "caller deadline shorter than call timeout", callTimeout: 3 * time.Second, deadline: 100 * time.Millisecond,
			idempotent: true, maxFailed: ejectAfterTimeouts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hole := startBlackhole(t)
			cfg := &Config{Mode: ModeHashring}
			names := map[string]string{} // addr -> name
			for i := 0; i < 3; i++ {
				addr := hole.addr
				if i != 1 {
					addr = startServer(t, "s"+strconv.Itoa(i), "127.0.0.1:0").addr
				}
				names[addr] = "s" + strconv.Itoa(i)
				cfg.Servers = append(cfg.Servers, Server{Name: "server" + strconv.Itoa(i), Addr: addr, Weight: 100})
			}
			opts := socketOptions()
			opts.CallTimeout = tc.callTimeout
			opts.ProbeInterval, opts.MaxProbeInterval, opts.ProbeTimeout = 10*time.Millisecond, 80*time.Millisecond, 30*time.Millisecond
			c, err := New(cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			held := 0 // keys the blackhole holds on the full ring
			v := c.view.Load()
			for k := 0; k < 60; k++ {
				if v.members[v.ring.Load().member("key"+strconv.Itoa(k))].ep.addr == hole.addr {
					held++
				}
			}
			if held == 0 {
				t.Fatal("the blackhole holds no key")
			}
			callAll := func(opt CallOptions) (answers map[string]string, failed int) {
				answers = map[string]string{}
				for k := 0; k < 60; k++ {
					key := "key" + strconv.Itoa(k)
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					if tc.deadline > 0 {
						ctx, cancel = context.WithTimeout(ctx, tc.deadline)
					}
					o := opt
					o.Key = key
					got, err := whoami(ctx, c, o)
					cancel()
					if err != nil {
						if !errors.Is(err, context.DeadlineExceeded) {
							t.Errorf("key %s: %v", key, err)
						}
						failed++
						continue
					}
					answers[key] = got
				}
				return answers, failed
			}
			before, failed := callAll(CallOptions{Idempotent: tc.idempotent})
			t.Logf("%d of 60 calls failed before the ejection", failed)
			if failed > tc.maxFailed {
				t.Errorf("%d calls failed before the hung server was ejected, want at most %d", failed, tc.maxFailed)
			}
			for key, got := range before {
				if got == "s1" {
					t.Errorf("key %s answered by the blackhole", key)
				}
			}
			// Across several probes of the blackhole, no call goes to it:
			// not even a non-idempotent one fails.
			for round := 0; round < 4; round++ {
				select {
				case <-hole.accepted: // a probe's connection (or the calls' first one)
				case <-time.After(5 * time.Second):
					t.Fatalf("round %d: the blackhole is no longer probed: not ejected, or readmitted", round)
				}
				after, failed := callAll(CallOptions{})
				if failed != 0 {
					t.Fatalf("round %d: %d calls failed after the ejection", round, failed)
				}
				for key, got := range after {
					if was, ok := before[key]; ok && was != got {
						t.Errorf("key %s moved from %s to %s", key, was, got)
					}
				}
				if round == 0 {
					t.Logf("the blackhole's %d keys are served by the other two", held)
				}
			}
		})
	}
}

// TestPingProbe: the probe needs an answer from the serving process. A
// svrkit server answers the ping; a plain msgpack-rpc server that answers
// "method not found" counts as healthy too; a server that accepts and never
// answers, and a closed port, do not.
func TestPingProbe(t *testing.T) {
	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: "127.0.0.1:1", Weight: 1}}},
		Options{ProbeTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.probe(ctx, startServer(t, "svrkit", "127.0.0.1:0").addr); err != nil {
		t.Errorf("svrkit server: %v", err)
	}
	if err := c.probe(ctx, startPlain(t)); err != nil {
		t.Errorf("plain msgpack-rpc server: %v", err)
	}
	if err := c.probe(ctx, startBlackhole(t).addr); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("blackhole: %v, want a timeout", err)
	}
	closed := startServer(t, "closed", "127.0.0.1:0")
	closed.kill()
	if err := c.probe(ctx, closed.addr); err == nil {
		t.Error("closed port: no error")
	}
}

// startPlain starts a plain msgpack-rpc server that knows no method: it
// answers every request "'<method>' method not found", as servers in other
// languages do, and returns its address.
func startPlain(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer nc.Close()
				d := codec.NewDecoder(nc, codec.Limits{})
				var m codec.Message
				for d.Next(&m) == nil {
					if m.Kind != codec.Request {
						continue
					}
					b, _ := codec.AppendResponse(nil, m.ID, "'"+m.Method+"' method not found", nil)
					if _, err := nc.Write(b); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}
