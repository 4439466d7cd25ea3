package router

import (
	"context"
	"strconv"
	"testing"
)

func benchClient(b *testing.B, cfg *Config, opts Options) *Client {
	n := newFakeNet()
	opts.dial, opts.probe = n.dial, n.probe
	c, err := New(cfg, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func tenServers() *Config {
	cfg := &Config{Mode: ModeHashring}
	for i := 0; i < 10; i++ {
		cfg.Servers = append(cfg.Servers, Server{Addr: "10.0.0." + strconv.Itoa(i+1) + ":3000", Weight: 100})
	}
	return cfg
}

// BenchmarkRouteHashringClientKey: the routing decision with the client's
// own key (the default), 10 servers of weight 100 (20,000 points).
func BenchmarkRouteHashringClientKey(b *testing.B) {
	c := benchClient(b, tenServers(), Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.pick(CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteHashringCallKey: the routing decision with a per-call key.
func BenchmarkRouteHashringCallKey(b *testing.B) {
	c := benchClient(b, tenServers(), Options{})
	opt := CallOptions{Key: "user:1234567"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.pick(opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteSharding: the routing decision in sharding mode.
func BenchmarkRouteSharding(b *testing.B) {
	c := benchClient(b, shardingConfig(), Options{HasID: true, ID: 77})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.pick(CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallOverhead: a whole Call through the router on an in-memory
// connection (routing, per-attempt timeout context, connection lookup).
func BenchmarkCallOverhead(b *testing.B) {
	c := benchClient(b, tenServers(), Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, "m", nil, nil, CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRingRebuild: ejecting or readmitting a server of ten.
func BenchmarkRingRebuild(b *testing.B) {
	c := benchClient(b, tenServers(), Options{})
	live := make([]bool, len(c.view.Load().members))
	for i := range live {
		live[i] = i != 3
	}
	b.ReportAllocs()
	for b.Loop() {
		c.view.Load().points.build(live, c.defKey)
	}
}

// BenchmarkCallOverheadWithKey: CallOverhead with the key in the context
// (WithKey), as a generated client passes it.
func BenchmarkCallOverheadWithKey(b *testing.B) {
	c := benchClient(b, tenServers(), Options{})
	ctx := WithKey(context.Background(), "user:1234567")
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, "m", nil, nil, CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallOverheadCancellable: CallOverhead with a long-lived
// cancellable context (a server's, signal.NotifyContext's).
func BenchmarkCallOverheadCancellable(b *testing.B) {
	c := benchClient(b, tenServers(), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, "m", nil, nil, CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
