package etcd

import (
	"context"
	"testing"

	"github.com/svrkit/svrkit/router"
)

// BenchmarkCall compares steady-state calls over loopback to one real server through a
// client on a static [serverN] list and through one following etcd: the same server, the
// same options, so the difference is the registry's cost on the call path.
func BenchmarkCall(b *testing.B) {
	e := startEtcd(b)
	s := startServer(b, e, "/svrkit/bench", nil)
	for _, tc := range []struct {
		name string
		cfg  *router.Config
	}{
		{"static", &router.Config{Mode: router.ModeHashring, Servers: []router.Server{{Addr: s.addr, Weight: 100}}}},
		{"etcd", ringConfig(e, "/svrkit/bench")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := router.New(tc.cfg, router.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			ctx := context.Background()
			var got string
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Call(ctx, "whoami", &got, nil, router.CallOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
