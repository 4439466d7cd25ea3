package service

import (
	"context"
	"testing"

	"github.com/svrkit/svrkit/transport"
)

// benchModel measures echo calls against a detached fake echo_svr: b.RunParallel
// goroutines (GOMAXPROCS × -cpu), one connection each.
func benchModel(b *testing.B, model string, sum int) {
	f := newFakeSvr(b, model, sum, "")
	f.start()
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, err := transport.Dial(ctx, f.addr, transport.ClientOptions{})
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		var s string
		for pb.Next() {
			if err := c.Call(ctx, "echo", &s, "testtest"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkEchoThreadModel4(b *testing.B)  { benchModel(b, "thread", 4) }
func BenchmarkEchoProcessModel2(b *testing.B) { benchModel(b, "process", 2) }
