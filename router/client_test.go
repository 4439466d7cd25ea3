package router

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/svrkit/svrkit/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func hashringConfig(addrs ...string) *Config {
	cfg := &Config{Mode: ModeHashring}
	for _, a := range addrs {
		cfg.Servers = append(cfg.Servers, Server{Addr: a, Weight: 100})
	}
	return cfg
}

func shardingConfig() *Config {
	return &Config{Mode: ModeSharding, ShardSum: 100, Servers: []Server{
		{Name: "server0", Addr: "m0:1", BackupAddr: "b0:1", ShardBegin: 0, ShardEnd: 49},
		{Name: "server1", Addr: "m1:1", BackupAddr: "b1:1", ShardBegin: 50, ShardEnd: 99},
	}}
}

func newFake(t *testing.T, n *fakeNet, cfg *Config, opts Options) *Client {
	t.Helper()
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// owner is the address the client's default key maps to.
func owner(c *Client) string { return c.view.Load().members[c.view.Load().ring.Load().fixed].ep.addr }

func call(c *Client, opt CallOptions) (string, error) {
	var got string
	err := c.Call(context.Background(), "whoami", &got, nil, opt)
	return got, err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHashringEjectAndReadmit(t *testing.T) {
	n := newFakeNet()
	c := newFake(t, n, hashringConfig("a:1", "b:1", "c:1"), n.options())
	dead := owner(c)
	n.set(func(n *fakeNet) { n.dialErr[dead] = errRefused; n.alive[dead] = false })

	got, err := call(c, CallOptions{})
	if err != nil || got == dead {
		t.Fatalf("call = %q, %v; want another server than %s", got, err, dead)
	}
	for i := 0; i < 10; i++ {
		if again, err := call(c, CallOptions{}); err != nil || again != got {
			t.Fatalf("call %d = %q, %v; want %s", i, again, err, got)
		}
	}
	if d := n.count(n.dials, dead); d != 1 {
		t.Errorf("ejected server dialled %d times, want 1", d)
	}
	n.set(func(n *fakeNet) { delete(n.dialErr, dead); n.alive[dead] = true })
	waitFor(t, "readmission", func() bool { return owner(c) == dead })
	if got, err := call(c, CallOptions{}); err != nil || got != dead {
		t.Fatalf("after readmission call = %q, %v; want %s", got, err, dead)
	}
}

func TestTimeoutEjectsButRetriesOnlyIdempotent(t *testing.T) {
	for _, idem := range []bool{false, true} {
		n := newFakeNet()
		opts := n.options()
		opts.ProbeInterval = time.Hour
		c := newFake(t, n, hashringConfig("a:1", "b:1", "c:1"), opts)
		slow := owner(c)
		n.set(func(n *fakeNet) { n.handler[slow] = hang })
		got, err := call(c, CallOptions{Idempotent: idem})
		if idem {
			if err != nil || got == slow {
				t.Fatalf("idempotent: %q, %v", got, err)
			}
		} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not retried") {
			t.Fatalf("non-idempotent timeout: %v", err)
		}
		if owner(c) == slow {
			t.Fatal("timed-out server not ejected")
		}
		if got, err := call(c, CallOptions{}); err != nil || got == slow {
			t.Fatalf("after ejection: %q, %v", got, err)
		}
	}
}

func TestNotSentIsRetried(t *testing.T) {
	n := newFakeNet()
	opts := n.options()
	opts.ProbeInterval = time.Hour
	c := newFake(t, n, hashringConfig("a:1", "b:1"), opts)
	bad := owner(c)
	n.set(func(n *fakeNet) { n.handler[bad] = notSent })
	if got, err := call(c, CallOptions{}); err != nil || got == bad {
		t.Fatalf("%q, %v", got, err)
	}
	// Lost mid-call: maybe delivered, so not retried without Idempotent.
	c2 := newFake(t, n, hashringConfig("a:1", "b:1"), opts)
	n.set(func(n *fakeNet) { n.handler[owner(c2)] = lostMidCall })
	if _, err := call(c2, CallOptions{}); !errors.Is(err, transport.ErrClosed) || !strings.Contains(err.Error(), "not retried") {
		t.Fatalf("lost mid-call: %v", err)
	}
}

func TestServerErrorDoesNotFailOver(t *testing.T) {
	n := newFakeNet()
	c := newFake(t, n, hashringConfig("a:1", "b:1"), n.options())
	o := owner(c)
	n.set(func(n *fakeNet) { n.handler[o] = appError })
	_, err := call(c, CallOptions{Idempotent: true})
	var se *transport.ServerError
	if !errors.As(err, &se) || se.Message != "boom" {
		t.Fatalf("got %v", err)
	}
	if c.view.Load().members[0].ep.isDown() || c.view.Load().members[1].ep.isDown() || owner(c) != o {
		t.Error("an application error ejected a server")
	}
	if calls := n.count(n.calls, o); calls != 1 {
		t.Errorf("%d calls, want 1", calls)
	}
}

func TestNotifyRetries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		h       func(context.Context, *fakeConn, string) error
		opt     CallOptions
		wantErr bool
	}{
		{"not sent is retried", notSent, CallOptions{}, false},
		{"maybe delivered is not retried", lostMidCall, CallOptions{}, true},
		{"RetryNotify retries", lostMidCall, CallOptions{RetryNotify: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newFakeNet()
			c := newFake(t, n, hashringConfig("a:1", "b:1"), n.options())
			n.set(func(n *fakeNet) { n.handler[owner(c)] = tc.h })
			err := c.Notify(context.Background(), "note", []any{1}, tc.opt)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	n := newFakeNet()
	a := newFake(t, n, hashringConfig("a:1", "b:1", "c:1", "d:1"), Options{dial: n.dial, HasID: true, ID: 42})
	b := newFake(t, n, hashringConfig("a:1", "b:1", "c:1", "d:1"), Options{dial: n.dial, HasID: true, ID: 42})
	if owner(a) != owner(b) || a.defKey != "42" {
		t.Fatalf("same id, different servers: %s %s", owner(a), owner(b))
	}
	seen := map[string]bool{}
	for _, key := range []string{"x", "y", "z", "w", "v", "u", "t"} {
		first, err := call(a, CallOptions{Key: key})
		if err != nil {
			t.Fatal(err)
		}
		seen[first] = true
		for i := 0; i < 3; i++ {
			if got, _ := call(b, CallOptions{Key: key}); got != first {
				t.Fatalf("key %q: %s then %s", key, first, got)
			}
		}
	}
	if len(seen) < 2 {
		t.Errorf("7 keys all on one server: %v", seen)
	}
	// WithKey pins like CallOptions.Key; an explicit CallOptions.Key wins.
	for _, key := range []string{"x", "y", "z"} {
		want, _ := call(a, CallOptions{Key: key})
		var got string
		if err := b.Call(WithKey(context.Background(), key), "whoami", &got, nil, CallOptions{}); err != nil || got != want {
			t.Fatalf("WithKey(%q): %q, %v; want %q", key, got, err, want)
		}
		if err := b.Call(WithKey(context.Background(), "other"), "whoami", &got, nil, CallOptions{Key: key}); err != nil || got != want {
			t.Fatalf("CallOptions.Key %q under WithKey(other): %q, %v; want %q", key, got, err, want)
		}
	}
	r := newFake(t, n, hashringConfig("a:1"), Options{dial: n.dial})
	if len(r.defKey) != 8 {
		t.Errorf("random key %q", r.defKey)
	}
}

func TestShardingFailover(t *testing.T) {
	n := newFakeNet()
	opts := n.options()
	opts.HasID, opts.ID = true, -93 // shard 7 (Python's modulo), owned by server0
	c := newFake(t, n, shardingConfig(), opts)
	if got, err := call(c, CallOptions{}); err != nil || got != "m0:1" {
		t.Fatalf("%q, %v", got, err)
	}
	n.set(func(n *fakeNet) {
		n.handler["m0:1"] = lostMidCall
		n.dialErr["m0:1"], n.alive["m0:1"] = errRefused, false
	})
	// The request may have been delivered: reported, and the shard switches.
	if _, err := call(c, CallOptions{}); err == nil {
		t.Fatal("maybe-delivered call was retried")
	}
	if got, err := call(c, CallOptions{}); err != nil || got != "b0:1" {
		t.Fatalf("want backup b0:1, got %q, %v", got, err)
	}
	n.set(func(n *fakeNet) {
		n.handler["b0:1"], n.dialErr["b0:1"], n.alive["b0:1"] = lostMidCall, errRefused, false
	})
	_, err := call(c, CallOptions{Idempotent: true})
	var sd *ShardDownError
	if !errors.As(err, &sd) || sd.Shard != 7 || sd.Master != "m0:1" || sd.Backup != "b0:1" {
		t.Fatalf("want shard 7 down, got %v", err)
	}
	for _, s := range []string{"shard 7", "[server0]", "m0:1", "b0:1", "closed"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if n.count(n.dials, "m1:1")+n.count(n.dials, "b1:1") != 0 {
		t.Fatal("a shard's id was sent to another shard")
	}
	// Backup comes back first, then the master: the client returns to it.
	n.set(func(n *fakeNet) { delete(n.dialErr, "b0:1"); delete(n.handler, "b0:1"); n.alive["b0:1"] = true })
	waitFor(t, "backup", func() bool { got, err := call(c, CallOptions{}); return err == nil && got == "b0:1" })
	n.set(func(n *fakeNet) { delete(n.dialErr, "m0:1"); delete(n.handler, "m0:1"); n.alive["m0:1"] = true })
	waitFor(t, "master", func() bool { got, err := call(c, CallOptions{}); return err == nil && got == "m0:1" })
}

func TestShardingWithoutBackup(t *testing.T) {
	n := newFakeNet()
	cfg := shardingConfig()
	cfg.Servers[1].BackupAddr = ""
	opts := n.options()
	opts.HasID, opts.ID = true, 50
	c := newFake(t, n, cfg, opts)
	n.set(func(n *fakeNet) { n.dialErr["m1:1"], n.alive["m1:1"] = errRefused, false })
	_, err := call(c, CallOptions{})
	var sd *ShardDownError
	if !errors.As(err, &sd) || sd.Shard != 50 || !strings.Contains(err.Error(), "no backup configured") {
		t.Fatalf("got %v", err)
	}
}

func TestAllDownAndBackoff(t *testing.T) {
	n := newFakeNet()
	opts := n.options()
	opts.MinBackoff, opts.MaxBackoff = 400*time.Millisecond, 400*time.Millisecond
	n.set(func(n *fakeNet) {
		for _, a := range []string{"a:1", "b:1", "c:1"} {
			n.dialErr[a], n.alive[a] = errRefused, false
		}
	})
	c := newFake(t, n, hashringConfig("a:1", "b:1", "c:1"), opts)
	_, err := call(c, CallOptions{})
	if err == nil || !strings.Contains(err.Error(), "3 attempts failed") || !errors.Is(err, errRefused) {
		t.Fatalf("got %v", err)
	}
	// Every server is in backoff: fail fast without dialling.
	_, err = call(c, CallOptions{})
	if err == nil || !strings.Contains(err.Error(), "all 3 servers are down") {
		t.Fatalf("got %v", err)
	}
	total := func() int { return n.count(n.dials, "a:1") + n.count(n.dials, "b:1") + n.count(n.dials, "c:1") }
	if total() != 3 {
		t.Fatalf("%d dials, want 3", total())
	}
	// After the backoff the key's server is dialled again, and answers.
	n.set(func(n *fakeNet) { n.dialErr = map[string]error{} })
	time.Sleep(410 * time.Millisecond)
	if _, err := call(c, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	if c.view.Load().ring.Load().all {
		t.Error("ring not rebuilt after a down server answered")
	}
}

func TestBackoffGrowth(t *testing.T) {
	e := &endpoint{minBackoff: 100 * time.Millisecond, maxBackoff: time.Second}
	for n, want := range []time.Duration{100, 100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if n == 0 {
			continue
		}
		for i := 0; i < 20; i++ {
			if d := e.backoff(n); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want %v..%v", n, d, want/2, want)
			}
		}
	}
}

func TestConcurrentCallsShareOneDial(t *testing.T) {
	n := newFakeNet()
	slow := func(ctx context.Context, addr string) (conn, error) {
		time.Sleep(20 * time.Millisecond)
		return n.dial(ctx, addr)
	}
	c := newFake(t, n, hashringConfig("a:1"), Options{dial: slow})
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := call(c, CallOptions{Key: "k"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := n.count(n.dials, "a:1"); d != 1 {
		t.Errorf("%d dials, want 1", d)
	}
}

func TestCallerContext(t *testing.T) {
	n := newFakeNet()
	c := newFake(t, n, hashringConfig("a:1", "b:1"), n.options())
	n.set(func(n *fakeNet) { n.handler[owner(c)] = hang })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := c.Call(ctx, "m", nil, nil, CallOptions{Idempotent: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if c.view.Load().members[0].ep.isDown() || c.view.Load().members[1].ep.isDown() {
		t.Error("the caller's deadline ejected a server")
	}
}

func TestCloseReleases(t *testing.T) {
	n := newFakeNet()
	c, err := New(hashringConfig("a:1", "b:1"), n.options())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := call(c, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	cn := c.view.Load().members[0].ep.cn
	if cn == nil {
		cn = c.view.Load().members[1].ep.cn
	}
	n.set(func(n *fakeNet) {
		n.handler[owner(c)] = func(ctx context.Context, fc *fakeConn, m string) error {
			select {
			case <-fc.done:
				return transport.ErrClosed
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	done := make(chan error)
	go func() { _, err := call(c, CallOptions{Idempotent: true}); done <- err }()
	time.Sleep(10 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) && !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("in-flight call: %v", err)
	}
	if !isDone(cn) {
		t.Error("connection not closed")
	}
	if _, err := call(c, CallOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
