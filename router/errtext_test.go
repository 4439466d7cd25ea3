package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// TestErrorTexts: the messages of real failures (closed ports, a hung
// server, a closed connection, a down shard) say each layer's part once:
// one "router: ", one "transport: ", "dial <addr>" once, the method once.
func TestErrorTexts(t *testing.T) {
	ctx := context.Background()
	dead := startServer(t, "dead", "127.0.0.1:0")
	dead.kill()
	dead2 := startServer(t, "dead2", "127.0.0.1:0")
	dead2.kill()
	hole := startBlackhole(t)
	live := startServer(t, "live", "127.0.0.1:0")
	live.srv.Register("slow", func(ctx context.Context, params []byte) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	opts := Options{ProbeInterval: time.Hour, CallTimeout: 100 * time.Millisecond, MinBackoff: time.Hour, MaxBackoff: time.Hour}
	texts := map[string]error{}

	// transport alone: calls on a closed client, pending at Close, lost mid-call.
	tc, err := transport.Dial(ctx, live.addr, transport.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pending := make(chan error)
	go func() { pending <- tc.Call(ctx, "slow", nil) }()
	waitFor(t, "pending call", func() bool { return tc.Pending() == 1 })
	tc.Close()
	texts["transport: pending at Close"] = <-pending
	texts["transport: after Close"] = tc.Call(ctx, "slow", nil)
	_, texts["transport: dial"] = transport.Dial(ctx, dead.addr, transport.ClientOptions{})

	// router: every server's dial refused, then in backoff.
	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Name: "server0", Addr: dead.addr, Weight: 1}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	texts["router: dial refused"] = c.Call(ctx, "whoami", nil, nil, CallOptions{})
	texts["router: all down"] = c.Call(ctx, "whoami", nil, nil, CallOptions{})

	// router: two servers refusing, a connection lost mid-call.
	c5, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Name: "server0", Addr: dead.addr, Weight: 1},
		{Name: "server1", Addr: dead2.addr, Weight: 1}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c5.Close()
	texts["router: dial refused, 2 servers"] = c5.Call(ctx, "whoami", nil, nil, CallOptions{})
	dying := startServer(t, "dying", "127.0.0.1:0")
	called := make(chan struct{})
	dying.srv.Register("slow", func(ctx context.Context, params []byte) (any, error) {
		close(called)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	c6, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Name: "server0", Addr: dying.addr, Weight: 1}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c6.Close()
	go func() { <-called; dying.kill() }()
	texts["router: lost mid-call"] = c6.Call(ctx, "slow", nil, nil, CallOptions{})

	// router: a hung server, then a shard whose master and backup are down.
	c2, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Name: "server0", Addr: hole.addr, Weight: 1}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	texts["router: timeout"] = c2.Call(ctx, "whoami", nil, nil, CallOptions{})
	texts["router: timeout, idempotent"] = c2.Call(ctx, "whoami", nil, nil, CallOptions{Idempotent: true})
	dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	c3, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Name: "server0", Addr: hole.addr, Weight: 1}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	texts["router: caller deadline"] = c3.Call(dctx, "whoami", nil, nil, CallOptions{})
	opts.HasID = true
	c4, err := New(&Config{Mode: ModeSharding, ShardSum: 1, Servers: []Server{{Name: "server0", Addr: dead.addr, BackupAddr: dead2.addr}}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	c4.Call(ctx, "whoami", nil, nil, CallOptions{})
	texts["router: shard down"] = c4.Call(ctx, "whoami", nil, nil, CallOptions{})
	// Rare with real failures (a pick racing a failure): wrapped as the
	// attempt loop wraps it.
	_, dialErr := transport.Dial(ctx, dead.addr, transport.ClientOptions{})
	c.view.Load().members[0].ep.fail(&DialError{Addr: dead.addr, Err: dialErr}, nil, false)
	lastT := target{ep: c.view.Load().members[0].ep, name: "server0"}
	uerr := &UnavailableError{Addr: dead.addr, Failures: 2, RetryIn: time.Second, Err: &DialError{Addr: dead.addr, Err: dialErr}}
	texts["router: unavailable"] = fmt.Errorf("%s: %w", c.on(lastT, "whoami", uerr), uerr)

	for name, err := range texts {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		t.Logf("%s: %s", name, err)
		// Each chain once: a down shard's master; its backup. The last error
		// of the key's server (previous attempt on another: its error).
		for _, msg := range strings.FieldsFunc(strings.ReplaceAll(err.Error(), " (previous attempt", ";"), func(r rune) bool { return r == ';' }) {
			for _, part := range []string{"router: ", "transport: ", "whoami", "slow:", "dial " + dead.addr, "dial " + dead2.addr} {
				if n := strings.Count(msg, part); n > 1 {
					t.Errorf("%s: %q appears %d times in %q", name, part, n, msg)
				}
			}
		}
		if msg := err.Error(); strings.HasPrefix(name, "router") && !strings.HasPrefix(msg, "router: ") {
			t.Errorf("%s: %q does not start with router:", name, msg)
		}
		var ne *net.OpError
		if strings.Contains(name, "dial") && !errors.As(err, &ne) {
			t.Errorf("%s: %v does not wrap the *net.OpError", name, err)
		}
	}
}
