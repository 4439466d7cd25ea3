package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// extConn is a raw connection on which the test speaks as a svrkit client
// would: hello, extended requests, cancel notifications.
type extConn struct {
	t       *testing.T
	nc      net.Conn
	dec     *codec.Decoder
	replies map[uint32]reply // read ahead of the one awaited
}

type reply struct {
	err    string // "" on success
	result any
}

func newExtConn(t *testing.T, addr string, hello bool) *extConn {
	t.Helper()
	nc := rawConn(t, addr)
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	e := &extConn{t: t, nc: nc, dec: codec.NewDecoder(nc, codec.Limits{}), replies: map[uint32]reply{}}
	if hello {
		e.send(req(t, 1000, HelloMethod, nil, map[string]any{"v": int64(ExtVersion)}))
		if r := e.await(1000); r.err != "" || fmt.Sprint(r.result) != "map[v:1]" {
			t.Fatalf("hello: %+v", r)
		}
	}
	return e
}

// req encodes [0, id, method, args] or, with ext, [0, id, method, args, ext].
func req(t *testing.T, id uint32, method string, ext []byte, args ...any) []byte {
	t.Helper()
	b, err := codec.AppendRequest(nil, id, method, args...)
	if err != nil {
		t.Fatal(err)
	}
	if ext != nil {
		b[0] = 0x95
		b = append(b, ext...)
	}
	return b
}

// note encodes [2, method, args] or, with ext, [2, method, args, ext].
func note(t *testing.T, method string, ext []byte, args ...any) []byte {
	t.Helper()
	b, err := codec.AppendNotification(nil, method, args...)
	if err != nil {
		t.Fatal(err)
	}
	if ext != nil {
		b[0] = 0x94
		b = append(b, ext...)
	}
	return b
}

func ext(timeout time.Duration, md map[string]string) []byte {
	x := codec.CallExt{Meta: md}
	if timeout != 0 {
		x.HasTimeout, x.Timeout = true, timeout.Microseconds()
	}
	return codec.AppendCallExt(nil, x)
}

func (e *extConn) send(b []byte) {
	e.t.Helper()
	if _, err := e.nc.Write(b); err != nil {
		e.t.Fatal(err)
	}
}

// await returns the response to id.
func (e *extConn) await(id uint32) reply {
	e.t.Helper()
	for {
		if r, ok := e.replies[id]; ok {
			delete(e.replies, id)
			return r
		}
		var m codec.Message
		if err := e.dec.Next(&m); err != nil {
			e.t.Fatalf("awaiting reply %d: %v", id, err)
		}
		if m.Kind != codec.Response {
			continue
		}
		var r reply
		var ev any
		if err := codec.Decode(m.Error, &ev); err != nil {
			e.t.Fatal(err)
		}
		if ev != nil {
			r.err = fmt.Sprint(ev)
		}
		if err := codec.Decode(m.Result, &r.result); err != nil {
			e.t.Fatal(err)
		}
		e.replies[m.ID] = r
	}
}

// call sends a request and returns its reply.
func (e *extConn) call(id uint32, method string, x []byte, args ...any) reply {
	e.t.Helper()
	e.send(req(e.t, id, method, x, args...))
	return e.await(id)
}

// echoes checks that the connection still serves a plain call.
func (e *extConn) echoes(id uint32) {
	e.t.Helper()
	if r := e.call(id, "echo", nil, "still"); r.err != "" || r.result != "still" {
		e.t.Fatalf("connection no longer serves: %+v", r)
	}
}

// ctxServer is the test server with handlers that report their ctx.
type ctxServer struct {
	*testServer
	started chan string   // "wait" handlers say they run (their first param)
	ran     chan struct{} // "count" handler runs
}

func startCtxServer(t *testing.T, opts ServerOptions) *ctxServer {
	cs := &ctxServer{started: make(chan string, 16), ran: make(chan struct{}, 64)}
	cs.testServer = startServer(t, opts, func(ts *testServer) {
		// ctx reports the handler's view of its ctx.
		ts.Register("ctx", func(ctx context.Context, params []byte) (any, error) {
			out := map[string]any{"deadline": "none", "md": map[string]any{}}
			if d, ok := ctx.Deadline(); ok {
				out["deadline"] = time.Until(d).String()
				out["deadline_ms"] = time.Until(d).Milliseconds()
			}
			for k, v := range MetadataFrom(ctx) {
				out["md"].(map[string]any)[k] = v
			}
			if out["peer"] = ""; PeerFrom(ctx) != nil {
				out["peer"] = PeerFrom(ctx).String()
			}
			return out, nil
		})
		// wait says it started, then blocks until its ctx ends.
		ts.Register("wait", func(ctx context.Context, params []byte) (any, error) {
			var tag string
			if err := codec.DecodeParams(params, []string{"tag"}, &tag); err != nil {
				return nil, err
			}
			cs.started <- tag
			<-ctx.Done()
			return nil, ctx.Err()
		})
		ts.Register("count", func(ctx context.Context, params []byte) (any, error) {
			cs.ran <- struct{}{}
			if md := MetadataFrom(ctx); md != nil {
				return md["k"], nil
			}
			return "", nil
		})
	})
	return cs
}

func TestHello(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{})
	e := newExtConn(t, cs.addr, false)
	// A newer client's hello gets version 1; extra keys are ignored.
	if r := e.call(1, HelloMethod, nil, map[string]any{"v": int64(7), "x": "y"}); r.err != "" || fmt.Sprint(r.result) != "map[v:1]" {
		t.Fatalf("hello v7: %+v", r)
	}
	bad := map[string][]any{
		"no params":   nil,
		"not a map":   {"v1"},
		"version 0":   {map[string]any{"v": int64(0)}},
		"two params":  {map[string]any{"v": int64(1)}, 2},
		"string v":    {map[string]any{"v": "1"}},
		"nil version": {map[string]any{}},
	}
	id := uint32(10)
	for name, args := range bad {
		id++
		r := e.call(id, HelloMethod, nil, args...)
		if !strings.HasPrefix(r.err, HelloMethod+`: want params [{"v": <version, 1 or more>}]`) {
			t.Errorf("%s: %+v", name, r)
		}
	}
	// As a notification it is ignored (counted as a failed notification).
	e.send(note(t, HelloMethod, nil, map[string]any{"v": int64(1)}))
	e.echoes(2)
}

func TestExtendedBeforeHello(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{})
	e := newExtConn(t, cs.addr, false)
	r := e.call(1, "ctx", ext(time.Second, nil))
	if r.err != "ctx: extended request before $svrkit.hello on this connection" {
		t.Fatalf("got %+v", r)
	}
	// An extended notification before hello is dropped, not run.
	e.send(note(t, "count", ext(0, map[string]string{"k": "v"})))
	e.echoes(2)
	if st := cs.Stats(); st.NotifyFailed != 1 {
		t.Errorf("NotifyFailed = %d, want 1", st.NotifyFailed)
	}
	select {
	case <-cs.ran:
		t.Fatal("extended notification before hello ran")
	default:
	}
}

func TestDeadlineInHandlerCtx(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{})
	e := newExtConn(t, cs.addr, true)
	r := e.call(1, "ctx", ext(5*time.Second, nil))
	res, _ := r.result.(map[string]any)
	ms, _ := res["deadline_ms"].(int64)
	if r.err != "" || ms <= 0 || ms > 5000 {
		t.Fatalf("want a deadline within 5s in the handler's ctx: %+v", r)
	}
	// A plain request on the same connection: no deadline, no metadata, a peer.
	r = e.call(2, "ctx", nil)
	res, _ = r.result.(map[string]any)
	if r.err != "" || res["deadline"] != "none" || len(res["md"].(map[string]any)) != 0 || res["peer"] != e.nc.LocalAddr().String() {
		t.Fatalf("plain request: %+v", r)
	}
	// An empty ext: no deadline either.
	r = e.call(3, "ctx", ext(0, nil))
	if res, _ = r.result.(map[string]any); r.err != "" || res["deadline"] != "none" {
		t.Fatalf("empty ext: %+v", r)
	}
	// The deadline ends a handler blocked on ctx; it returns ctx's error,
	// which the server answers as DeadlineMessage so the caller can tell.
	e.send(req(t, 4, "wait", ext(200*time.Millisecond, nil), "w"))
	switch r := e.await(4); {
	case r.err == DeadlineMessage+": wait: context deadline exceeded":
		<-cs.started
	case strings.HasPrefix(r.err, DeadlineMessage+": wait not run"):
		t.Log("the handler did not start within 200ms: its ctx's end is not exercised")
	default:
		t.Fatalf("wait past its deadline: %+v", r)
	}
}

func TestExpiredBeforeStartNotRun(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{})
	e := newExtConn(t, cs.addr, true)
	for i, d := range []int64{0, -5} {
		x := codec.AppendCallExt(nil, codec.CallExt{HasTimeout: true, Timeout: d})
		r := e.call(uint32(i+1), "count", x)
		if r.err != DeadlineMessage+": count not run: the caller's deadline passed on arrival" {
			t.Fatalf("d=%d: %+v", d, r)
		}
	}
	select {
	case <-cs.ran:
		t.Fatal("an expired call ran")
	default:
	}
	if st := cs.Stats(); st.Expired != 2 {
		t.Errorf("Expired = %d, want 2", st.Expired)
	}
	e.echoes(9)
}

// TestQueuedCallDroppedAtDeadline: with every handler slot busy, a waiting
// call is answered DeadlineMessage when its deadline passes, and does not
// run: both a call waiting in its own goroutine (a slow method) and one of
// a proven-fast method waiting on the read loop.
func TestQueuedCallDroppedAtDeadline(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{MaxConcurrent: 1})
	e := newExtConn(t, cs.addr, true)
	for i := range inlineMinCalls + 4 { // "count" proves fast
		e.call(uint32(100+i), "count", nil)
		<-cs.ran
	}
	if !cs.handlers["count"].inlineOK() {
		t.Log(`"count" did not prove fast here: the read-loop wait is not exercised`)
	}
	hold := newExtConn(t, cs.addr, true)
	hold.send(req(t, 1, "wait", nil, "hold"))
	<-cs.started // the only slot is taken
	e.send(req(t, 2, "wait", ext(30*time.Millisecond, nil), "queued"))
	if r := e.await(2); r.err != DeadlineMessage+": wait not run: the caller's deadline passed while it waited for a handler slot" {
		t.Fatalf("queued slow call: %+v", r)
	}
	e.send(req(t, 3, "count", ext(30*time.Millisecond, nil)))
	if r := e.await(3); !strings.HasPrefix(r.err, DeadlineMessage+": count not run") {
		t.Fatalf("queued fast call: %+v", r)
	}
	hold.nc.Close() // ends "hold"'s ctx: the slot is free
	e.echoes(4)
	select {
	case tag := <-cs.started:
		t.Fatalf("%s ran", tag)
	case <-cs.ran:
		t.Fatal("queued count ran")
	default:
	}
	if st := cs.Stats(); st.Expired != 2 {
		t.Errorf("Expired = %d, want 2", st.Expired)
	}
}

func TestCancel(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{MaxConcurrent: 1})
	e := newExtConn(t, cs.addr, true)
	// A running handler blocked on ctx: cancel ends it, not the connection.
	e.send(req(t, 1, "wait", ext(0, nil), "run"))
	<-cs.started
	// Unknown ids, a bad id and a cancel sent as a request change nothing.
	e.send(note(t, CancelMethod, nil, int64(99)))
	e.send(note(t, CancelMethod, nil, "x"))
	if r := e.call(3, CancelMethod, nil, int64(1)); r.err != CancelMethod+" must be sent as a notification" {
		t.Fatalf("cancel as request: %+v", r)
	}
	// A second call waits for the slot; cancel it before it starts.
	e.send(req(t, 2, "wait", ext(time.Minute, nil), "queued"))
	e.send(note(t, CancelMethod, nil, int64(2)))
	if r := e.await(2); r.err != CanceledMessage+": wait not run: the caller cancelled it while it waited for a handler slot" {
		t.Fatalf("cancelled while queued: %+v", r)
	}
	e.send(note(t, CancelMethod, nil, int64(1)))
	if r := e.await(1); r.err != CanceledMessage+": wait: context canceled" {
		t.Fatalf("cancelled handler: %+v", r)
	}
	e.echoes(4)
	// Finished ids are ignored.
	e.send(note(t, CancelMethod, nil, int64(1)))
	e.echoes(5)
	if st := cs.Stats(); st.NotifyFailed != 1 { // the bad id
		t.Errorf("NotifyFailed = %d, want 1", st.NotifyFailed)
	}
}

func TestMetadataInHandler(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{})
	e := newExtConn(t, cs.addr, true)
	md := map[string]string{"trace-id": "abc", "svrkit-x": "y", "k.v_2": strings.Repeat("v", codec.MaxMetaValueLen)}
	r := e.call(1, "ctx", ext(time.Minute, md))
	res, _ := r.result.(map[string]any)
	if r.err != "" || fmt.Sprint(res["md"]) != fmt.Sprint(map[string]any{"trace-id": "abc", "svrkit-x": "y", "k.v_2": md["k.v_2"]}) {
		t.Fatalf("metadata: %+v", r)
	}
	// An extended notification carries metadata too.
	e.send(note(t, "count", ext(0, map[string]string{"k": "from-note"})))
	<-cs.ran
	// Both worker paths: run inline once "count" proves fast.
	for i := range inlineMinCalls + 4 {
		r := e.call(uint32(10+i), "count", ext(time.Minute, map[string]string{"k": fmt.Sprint(i)}))
		<-cs.ran
		if r.err != "" || r.result != fmt.Sprint(i) {
			t.Fatalf("call %d: %+v", i, r)
		}
	}
}

func TestBadExtension(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{})
	e := newExtConn(t, cs.addr, true)
	raw := func(v any) []byte {
		b, err := codec.AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := map[string]any{}
	for i := range codec.MaxMetaEntries + 1 {
		many[fmt.Sprint("k", i)] = "v"
	}
	big := map[string]any{}
	for i := range 5 {
		big[fmt.Sprint("k", i)] = strings.Repeat("v", 4000)
	}
	cases := map[string]struct {
		ext  []byte
		want string
	}{
		"not a map":      {raw(int64(5)), "extension: want a map, got int"},
		"d a float":      {raw(map[string]any{"d": 1.5}), `extension "d" (remaining microseconds): want int, got float 1.5`},
		"d a string":     {raw(map[string]any{"d": "1s"}), `extension "d" (remaining microseconds): want int, got string`},
		"d twice":        {[]byte{0x82, 0xa1, 'd', 0x01, 0xa1, 'd', 0x02}, `extension: key "d" given twice`},
		"m not a map":    {raw(map[string]any{"m": []any{"a"}}), `metadata ("m"): want a map, got an array`},
		"upper key":      {raw(map[string]any{"m": map[string]any{"Trace": "x"}}), `metadata key "Trace": want 1 to 128 bytes of a-z 0-9 - _ .`},
		"empty key":      {raw(map[string]any{"m": map[string]any{"": "x"}}), `metadata key "": want`},
		"long key":       {raw(map[string]any{"m": map[string]any{strings.Repeat("k", 129): "x"}}), `metadata key "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"...: want`},
		"int value":      {raw(map[string]any{"m": map[string]any{"k": int64(1)}}), `metadata "k": value: want string, got int`},
		"long value":     {raw(map[string]any{"m": map[string]any{"k": strings.Repeat("v", codec.MaxMetaValueLen+1)}}), `metadata "k": value of 4097 bytes, at most 4096`},
		"65 entries":     {raw(map[string]any{"m": many}), "metadata: 65 entries, at most 64"},
		"over 16 KiB":    {raw(map[string]any{"m": big}), "metadata: more than 16384 bytes of keys and values"},
		"duplicate key":  {[]byte{0x81, 0xa1, 'm', 0x82, 0xa1, 'k', 0xa1, 'a', 0xa1, 'k', 0xa1, 'b'}, `metadata key "k" given twice`},
		"int key in ext": {[]byte{0x81, 0x01, 0x02}, "extension key: want string, got int"},
	}
	id := uint32(1)
	for name, tc := range cases {
		id++
		r := e.call(id, "ctx", tc.ext)
		if !strings.HasPrefix(r.err, "ctx: bad call context: "+tc.want) {
			t.Errorf("%s: got %q, want prefix %q", name, r.err, "ctx: bad call context: "+tc.want)
		}
	}
	// Unknown keys are skipped; nil metadata is none.
	if r := e.call(100, "ctx", raw(map[string]any{"z": []any{1, 2}, "m": nil})); r.err != "" {
		t.Fatalf("unknown key: %+v", r)
	}
	e.echoes(101)

	// Where framing breaks, the connection closes (and only it).
	for name, frame := range map[string][]byte{
		"6 elements":            {0x96, 0x00, 0x01, 0xa3, 'c', 't', 'x', 0x90, 0x80, 0xc0},
		"5-element response":    {0x95, 0x01, 0x01, 0xc0, 0xc0, 0x80},
		"5-element notify":      {0x95, 0x02, 0xa3, 'c', 't', 'x', 0x90, 0x80, 0x80},
		"array32 of 6":          {0xdd, 0, 0, 0, 6},
		"truncated ext at 0xc1": {0x95, 0x00, 0x01, 0xa3, 'c', 't', 'x', 0x90, 0xc1},
	} {
		nc := rawConn(t, cs.addr)
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) { expectClosed(t, nc) })
	}
	e.echoes(102)
}

func TestReservedNames(t *testing.T) {
	cs := startCtxServer(t, ServerOptions{})
	c := dial(t, cs.addr)
	err := c.Call(context.Background(), "$svrkit.bogus", nil)
	var se *ServerError
	if !errors.As(err, &se) || se.Message != "'$svrkit.bogus' is reserved for the svrkit protocol, not a method" {
		t.Fatalf("reserved name from a plain client: %v", err)
	}
	if err := c.Notify(context.Background(), "$svrkit.bogus"); err != nil {
		t.Fatal(err)
	}
	echoOK(t, c, "after")
	if st := cs.Stats(); st.NotifyFailed != 1 {
		t.Errorf("NotifyFailed = %d, want 1", st.NotifyFailed)
	}
	// Ping and hello work from any client; hello changes nothing for a plain one.
	var v map[string]any
	if err := c.Call(context.Background(), HelloMethod, &v, map[string]any{"v": int64(1)}); err != nil || v["v"] != int64(1) {
		t.Fatalf("hello from the Go client: %v %v", v, err)
	}
	echoOK(t, c, "after hello")
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "reserved") {
			t.Fatalf("Register of a reserved name: %v", r)
		}
	}()
	NewServer(ServerOptions{}).Register("$svrkit.mine", nil)
}

// TestMiddleware: a chain sees the method, the peer, the metadata and the
// outcome, in order, and can refuse a call.
func TestMiddleware(t *testing.T) {
	type seen struct {
		who, method, peer, md, outcome string
	}
	var mu sync.Mutex
	var log []seen
	record := func(who string) Middleware {
		return func(method string, next Handler) Handler {
			return func(ctx context.Context, params []byte) (any, error) {
				res, err := next(ctx, params)
				s := seen{who: who, method: method, md: fmt.Sprint(map[string]string(MetadataFrom(ctx))), outcome: "ok"}
				if p := PeerFrom(ctx); p != nil {
					s.peer = p.String()
				}
				if err != nil {
					s.outcome = err.Error()
				}
				mu.Lock()
				log = append(log, s)
				mu.Unlock()
				return res, err
			}
		}
	}
	auth := func(method string, next Handler) Handler {
		if method == "echo" {
			return next // open
		}
		return func(ctx context.Context, params []byte) (any, error) {
			if MetadataFrom(ctx)["token"] != "good" {
				return nil, errors.New("unauthenticated: " + method + " needs a token")
			}
			return next(ctx, params)
		}
	}
	cs := startCtxServer(t, ServerOptions{Middleware: []Middleware{record("outer"), auth, record("inner")}})
	e := newExtConn(t, cs.addr, true)
	peer := e.nc.LocalAddr().String()
	if r := e.call(1, "echo", nil, "hi"); r.err != "" || r.result != "hi" {
		t.Fatalf("echo: %+v", r)
	}
	if r := e.call(2, "count", ext(0, map[string]string{"token": "bad"})); r.err != "unauthenticated: count needs a token" {
		t.Fatalf("refused: %+v", r)
	}
	if r := e.call(3, "count", ext(0, map[string]string{"token": "good", "k": "v"})); r.err != "" || r.result != "v" {
		t.Fatalf("allowed: %+v", r)
	}
	<-cs.ran
	if r := e.call(4, "add", nil, 1, "x"); r.err != "unauthenticated: add needs a token" {
		t.Fatalf("refused before its params are read: %+v", r)
	}
	want := []seen{
		{"inner", "echo", peer, "map[]", "ok"},
		{"outer", "echo", peer, "map[]", "ok"},
		{"outer", "count", peer, "map[token:bad]", "unauthenticated: count needs a token"},
		{"inner", "count", peer, "map[k:v token:good]", "ok"},
		{"outer", "count", peer, "map[k:v token:good]", "ok"},
		{"outer", "add", peer, "map[]", "unauthenticated: add needs a token"},
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Fatalf("middleware saw\n%v\nwant\n%v", log, want)
	}
}

// benchRawEcho measures the server's side of sequential echo calls written as
// raw frames (x: the extension each carries; nil: plain msgpack-rpc).
func benchRawEcho(b *testing.B, x []byte) {
	ts := startServer(b, ServerOptions{})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	dec := codec.NewDecoder(nc, codec.Limits{})
	var m codec.Message
	roundTrip := func(frame []byte) {
		if _, err := nc.Write(frame); err != nil {
			b.Fatal(err)
		}
		if err := dec.Next(&m); err != nil || m.Kind != codec.Response || len(m.Error) != 1 {
			b.Fatalf("reply %+v %v", m, err)
		}
	}
	hello, _ := codec.AppendRequest(nil, 1, HelloMethod, map[string]any{"v": int64(1)})
	roundTrip(hello)
	frame, _ := codec.AppendRequest(nil, 2, "echo", benchPayload)
	if x != nil {
		frame[0] = 0x95
		frame = append(frame, x...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		roundTrip(frame)
	}
}

func BenchmarkRawEchoPlain(b *testing.B) { benchRawEcho(b, nil) }

func BenchmarkRawEchoDeadline(b *testing.B) {
	benchRawEcho(b, codec.AppendCallExt(nil, codec.CallExt{HasTimeout: true, Timeout: 1e6}))
}

func BenchmarkRawEchoMetadata(b *testing.B) {
	benchRawEcho(b, codec.AppendCallExt(nil, codec.CallExt{HasTimeout: true, Timeout: 1e6,
		Meta: map[string]string{"trace-id": "4bf92f3577b34da6a3ce929d0e0e4736", "tenant": "acme"}}))
}

// TestPythonClientPerCallContext: a Python client on a plain socket speaks the
// extension as docs/WIRE.md describes it.
func TestPythonClientPerCallContext(t *testing.T) {
	needPython(t)
	cs := startCtxServer(t, ServerOptions{})
	host, port, _ := strings.Cut(cs.addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script(t, "py_ext_client.py"), host, port)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}

// TestCallCtx: the lazy per-call ctx behaves as context.WithDeadline's would.
func TestCallCtx(t *testing.T) {
	newConn := func() *serverConn {
		c := &serverConn{}
		c.hctx, c.hcancel = context.WithCancel(context.WithValue(context.Background(), connKey{}, "v"))
		c.vctx = context.WithoutCancel(c.hctx)
		return c
	}
	t.Run("deadline through a derived ctx", func(t *testing.T) {
		c := newConn()
		defer c.hcancel()
		x := &callCtx{c: c, deadline: time.Now().Add(30 * time.Millisecond), md: Metadata{"k": "v"}}
		defer x.cancel()
		if x.Err() != nil {
			t.Fatal("ended early")
		}
		child, cancel := context.WithCancel(x)
		defer cancel()
		<-child.Done()
		if child.Err() != context.DeadlineExceeded || x.Err() != context.DeadlineExceeded || context.Cause(x) != context.DeadlineExceeded {
			t.Fatalf("child %v, ctx %v, cause %v", child.Err(), x.Err(), context.Cause(x))
		}
		if MetadataFrom(child)["k"] != "v" || child.Value(connKey{}) != "v" {
			t.Fatal("values lost")
		}
	})
	t.Run("passed before Done is asked", func(t *testing.T) {
		c := newConn()
		defer c.hcancel()
		x := &callCtx{c: c, deadline: time.Now().Add(-time.Millisecond)}
		select {
		case <-x.Done():
		default:
			t.Fatal("Done not closed")
		}
		if x.Err() != context.DeadlineExceeded {
			t.Fatal(x.Err())
		}
	})
	t.Run("connection ends", func(t *testing.T) {
		c := newConn()
		x := &callCtx{c: c}
		done := x.Done()
		c.hcancel()
		<-done
		if x.Err() != context.Canceled || MetadataFrom(x) != nil {
			t.Fatal(x.Err())
		}
		if _, ok := x.Deadline(); ok {
			t.Fatal("deadline without one")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		c := newConn()
		defer c.hcancel()
		x := &callCtx{c: c, deadline: time.Now().Add(time.Hour)}
		done := x.Done()
		x.cancel()
		<-done
		x.end(context.DeadlineExceeded) // later ends change nothing
		if x.Err() != context.Canceled || context.Cause(x) != context.Canceled {
			t.Fatal(x.Err())
		}
	})
}
