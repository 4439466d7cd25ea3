package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// turnHarness is a Client on a net.Pipe whose server end the test drives by
// hand, with every move of the turn to read recorded.
type turnHarness struct {
	t     *testing.T
	c     *Client
	cr    *callerReads
	srv   net.Conn
	dec   *codec.Decoder
	moved chan string // "from>to", in order

	mu   sync.Mutex
	seen map[string]bool
}

// turnEdges are the transitions of callerReads's state diagram.
var turnEdges = map[string]bool{"free>caller": true, "caller>free": true, "free>watcher": true, "watcher>caller": true}

func newTurnHarness(t *testing.T) *turnHarness {
	cli, srv := net.Pipe()
	h := &turnHarness{t: t, c: NewClient(cli, ClientOptions{Plain: true}), srv: srv, dec: codec.NewDecoder(srv, codec.Limits{}),
		moved: make(chan string, 1000), seen: map[string]bool{}}
	h.cr = h.c.rd.(*callerReads)
	h.c.mu.Lock()
	h.cr.trace = func(from, to turnState) {
		e := from.String() + ">" + to.String()
		h.mu.Lock()
		h.seen[e] = true
		h.mu.Unlock()
		h.moved <- e
	}
	h.c.mu.Unlock()
	t.Cleanup(func() {
		h.c.Close()
		srv.Close()
		h.mu.Lock()
		defer h.mu.Unlock()
		for e := range h.seen {
			if !turnEdges[e] {
				t.Errorf("transition %s is not in the state diagram", e)
			}
		}
	})
	return h
}

// await returns once the turn moved along edge (skipping other moves).
func (h *turnHarness) await(edge string) {
	h.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-h.moved:
			if e == edge {
				return
			}
		case <-timeout:
			h.t.Fatalf("the turn never moved %s", edge)
		}
	}
}

// request reads the next request the client sent.
func (h *turnHarness) request() uint32 {
	h.t.Helper()
	var m codec.Message
	if err := h.dec.Next(&m); err != nil || m.Kind != codec.Request {
		h.t.Fatalf("request: %v %v", m.Kind, err)
	}
	return m.ID
}

func (h *turnHarness) answer(id uint32, v string) {
	h.t.Helper()
	b, _ := codec.AppendResponse(nil, id, "", v)
	if _, err := h.srv.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

// call starts a call of "m"; its result comes on the channel.
func (h *turnHarness) call(ctx context.Context) <-chan string {
	res := make(chan string, 1)
	go func() {
		var s string
		if err := h.c.Call(ctx, "m", &s); err != nil {
			s = "error: " + err.Error()
		}
		res <- s
	}()
	return res
}

func (h *turnHarness) state() turnState {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	return h.cr.state
}

// TestCallerReadsTransitions drives every transition of callerReads's state
// diagram, and the ways a reader's turn ends (its response, its ctx, a
// failure, a stale interruption), checking that the turn moves only along
// the diagram's edges.
func TestCallerReadsTransitions(t *testing.T) {
	bg := context.Background()

	t.Run("take/release", func(t *testing.T) {
		h := newTurnHarness(t)
		res := h.call(bg)
		id := h.request() // net.Pipe: the write returns once read
		h.await("free>caller")
		h.answer(id, "a")
		h.await("caller>free")
		if got := <-res; got != "a" {
			t.Fatal(got)
		}
	})

	t.Run("idle watch, then hand to a lone caller", func(t *testing.T) {
		h := newTurnHarness(t)
		h.await("free>watcher") // idle
		res := h.call(bg)       // kicks the watcher
		id := h.request()
		h.await("watcher>caller")
		h.answer(id, "b")
		h.await("caller>free")
		if got := <-res; got != "b" {
			t.Fatal(got)
		}
	})

	t.Run("watch for pending calls", func(t *testing.T) {
		h := newTurnHarness(t)
		first := h.call(bg)
		id1 := h.request()
		h.await("free>caller")
		second := h.call(bg) // waits: the first call's goroutine reads
		id2 := h.request()
		h.answer(id1, "1")
		if got := <-first; got != "1" {
			t.Fatal(got)
		}
		// The reader left with the second call pending: the watcher reads for it.
		h.await("free>watcher")
		h.answer(id2, "2")
		if got := <-second; got != "2" {
			t.Fatal(got)
		}
	})

	t.Run("reader's ctx ends", func(t *testing.T) {
		h := newTurnHarness(t)
		ctx, cancel := context.WithCancel(bg)
		res := h.call(ctx)
		id := h.request()
		h.await("free>caller")
		cancel()
		h.await("caller>free")
		if got := <-res; !strings.Contains(got, context.Canceled.Error()) {
			t.Fatal(got)
		}
		if n := h.c.Pending(); n != 0 {
			t.Fatalf("%d pending", n)
		}
		h.answer(id, "late") // discarded
		res = h.call(bg)
		h.answer(h.request(), "next")
		if got := <-res; got != "next" {
			t.Fatal(got)
		}
	})

	t.Run("stale interruption", func(t *testing.T) {
		h := newTurnHarness(t)
		res := h.call(bg)
		id := h.request()
		h.await("free>caller")
		h.c.mu.Lock()
		h.cr.interruptLocked() // as a hook meant for an earlier reader would
		h.c.mu.Unlock()
		h.answer(id, "c")
		if got := <-res; got != "c" {
			t.Fatal(got)
		}
	})

	t.Run("socket deadline before ctx timer", func(t *testing.T) {
		h := newTurnHarness(t)
		// A ctx whose deadline passes long before it ends: its timer is late.
		inner, cancel := context.WithCancel(bg)
		ctx := lateCtx{inner, time.Now().Add(5 * time.Millisecond)}
		res := h.call(ctx)
		h.request()
		h.await("free>caller")
		// The read deadline has fired or will; the call must not return
		// before ctx ends.
		time.Sleep(20 * time.Millisecond)
		select {
		case got := <-res:
			t.Fatalf("returned before its ctx ended: %s", got)
		default:
		}
		cancel()
		if got := <-res; !strings.Contains(got, context.Canceled.Error()) {
			t.Fatal(got)
		}
		if h.state() != turnFree && h.state() != turnWatcher {
			t.Fatalf("turn %v after the reader left", h.state())
		}
	})

	t.Run("connection fails under a reading caller", func(t *testing.T) {
		h := newTurnHarness(t)
		res := h.call(bg)
		h.request()
		h.await("free>caller")
		h.srv.Close()
		if got := <-res; !strings.Contains(got, strings.TrimPrefix(ErrBroken.Error(), "transport: ")) {
			t.Fatal(got)
		}
		<-h.c.Done()
	})

	t.Run("connection fails under the watcher", func(t *testing.T) {
		h := newTurnHarness(t)
		h.await("free>watcher")
		h.srv.Close()
		<-h.c.Done()
		if !errors.Is(h.c.Err(), ErrBroken) {
			t.Fatal(h.c.Err())
		}
	})
}

// lateCtx is a ctx whose Deadline is dl but which ends only when its
// Context does.
type lateCtx struct {
	context.Context
	dl time.Time
}

func (c lateCtx) Deadline() (time.Time, bool) { return c.dl, true }

// TestDeadlineErrorIsCtxs: a call whose deadline passes returns an error
// wrapping context.DeadlineExceeded, and its ctx has ended by then, whichever
// of the socket's deadline and ctx's timer fired first: so a caller looking
// at ctx.Err() (as the router does) classifies it as a timeout.
func TestDeadlineErrorIsCtxs(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)
		for i := range 30 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%5)*time.Millisecond)
			err := c.Call(ctx, "block", nil)
			ctxErr := ctx.Err()
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) || ctxErr == nil {
				t.Fatalf("call %d: %v, ctx.Err() %v", i, err, ctxErr)
			}
		}
		var s string
		if err := c.Call(context.Background(), "echo", &s, "ok"); err != nil || s != "ok" {
			t.Fatal(fmt.Sprint(s, err))
		}
	})
}
