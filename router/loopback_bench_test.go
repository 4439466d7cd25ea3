package router

import (
	"context"
	"net"
	"runtime"
	"testing"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/transport"
)

// benchMsg is shaped like the echo example's generated proto.
type benchMsg struct {
	Value string `msgpack:"value"`
}

// startEchoServer serves "echo" on 127.0.0.1, returning its one argument as
// is (the echo service returns the struct it got: a one-field map).
func startEchoServer(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := transport.NewServer(transport.ServerOptions{})
	srv.Register("echo", func(ctx context.Context, params []byte) (any, error) {
		return rawFirst(params), nil
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	b.Cleanup(func() {
		srv.Close()
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func loopbackClient(b *testing.B) *Client {
	addr := startEchoServer(b)
	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: addr, Weight: 100}}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkLoopbackEcho: Call as the generated echo client makes it (one
// struct argument, reply decoded generically into a map) over a real
// loopback connection, one caller.
func BenchmarkLoopbackEcho(b *testing.B) {
	c := loopbackClient(b)
	ctx := context.Background()
	msg := benchMsg{Value: "testtest"}
	b.ReportAllocs()
	for b.Loop() {
		var reply any
		if err := c.Call(ctx, "echo", &reply, []any{msg}, CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoopbackEchoParallel: BenchmarkLoopbackEcho with 64 callers.
func BenchmarkLoopbackEchoParallel(b *testing.B) {
	c := loopbackClient(b)
	msg := benchMsg{Value: "testtest"}
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			var reply any
			if err := c.Call(ctx, "echo", &reply, []any{msg}, CallOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// rawFirst is the first element of a params array of fewer than 16.
func rawFirst(params []byte) codec.Raw {
	if len(params) < 2 || params[0] != 0x91 {
		return nil
	}
	return codec.Raw(append([]byte(nil), params[1:]...)) // params is the server's buffer
}

// benchMsgArgs is what svrkit gen writes for echo(msg echomsg).
type benchMsgArgs struct {
	msg benchMsg
}

func (a *benchMsgArgs) AppendParams(b []byte) ([]byte, error) {
	b = codec.AppendArrayHeader(b, 1)
	b = codec.AppendMapHeader(b, 1)
	b = codec.AppendString(b, "value")
	return codec.AppendString(b, a.msg.Value), nil
}

// BenchmarkLoopbackEchoCallWith: BenchmarkLoopbackEcho as the generated
// client calls now (CallWith, arguments struct encoding itself).
func BenchmarkLoopbackEchoCallWith(b *testing.B) {
	c := loopbackClient(b)
	ctx := context.Background()
	msg := benchMsg{Value: "testtest"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CallWith[any](ctx, c, "echo", benchMsgArgs{msg: msg}, CallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoopbackEchoCallWithParallel: BenchmarkLoopbackEchoCallWith with
// 64 callers.
func BenchmarkLoopbackEchoCallWithParallel(b *testing.B) {
	c := loopbackClient(b)
	msg := benchMsg{Value: "testtest"}
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := CallWith[any](ctx, c, "echo", benchMsgArgs{msg: msg}, CallOptions{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkLoopbackTransportParallel: the bare transport.Client on the same
// server, reply decoded into the struct (the bench tool's transport row), for
// comparison with BenchmarkLoopbackEchoCallWithParallel.
func BenchmarkLoopbackTransportParallel(b *testing.B) {
	addr := startEchoServer(b)
	c, err := transport.Dial(context.Background(), addr, transport.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	msg := benchMsg{Value: "testtest"}
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			var out benchMsg
			if err := c.Call(ctx, "echo", &out, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
