package transport

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// Beyond MaxConcurrent running and MaxQueue waiting, calls are answered "server busy"
// at once; the waiting ones run once a slot frees.
func TestLoadSheddingBusy(t *testing.T) {
	ts := startServer(t, ServerOptions{MaxConcurrent: 2, MaxQueue: 3})
	c := dial(t, ts.addr)
	const n = 10
	errs := make(chan error, n)
	for range n {
		go func() { errs <- c.Call(context.Background(), "block", nil) }()
	}
	busy := 0
	for busy < n-5 {
		err := <-errs
		var se *ServerError
		if !errors.As(err, &se) || !strings.HasPrefix(se.Message, BusyMessage) {
			t.Fatalf("want %q, got %v", BusyMessage, err)
		}
		busy++
	}
	if st := ts.Stats(); st.InFlight != 2 || st.Queued != 3 || st.Shed != n-5 {
		t.Fatalf("stats %+v", st)
	}
	close(ts.release)
	for range 5 {
		if err := <-errs; err != nil {
			t.Errorf("queued call: %v", err)
		}
	}
}

// QueueTimeout sheds a call that waited too long for a slot.
func TestQueueTimeout(t *testing.T) {
	ts := startServer(t, ServerOptions{MaxConcurrent: 1, QueueTimeout: 50 * time.Millisecond})
	c := dial(t, ts.addr)
	first := make(chan error, 1)
	go func() { first <- c.Call(context.Background(), "block", nil) }()
	for ts.Stats().InFlight != 1 {
		time.Sleep(time.Millisecond)
	}
	begin := time.Now()
	err := c.Call(context.Background(), "echo", nil, "x")
	var se *ServerError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "server busy") || !strings.Contains(se.Message, "waited 50ms") {
		t.Fatalf("want busy after 50ms, got %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("shed after %v", d)
	}
	close(ts.release)
	if err := <-first; err != nil {
		t.Error(err)
	}
}

// A peer that closes its connection cancels its running handlers' ctx and drops its
// waiting calls, so abandoned work frees the slots.
func TestPeerCloseCancelsHandlers(t *testing.T) {
	ts := startServer(t, ServerOptions{MaxConcurrent: 1})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for i := range 3 {
		b, _ = codec.AppendRequest(b, uint32(i), "block")
	}
	nc.Write(b)
	for ts.Stats().InFlight != 1 || ts.Stats().Queued != 2 {
		time.Sleep(time.Millisecond)
	}
	nc.Close()
	c := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var s string
	if err := c.Call(ctx, "echo", &s, "after"); err != nil || s != "after" {
		t.Fatalf("echo after the abandoned calls: %q %v", s, err)
	}
}

// A client that pipelines requests and never reads its responses holds no handler slot
// and only a bounded amount of server memory: the server stops reading it.
func TestSlowReaderBounded(t *testing.T) {
	ts := startServer(t, ServerOptions{MaxConcurrent: 4})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req, _ := codec.AppendRequest(nil, 1, "echo", strings.Repeat("z", 32<<10))
	var written int64
	for written < 256<<20 {
		nc.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := nc.Write(req)
		written += int64(n)
		if err != nil {
			break
		}
	}
	if written >= 256<<20 {
		t.Fatalf("server kept reading a client that never reads (%d MiB)", written>>20)
	}
	if st := ts.Stats(); st.InFlight != 0 {
		t.Errorf("slow reader holds %d handler slots", st.InFlight)
	}
	c := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Call(ctx, "echo", nil, "other"); err != nil {
				t.Errorf("other client: %v", err)
			}
		}()
	}
	wg.Wait()
}

// Shutdown sends the goaway notification and keeps reading for DrainGrace: a
// request sent just after it began by a client that ignores goaway is answered.
func TestShutdownDrainGrace(t *testing.T) {
	ts := startServer(t, ServerOptions{DrainGrace: 300 * time.Millisecond})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	dec := codec.NewDecoder(nc, codec.Limits{})
	call := func(id uint32, v string) {
		t.Helper()
		b, _ := codec.AppendRequest(nil, id, "echo", v)
		if _, err := nc.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	call(1, "warm")
	var m codec.Message
	if err := dec.Next(&m); err != nil || m.Kind != codec.Response || m.ID != 1 {
		t.Fatalf("warm-up: %v %+v", err, m)
	}
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()
	if err := dec.Next(&m); err != nil || m.Kind != codec.Notification || m.Method != GoAwayMethod || string(m.Params) != "\x90" {
		t.Fatalf("want goaway notification [2, %q, []], got %v %+v", GoAwayMethod, err, m)
	}
	time.Sleep(50 * time.Millisecond)
	call(2, "late")
	var s string
	if err := dec.Next(&m); err != nil || m.Kind != codec.Response || m.ID != 2 || codec.Decode(m.Result, &s) != nil || s != "late" {
		t.Errorf("call during the drain grace: %v %+v %q", err, m, s)
	}
	if err := dec.Next(&m); err == nil {
		t.Errorf("connection not closed after the drain: %+v", m)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// A call of a proven-fast method that finds every handler slot busy waits on its
// connection's read loop (no goroutine of its own), counted as queued and shed after
// QueueTimeout; once a slot frees, the connection is served again.
func TestFastMethodWaitsOnReadLoop(t *testing.T) {
	ts := startServer(t, ServerOptions{MaxConcurrent: 1, QueueTimeout: 50 * time.Millisecond})
	fast, slow := dial(t, ts.addr), dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 2 * inlineMinCalls {
		if err := fast.Call(ctx, "echo", nil, "warm"); err != nil {
			t.Fatal(err)
		}
	}
	first := make(chan error, 1)
	go func() { first <- slow.Call(ctx, "block", nil) }()
	for ts.Stats().InFlight != 1 {
		time.Sleep(time.Millisecond)
	}
	err := fast.Call(ctx, "echo", nil, "x")
	var se *ServerError
	if !errors.As(err, &se) || !strings.Contains(se.Message, "waited 50ms") {
		t.Fatalf("want busy after 50ms, got %v", err)
	}
	if st := ts.Stats(); st.Queued != 0 || st.Shed != 1 {
		t.Errorf("stats after shedding %+v", st)
	}
	if err := fast.Notify(ctx, "echo", "waits"); err != nil {
		t.Fatal(err)
	}
	for ts.Stats().Queued != 1 {
		time.Sleep(time.Millisecond)
	}
	close(ts.release)
	if err := <-first; err != nil {
		t.Error(err)
	}
	var s string
	if err := fast.Call(ctx, "echo", &s, "after"); err != nil || s != "after" {
		t.Fatalf("echo after the slot freed: %q %v", s, err)
	}
	if st := ts.Stats(); st.Shed != 1 {
		t.Errorf("the waiting notification was dropped: %+v", st)
	}
}
