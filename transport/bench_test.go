package transport

import (
	"context"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

const benchPayload = "hello world, svrkit"

// BenchmarkRawTCPPingPong is the baseline for BenchmarkEchoSequential: one
// loopback connection, write a request-sized message, read a response-sized
// one, no framing or dispatch.
func BenchmarkRawTCPPingPong(b *testing.B) {
	req, _ := codec.AppendRequest(nil, 1, "echo", benchPayload)
	resp, _ := codec.AppendResponse(nil, 1, "", benchPayload)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		in := make([]byte, len(req))
		for {
			if _, err := io.ReadFull(nc, in); err != nil {
				return
			}
			if _, err := nc.Write(resp); err != nil {
				return
			}
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	in := make([]byte, len(resp))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(nc, in); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	nc.Close()
	ln.Close()
	<-done
}

func BenchmarkEchoSequential(b *testing.B) {
	benchEchoSequential(b, context.Background(), dial(b, startServer(b, ServerOptions{}).addr))
}

func benchEchoSequential(b *testing.B, ctx context.Context, c *Client) {
	var s string
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Call(ctx, "echo", &s, benchPayload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEchoSequentialReadLoop is BenchmarkEchoSequential on a client
// that reads on its own goroutine (readLoop, as for a plain
// io.ReadWriteCloser) instead of letting the caller read (callerReads): the
// price of the simpler design.
func BenchmarkEchoSequentialReadLoop(b *testing.B) {
	benchEchoSequential(b, context.Background(), dialReadLoop(b, startServer(b, ServerOptions{}).addr))
}

// dialReadLoop connects a client that sees a plain io.ReadWriteCloser (no
// read deadlines), so it reads on its own goroutine.
func dialReadLoop(b *testing.B, addr string) *Client {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	c := NewClient(plainRWC{nc}, ClientOptions{})
	b.Cleanup(func() { c.Close() })
	return c
}

// BenchmarkEchoSequentialCancelCtx is BenchmarkEchoSequential with a
// cancellable ctx (a signal.NotifyContext, a server's request ctx, a router's
// attempt ctx): what most real callers pass.
func BenchmarkEchoSequentialCancelCtx(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	benchEchoSequential(b, ctx, dial(b, startServer(b, ServerOptions{}).addr))
}

// BenchmarkEchoParallel runs 64 goroutines calling over one connection.
func BenchmarkEchoParallel(b *testing.B) {
	benchEchoParallel(b, dial(b, startServer(b, ServerOptions{}).addr))
}

// BenchmarkEchoParallelReadLoop is BenchmarkEchoParallel on a client that
// reads on its own goroutine (see BenchmarkEchoSequentialReadLoop).
func BenchmarkEchoParallelReadLoop(b *testing.B) {
	benchEchoParallel(b, dialReadLoop(b, startServer(b, ServerOptions{}).addr))
}

func benchEchoParallel(b *testing.B, c *Client) {
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		var s string
		for pb.Next() {
			if err := c.Call(ctx, "echo", &s, benchPayload); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkNotify sends b.N notifications and waits until the server has
// handled them all.
func BenchmarkNotify(b *testing.B) {
	ts := startServer(b, ServerOptions{})
	c := dial(b, ts.addr)
	ctx := context.Background()
	start := ts.notes.Load()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := c.Notify(ctx, "note", benchPayload); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for ts.notes.Load()-start < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d notifications handled", ts.notes.Load()-start, b.N)
		}
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkRawTCPHop is BenchmarkRawTCPPingPong with the client reading on
// its own goroutine and handing each response to the caller over a channel:
// the floor for any client with a dedicated read loop.
func BenchmarkRawTCPHop(b *testing.B) {
	req, _ := codec.AppendRequest(nil, 1, "echo", benchPayload)
	resp, _ := codec.AppendResponse(nil, 1, "", benchPayload)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		in := make([]byte, len(req))
		for {
			if _, err := io.ReadFull(nc, in); err != nil {
				return
			}
			if _, err := nc.Write(resp); err != nil {
				return
			}
		}
	}()
	nc, _ := net.Dial("tcp", ln.Addr().String())
	ch := make(chan struct{}, 1)
	rdone := make(chan struct{})
	go func() {
		defer close(rdone)
		in := make([]byte, len(resp))
		for {
			if _, err := io.ReadFull(nc, in); err != nil {
				return
			}
			ch <- struct{}{}
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		nc.Write(req)
		<-ch
	}
	b.StopTimer()
	nc.Close()
	ln.Close()
	<-done
	<-rdone
}
