package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testServer runs a Server with the test handlers on a loopback listener.
type testServer struct {
	*Server
	addr      string
	served    chan error
	dial      func() (io.ReadWriteCloser, error) // a new connection to the server
	notes     atomic.Int64
	release   chan struct{}    // closed to let "block" handlers return
	blocked   chan struct{}    // one token per "block" handler started
	sleeping  chan struct{}    // one token per "sleep" handler started
	gates     [3]chan struct{} // "gate" i returns i once gates[i] is closed
	gated     chan struct{}    // one token per "gate" handler started
	unblocked chan error       // "block": the error of each handler its ctx ended
}

// startServer starts the test server; more register extra handlers before it serves.
func startServer(t testing.TB, opts ServerOptions, more ...func(*testServer)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServerOn(t, opts, ln, func() (io.ReadWriteCloser, error) { return net.Dial("tcp", ln.Addr().String()) }, more...)
}

// startServerOn starts a test server on ln; dial connects to it.
func startServerOn(t testing.TB, opts ServerOptions, ln net.Listener, dial func() (io.ReadWriteCloser, error), more ...func(*testServer)) *testServer {
	t.Helper()
	ts := &testServer{Server: NewServer(opts), addr: ln.Addr().String(), dial: dial, served: make(chan error, 1),
		release: make(chan struct{}), blocked: make(chan struct{}, 1000), sleeping: make(chan struct{}, 1000),
		gated: make(chan struct{}, 1000), unblocked: make(chan error, 1000)}
	for i := range ts.gates {
		ts.gates[i] = make(chan struct{})
	}
	ts.Register("gate", func(ctx context.Context, params []byte) (any, error) {
		var i int64
		if err := codec.DecodeParams(params, nil, &i); err != nil || i < 0 || i >= int64(len(ts.gates)) {
			return nil, fmt.Errorf("gate: %v", err)
		}
		signal(ts.gated)
		select {
		case <-ts.gates[i]:
			return i, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	ts.Register("echo", func(ctx context.Context, params []byte) (any, error) {
		var s string
		if err := codec.DecodeParams(params, []string{"value"}, &s); err != nil {
			return nil, err
		}
		return s, nil
	})
	ts.Register("add", func(ctx context.Context, params []byte) (any, error) {
		var a, b int64
		if err := codec.DecodeParams(params, []string{"a", "b"}, &a, &b); err != nil {
			return nil, err
		}
		return a + b, nil
	})
	ts.Register("sleep", func(ctx context.Context, params []byte) (any, error) {
		var ms int64
		if err := codec.DecodeParams(params, []string{"ms"}, &ms); err != nil {
			return nil, err
		}
		signal(ts.sleeping)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
			return ms, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	})
	ts.Register("block", func(ctx context.Context, params []byte) (any, error) {
		signal(ts.blocked)
		select {
		case <-ts.release:
			return "released", nil
		case <-ctx.Done():
			ts.unblocked <- ctx.Err()
			return nil, ctx.Err()
		}
	})
	ts.Register("callctx", func(ctx context.Context, params []byte) (any, error) {
		res := map[string]any{"md": map[string]string(MetadataFrom(ctx))}
		if dl, ok := ctx.Deadline(); ok {
			res["left_ms"] = time.Until(dl).Milliseconds()
		}
		return res, nil
	})
	ts.Register("note", func(ctx context.Context, params []byte) (any, error) {
		ts.notes.Add(1)
		return nil, nil
	})
	ts.Register("panic", func(ctx context.Context, params []byte) (any, error) {
		panic("boom")
	})
	ts.Register("struct", func(ctx context.Context, params []byte) (any, error) {
		var p pt
		if err := codec.DecodeParams(params, []string{"p"}, &p); err != nil {
			return nil, err
		}
		p.N++
		return &p, nil
	})
	for _, f := range more {
		f(ts)
	}
	go func() { ts.served <- ts.Serve(ln) }()
	t.Cleanup(func() {
		select {
		case <-ts.release:
		default:
			close(ts.release)
		}
		ts.Close()
		if err := <-ts.served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ts
}

// signal puts a token in ch if there is room.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

type pt struct {
	Name string   `msgpack:"name"`
	N    int64    `msgpack:"n"`
	Tags []string `msgpack:"tags"`
}

func dial(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestEcho(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		ctx := context.Background()
		var s string
		if err := c.Call(ctx, "echo", &s, "hello"); err != nil || s != "hello" {
			t.Fatalf("%q %v", s, err)
		}
		var n int64
		if err := c.Call(ctx, "add", &n, 2, 40); err != nil || n != 42 {
			t.Fatalf("%d %v", n, err)
		}
		var p pt
		if err := c.Call(ctx, "struct", &p, pt{Name: "x", N: 1, Tags: []string{"a"}}); err != nil || p.N != 2 || p.Name != "x" || p.Tags[0] != "a" {
			t.Fatalf("%+v %v", p, err)
		}
		if err := c.Call(ctx, "echo", nil, "discarded"); err != nil {
			t.Fatal(err)
		}
		if st := ts.Stats(); st.Conns != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestErrorsKeepConnection(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		ctx := context.Background()
		var se *ServerError
		err := c.Call(ctx, "nosuch", nil)
		if !errors.As(err, &se) || se.Message != "'nosuch' method not found" {
			t.Fatalf("unknown method: %v", err)
		}
		err = c.Call(ctx, "echo", nil, "a", "b")
		if !errors.As(err, &se) || se.Message != "echo expects 1 params, got 2" {
			t.Fatalf("param count: %v", err)
		}
		err = c.Call(ctx, "add", nil, 1, "two")
		if !errors.As(err, &se) || !strings.Contains(se.Message, "arg 1 (b)") {
			t.Fatalf("bad param: %v", err)
		}
		err = c.Call(ctx, "panic", nil)
		if !errors.As(err, &se) || !strings.Contains(se.Message, "panic: boom") {
			t.Fatalf("panic: %v", err)
		}
		var s string
		if err := c.Call(ctx, "echo", &s, "still alive"); err != nil || s != "still alive" {
			t.Fatalf("%q %v", s, err)
		}
		var n int64
		if err := c.Call(ctx, "echo", &n, "not an int"); err == nil || errors.As(err, &se) {
			t.Fatalf("reply decode error expected, got %v", err)
		}
	})
}

func TestNotify(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		for i := range 100 {
			if err := c.Notify(context.Background(), "note", i); err != nil {
				t.Fatal(err)
			}
		}
		// A call after the notifications on the same connection is read after them.
		if err := c.Call(context.Background(), "echo", nil, "sync"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for ts.notes.Load() != 100 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := ts.notes.Load(); got != 100 {
			t.Fatalf("%d notifications handled", got)
		}
	})
}

func TestConcurrentCallsOneConn(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		var wg sync.WaitGroup
		errs := make(chan error, 1000)
		for i := range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var s string
				want := fmt.Sprint("msg-", i)
				if err := c.Call(context.Background(), "echo", &s, want); err != nil || s != want {
					errs <- fmt.Errorf("%d: %q %v", i, s, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if c.Pending() != 0 {
			t.Fatalf("%d pending", c.Pending())
		}
	})
}

// TestOutOfOrderReplies: three calls answered in the reverse order of
// sending each get their own reply.
func TestOutOfOrderReplies(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		order := make(chan int64, 3)
		for i := range int64(3) {
			go func() {
				var got int64
				if err := c.Call(context.Background(), "gate", &got, i); err != nil || got != i {
					t.Errorf("%d: %d %v", i, got, err)
				}
				order <- got
			}()
			<-ts.gated // the server has it: send the next one after it
		}
		for i := int64(2); i >= 0; i-- {
			close(ts.gates[i])
			if got := <-order; got != i {
				t.Fatalf("released %d, got the reply of %d", i, got)
			}
		}
	})
}

func TestDeadlineAndCancel(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := c.Call(ctx, "sleep", nil, 2000)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrNotSent) {
			t.Fatalf("deadline: %v", err)
		}
		ctx2, cancel2 := context.WithCancel(context.Background())
		go func() { <-ts.blocked; cancel2() }()
		err = c.Call(ctx2, "block", nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel: %v", err)
		}
		if c.Pending() != 0 {
			t.Fatalf("abandoned calls still pending: %d", c.Pending())
		}
		// Already expired: certainly not sent.
		if err := c.Call(ctx2, "echo", nil, "x"); !errors.Is(err, ErrNotSent) {
			t.Fatalf("expired ctx: %v", err)
		}
		// The connection still works; the late reply of "block" is discarded.
		close(ts.release)
		var s string
		if err := c.Call(context.Background(), "echo", &s, "after"); err != nil || s != "after" {
			t.Fatalf("%q %v", s, err)
		}
	})
}

func TestServerShutdownDuringCalls(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		var wg sync.WaitGroup
		results := make(chan error, 5)
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got int64
				results <- c.Call(context.Background(), "sleep", &got, 100)
			}()
		}
		for range 5 {
			<-ts.sleeping
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		wg.Wait()
		close(results)
		for err := range results {
			if err != nil {
				t.Fatalf("in-flight call failed during graceful shutdown: %v", err)
			}
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("client not told the connection closed")
		}
		if err := c.Call(context.Background(), "echo", nil, "x"); !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrDraining) && !errors.Is(err, ErrBroken) {
			t.Fatalf("call after server close: %v", err)
		}
		if conn, err := ts.dial(); err == nil {
			conn.Close()
			t.Fatal("still accepting after shutdown")
		}
	})
}

func TestShutdownDeadlineHardCloses(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	c := dial(t, ts.addr)
	errc := make(chan error, 1)
	go func() { errc <- c.Call(context.Background(), "sleep", nil, 10000) }()
	<-ts.sleeping
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrBroken) {
		t.Fatalf("pending call: %v", err)
	}
}

func TestClientCloseDuringCalls(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- c.Call(context.Background(), "block", nil)
			}()
		}
		for range 10 {
			<-ts.blocked
		}
		c.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("pending call after Close: %v", err)
			}
		}
		if err := c.Notify(context.Background(), "note"); !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrClosed) {
			t.Fatalf("notify after close: %v", err)
		}
	})
}

func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	return nc
}

// expectClosed checks that the server closes nc without sending anything.
func expectClosed(t *testing.T, nc net.Conn) {
	t.Helper()
	buf := make([]byte, 64)
	n, err := nc.Read(buf)
	if err == nil || n != 0 {
		t.Fatalf("want close, got %d bytes % x, err %v", n, buf[:n], err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("server kept the connection open")
	}
}

func TestMalformedFramesCloseOnlyThatConn(t *testing.T) {
	ts := startServer(t, ServerOptions{Limits: codec.Limits{MaxMessageSize: 64 << 10}})
	good := dial(t, ts.addr)
	deep := []byte{0x94, 0x00, 0x01, 0xa1, 'm'}
	for range 200 {
		deep = append(deep, 0x91)
	}
	big, _ := codec.AppendRequest(nil, 1, "echo", strings.Repeat("z", 100<<10))
	cases := map[string][]byte{
		"garbage":        []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"hazard 5 bytes": {0xdd, 0xff, 0xff, 0xff, 0xff},
		"str32 4GiB":     {0x94, 0x00, 0x01, 0xa4, 'e', 'c', 'h', 'o', 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"invalid 0xc1":   {0x94, 0x00, 0x01, 0xa4, 'e', 'c', 'h', 'o', 0xc1},
		"bad type":       {0x94, 0x07, 0x01, 0xa4, 'e', 'c', 'h', 'o', 0x90},
		"deep nesting":   deep,
		"oversized":      big,
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			nc := rawConn(t, ts.addr)
			if _, err := nc.Write(frame); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, nc)
			var s string
			if err := good.Call(context.Background(), "echo", &s, "ok"); err != nil || s != "ok" {
				t.Fatalf("other connection hurt: %q %v", s, err)
			}
		})
	}
}

func TestRawPipelinedFrames(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	nc := rawConn(t, ts.addr)
	var out []byte
	for i := range 50 {
		out, _ = codec.AppendRequest(out, uint32(i), "echo", fmt.Sprint(i))
		out, _ = codec.AppendNotification(out, "note")
	}
	// Write byte by byte for the first message, then the rest at once.
	for _, b := range out[:10] {
		nc.Write([]byte{b})
	}
	nc.Write(out[10:])
	dec := codec.NewDecoder(nc, codec.Limits{})
	seen := map[uint32]bool{}
	for range 50 {
		var m codec.Message
		if err := dec.Next(&m); err != nil {
			t.Fatal(err)
		}
		var s string
		if err := codec.Decode(m.Result, &s); err != nil || s != fmt.Sprint(m.ID) {
			t.Fatalf("id %d result %q %v", m.ID, s, err)
		}
		seen[m.ID] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct replies", len(seen))
	}
}

func TestConcurrencyLimit(t *testing.T) {
	ts := startServer(t, ServerOptions{MaxConcurrent: 2})
	c := dial(t, ts.addr)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); c.Call(context.Background(), "block", nil) }()
	}
	for c.Pending() < 4 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if n := ts.Stats().InFlight; n != 2 {
		t.Fatalf("%d in flight, limit 2", n)
	}
	close(ts.release)
	wg.Wait()
}

func TestDialErrors(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := Dial(context.Background(), addr, ClientOptions{}); err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("dial closed port: %v", err)
	}
}

func TestSlowCallDoesNotBlockFastOnes(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	c := dial(t, ts.addr)
	for range 40 { // make echo eligible for inline dispatch
		if err := c.Call(context.Background(), "echo", nil, "warm"); err != nil {
			t.Fatal(err)
		}
	}
	nc := rawConn(t, ts.addr)
	var out []byte
	out, _ = codec.AppendRequest(out, 1, "block")
	out, _ = codec.AppendRequest(out, 2, "echo", "fast")
	nc.Write(out)
	dec := codec.NewDecoder(nc, codec.Limits{})
	var m codec.Message
	if err := dec.Next(&m); err != nil || m.ID != 2 {
		t.Fatalf("first reply id %d, err %v; want the echo before the blocked call", m.ID, err)
	}
	// A later request on the same connection is not stuck behind "block" either.
	out, _ = codec.AppendRequest(nil, 3, "echo", "later")
	nc.Write(out)
	if err := dec.Next(&m); err != nil || m.ID != 3 {
		t.Fatalf("reply id %d, err %v", m.ID, err)
	}
	close(ts.release)
	if err := dec.Next(&m); err != nil || m.ID != 1 {
		t.Fatalf("reply id %d, err %v", m.ID, err)
	}
}

func TestIdleClientSeesServerGo(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	c := dial(t, ts.addr)
	if err := c.Call(context.Background(), "echo", nil, "x"); err != nil {
		t.Fatal(err)
	}
	ts.Close()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the server closed an idle connection")
	}
	if err := c.Call(context.Background(), "echo", nil, "x"); !errors.Is(err, ErrNotSent) || !errors.Is(err, ErrDraining) && !errors.Is(err, ErrBroken) {
		t.Fatalf("call on a dead connection: %v", err)
	}
}

func TestMixedConcurrentSequential(t *testing.T) {
	// Alternate bursts of concurrent calls and lone calls, so the reading
	// role moves between callers and the watcher many times.
	ts := startServer(t, ServerOptions{})
	c := dial(t, ts.addr)
	ctx := context.Background()
	for round := range 20 {
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var s string
				want := fmt.Sprint(round, "-", i)
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				if err := c.Call(cctx, "echo", &s, want); err != nil || s != want {
					t.Errorf("%q %v", s, err)
				}
			}()
		}
		wg.Wait()
		for range 5 {
			var s string
			if err := c.Call(ctx, "echo", &s, "lone"); err != nil || s != "lone" {
				t.Fatalf("%q %v", s, err)
			}
		}
		if round%3 == 0 {
			awaitWatcher(t, c) // and let the watcher take over sometimes
		}
	}
}

func TestNotifyThenCloseDelivers(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	c, err := Dial(context.Background(), ts.addr, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if err := c.Notify(context.Background(), "note", i); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for ts.notes.Load() != 1000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := ts.notes.Load(); n != 1000 {
		t.Fatalf("%d of 1000 notifications sent before Close arrived", n)
	}
}

func TestReplyNotHeldBehindPartialRequest(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	nc := rawConn(t, ts.addr)
	dec := codec.NewDecoder(nc, codec.Limits{})
	var m codec.Message
	for i := range 40 { // make echo eligible for inline dispatch
		out, _ := codec.AppendRequest(nil, uint32(i), "echo", "warm")
		nc.Write(out)
		if err := dec.Next(&m); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := codec.AppendRequest(nil, 100, "echo", "a")
	b, _ := codec.AppendRequest(nil, 101, "echo", "b")
	nc.Write(append(a, b[:3]...))
	if err := dec.Next(&m); err != nil || m.ID != 100 {
		t.Fatalf("reply to a complete request held back: %d %v", m.ID, err)
	}
	nc.Write(b[3:])
	if err := dec.Next(&m); err != nil || m.ID != 101 {
		t.Fatalf("%d %v", m.ID, err)
	}
}

// TestReusedCtxCancel: a ctx used for many calls (so the client keeps its
// cancellation hook on it) still cuts short a read when it ends; a cancelled
// ctx that a caller no longer reads with does not disturb the next reader.
func TestReusedCtxCancel(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		ctx1, cancel1 := context.WithCancel(context.Background())
		defer cancel1()
		var s string
		for i := 0; i < 100; i++ {
			if err := c.Call(ctx1, "echo", &s, "x"); err != nil || s != "x" {
				t.Fatalf("call %d: %q %v", i, s, err)
			}
		}
		// ctx2 now holds the hook; ending ctx1 must not touch ctx2's read.
		ctx2, cancel2 := context.WithCancel(context.Background())
		defer cancel2()
		if err := c.Call(ctx2, "echo", &s, "y"); err != nil || s != "y" {
			t.Fatalf("ctx2: %q %v", s, err)
		}
		errc := make(chan error, 1)
		go func() { errc <- c.Call(ctx2, "sleep", nil, 100) }()
		<-ts.sleeping // ctx2's call is out (its caller reads)
		cancel1()
		if err := <-errc; err != nil {
			t.Fatalf("ctx2's call after ctx1 ended: %v", err)
		}
		// And ending the hooked ctx cuts its own blocked read short.
		go func() { <-ts.blocked; cancel2() }()
		start := time.Now()
		if err := c.Call(ctx2, "block", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("cancel took %v", d)
		}
		close(ts.release)
		if err := c.Call(context.Background(), "echo", &s, "after"); err != nil || s != "after" {
			t.Fatalf("%q %v", s, err)
		}
	})
}
