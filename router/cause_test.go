package router

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// lateCtx is a caller's context whose deadline has passed while its timer
// has not fired yet (Err is nil, Done is open): what the router sees when a
// socket deadline set to the same instant fires first.
type lateCtx struct {
	context.Context
	dl time.Time
}

func (c lateCtx) Deadline() (time.Time, bool) { return c.dl, true }

func late() context.Context {
	return lateCtx{Context: context.Background(), dl: time.Now().Add(-time.Millisecond)}
}

// socketTimeout is what the transport returns when the read deadline (the
// attempt's deadline) fired before any context timer did.
var socketTimeout = func(ctx context.Context, c *fakeConn, method string) error {
	return fmt.Errorf("transport: %s: %w", method, context.DeadlineExceeded)
}

// TestAttemptTimeoutBeforeTimer: the transport reports the attempt's
// deadline (CallTimeout) while no context has ended yet. That is the server
// not answering in time: it is ejected, and an idempotent call is retried on
// another server, whatever kind of context the caller passed.
func TestAttemptTimeoutBeforeTimer(t *testing.T) {
	ctxs := map[string]func() (context.Context, context.CancelFunc){
		"background":  func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
		"cancellable": func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		"long deadline": func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Hour)
		},
	}
	for name, mk := range ctxs {
		for _, idem := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/idempotent=%v", name, idem), func(t *testing.T) {
				n := newFakeNet()
				opts := n.options()
				opts.ProbeInterval = time.Hour
				c := newFake(t, n, hashringConfig("a:1", "b:1", "c:1"), opts)
				slow := owner(c)
				n.set(func(n *fakeNet) { n.handler[slow] = socketTimeout })
				ctx, cancel := mk()
				defer cancel()
				var got string
				err := c.Call(ctx, "whoami", &got, nil, CallOptions{Idempotent: idem})
				if idem {
					if err != nil || got == slow {
						t.Fatalf("idempotent call: %q, %v; want an answer from another server", got, err)
					}
				} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not retried") {
					t.Fatalf("non-idempotent call: %v; want a timeout, not retried", err)
				}
				if owner(c) == slow {
					t.Fatal("the server that timed out was not ejected")
				}
			})
		}
	}
}

// TestCallerDeadlineDuringDial: the caller's deadline ends while its
// attempt dials (the dial's timeout fires before the ctx's timer). That is
// the caller's deadline: the call ends with it, no other server is tried
// and one such timeout does not eject the server.
func TestCallerDeadlineDuringDial(t *testing.T) {
	n := newFakeNet()
	c := newFake(t, n, hashringConfig("a:1", "b:1", "c:1"), n.options())
	slow := owner(c)
	dialTimeout := &net.OpError{Op: "dial", Net: "tcp", Err: context.DeadlineExceeded}
	n.set(func(n *fakeNet) { n.dialErr[slow] = dialTimeout })
	err := c.Call(late(), "whoami", nil, nil, CallOptions{Idempotent: true})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want the caller's deadline", err)
	}
	if owner(c) != slow {
		t.Error("one dial cut short by the caller's deadline ejected the server")
	}
	for _, a := range []string{"a:1", "b:1", "c:1"} {
		if a != slow && n.count(n.dials, a) != 0 {
			t.Errorf("%s dialled after the caller's deadline", a)
		}
	}
	// The same dial timeout within the caller's time is the server's.
	if _, err := call(c, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	if owner(c) == slow {
		t.Fatal("not ejected")
	}
}

// TestCallerDeadlineTimeoutsEject: calls whose caller deadline is shorter
// than CallTimeout never see the attempt's own timeout. Each one that runs
// out of time on a server counts against it: three in a row eject it; an
// answer in between resets the count.
func TestCallerDeadlineTimeoutsEject(t *testing.T) {
	n := newFakeNet()
	opts := n.options()
	opts.ProbeInterval = time.Hour
	c := newFake(t, n, hashringConfig("a:1", "b:1", "c:1"), opts)
	slow := owner(c)
	n.set(func(n *fakeNet) { n.handler[slow] = socketTimeout })
	timeout := func() {
		t.Helper()
		err := c.Call(late(), "whoami", nil, nil, CallOptions{Idempotent: true})
		if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "attempts") {
			t.Fatalf("got %v; want the caller's deadline after one attempt", err)
		}
	}
	timeout()
	timeout()
	n.set(func(n *fakeNet) { delete(n.handler, slow) })
	if got, err := call(c, CallOptions{}); err != nil || got != slow {
		t.Fatalf("%q, %v", got, err)
	}
	n.set(func(n *fakeNet) { n.handler[slow] = socketTimeout })
	timeout()
	timeout()
	if owner(c) != slow {
		t.Fatal("ejected after 2 consecutive timeouts (an answer came between)")
	}
	timeout()
	if owner(c) == slow {
		t.Fatal("not ejected after 3 consecutive timeouts")
	}
	if got, err := call(c, CallOptions{}); err != nil || got == slow {
		t.Fatalf("after ejection: %q, %v", got, err)
	}
}

// TestProbeBackoff: a down server's probe delay starts at ProbeInterval,
// doubles while probes fail, up to MaxProbeInterval; a server ejected again
// soon after its readmission keeps its doubled delay, one that stayed up
// for MaxProbeInterval starts again at ProbeInterval.
func TestProbeBackoff(t *testing.T) {
	ms := time.Millisecond
	e := &endpoint{addr: "a:1", minBackoff: ms, maxBackoff: ms, minProbe: 10 * ms, maxProbe: 80 * ms}
	next := func() time.Duration {
		t.Helper()
		if due, _ := e.probeDue(time.Now()); due {
			t.Fatal("probe due at once")
		}
		return e.probeDelay()
	}
	if !e.fail(errRefused, nil, false) {
		t.Fatal("not down")
	}
	for _, want := range []time.Duration{10, 20, 40, 80, 80} {
		if got := next(); got != want*ms {
			t.Fatalf("probe delay %v, want %v", got, want*ms)
		}
		e.probeFailed(errRefused)
	}
	e.revive() // ejected again at once: flapping
	e.fail(errRefused, nil, false)
	if got := next(); got != 80*ms {
		t.Fatalf("after a quick re-ejection: %v, want 80ms", got)
	}
	e.revive()
	e.mu.Lock()
	e.upSince = time.Now().Add(-time.Second) // stayed up longer than MaxProbeInterval
	e.mu.Unlock()
	e.fail(errRefused, nil, false)
	if got := next(); got != 10*ms {
		t.Fatalf("after a long healthy period: %v, want 10ms", got)
	}
	e.revive()
	e.fail(errRefused, nil, false)
	if got := next(); got != 20*ms {
		t.Fatalf("after one quick re-ejection: %v, want 20ms", got)
	}
}
