package router

import (
	"context"
	"testing"
	"time"

	"github.com/svrkit/svrkit/internal/wirectx"
)

func TestAttemptCtx(t *testing.T) {
	c := &Client{opts: Options{CallTimeout: 160 * time.Millisecond}}
	d := c.opts.CallTimeout

	// Never-cancelled caller: a shared context ending within CallTimeout.
	start := time.Now()
	a, rel := c.attemptCtx(context.Background())
	if rel != nil {
		t.Fatal("shared context has a release")
	}
	end := time.Now()
	dl, ok := a.Deadline()
	if !ok || dl.After(end.Add(d)) || dl.Before(start.Add(d-d/16-time.Millisecond)) {
		t.Fatalf("deadline %v, want within (%v - %v/16, %v] of now", dl.Sub(start), d, d, d)
	}
	b, _ := c.attemptCtx(context.Background())
	if a != b {
		t.Error("second attempt did not share the context")
	}

	// Values of the caller's context stay visible.
	k, _ := c.attemptCtx(WithKey(context.Background(), "k1"))
	if got := keyOf(k, CallOptions{}).Key; got != "k1" {
		t.Errorf("key %q through the attempt context, want k1", got)
	}
	if kdl, _ := k.Deadline(); !kdl.Equal(dl) {
		t.Errorf("keyed attempt deadline %v, want the shared %v", kdl, dl)
	}
	// Cancel registrations on it need no goroutine and see its end.
	fired := make(chan struct{})
	stop := context.AfterFunc(k, func() { close(fired) })
	defer stop()
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc on the attempt context never ran")
	}
	if k.Err() != context.DeadlineExceeded {
		t.Errorf("Err %v, want DeadlineExceeded", k.Err())
	}

	// A caller deadline before CallTimeout: the caller's context itself.
	short, cs := context.WithTimeout(context.Background(), d/2)
	defer cs()
	if s, rel := c.attemptCtx(short); s != short || rel != nil {
		t.Error("short caller deadline not used as is")
	}

	// A cancellable caller with a later deadline: a context derived from
	// it, shared by its attempts, cancelled once replaced and released.
	long, cl := context.WithTimeout(context.Background(), time.Hour)
	defer cl()
	l1, r1 := c.attemptCtx(long)
	l2, r2 := c.attemptCtx(long)
	if r1 == nil || r2 == nil || l1 != l2 {
		t.Fatal("attempts with the same caller context do not share")
	}
	if l1.Value(keyCtx{}) != nil {
		t.Error("unexpected value")
	}
	other, co := context.WithCancel(WithKey(context.Background(), "k2"))
	defer co()
	o, ro := c.attemptCtx(other)
	if got := keyOf(o, CallOptions{}).Key; got != "k2" {
		t.Errorf("key %q through the derived context, want k2", got)
	}
	r1.release()
	if l1.Err() != nil {
		t.Error("replaced context cancelled while in use")
	}
	r2.release()
	if l1.Err() == nil {
		t.Error("replaced context not cancelled after its last release")
	}
	co()
	if o.Err() == nil {
		t.Error("derived context not cancelled with the caller's")
	}
	ro.release()
	l3, r3 := c.attemptCtx(long)
	if l3 == l1 || l3.Err() != nil {
		t.Error("cancelled context handed out again")
	}
	r3.release()
}

// TestAttemptCtxWire: every attempt context tells the transport to send
// the caller's deadline and metadata, never the router's CallTimeout.
func TestAttemptCtxWire(t *testing.T) {
	c := &Client{opts: Options{CallTimeout: time.Hour}}
	defer c.deadlines.close()
	long, cl := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cl()
	short, cs := context.WithTimeout(context.Background(), time.Minute)
	defer cs()
	for _, caller := range []context.Context{context.Background(), WithKey(context.Background(), "k"), long, short} {
		a, rel := c.attemptCtx(caller)
		wire := a
		if w, ok := a.Value(wirectx.Key{}).(context.Context); ok {
			wire = w
		}
		if wire != caller {
			t.Errorf("attempt context of %v sends another context's deadline", caller)
		}
		if rel != nil {
			rel.release()
		}
	}
}
