package router

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svrkit/svrkit/internal/wirectx"
)

// attemptCtx is the context of one attempt: ctx bounded by CallTimeout.
//
// A fresh context.WithTimeout per attempt costs a timer, a context and, in
// the transport, a new read deadline and a cancel registration on it. So:
//   - when ctx already ends within CallTimeout, ctx itself is used;
//   - when ctx can never be cancelled (Background, WithKey on it), the
//     attempt shares a deadline context with the client's other attempts,
//     made at most every CallTimeout/16: each attempt gets between 15/16 of
//     CallTimeout (a little less when timers run late) and CallTimeout,
//     never more;
//   - otherwise a context.WithDeadline of the caller's context with the
//     shared context's deadline, itself shared by the attempts made with
//     the same caller context (a long-lived one, such as a server's or
//     signal.NotifyContext's) until a newer shared deadline replaces it.
//     Sharing one deadline also lets the transport keep its read deadline
//     instead of moving it per call.
//
// The attempt context says (internal/wirectx) that the deadline and metadata
// sent to the server are ctx's, not the router's CallTimeout.
//
// The caller releases shared, when not nil, once the attempt is over.
func (c *Client) attemptCtx(ctx context.Context) (actx context.Context, shared *derived) {
	d := c.opts.CallTimeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return ctx, nil
	}
	s := c.deadlines.get(d)
	if ctx.Done() != nil {
		a, d := c.deadlines.derive(ctx, s)
		return a, d
	}
	if ctx == context.Background() {
		return s, nil
	}
	return &valuesCtx{Context: s, values: ctx}, nil
}

// sharedDeadline hands out deadline contexts shared by concurrent attempts.
type sharedDeadline struct {
	cur  atomic.Pointer[deadlineCtx]
	last atomic.Pointer[derived]
	mu   sync.Mutex
}

// derived is an attempt context derived from a cancellable caller's, shared
// by the attempts made with that caller context. It is cancelled once it is
// replaced and no attempt uses it any more.
type derived struct {
	parent   context.Context
	ptype    reflect.Type // comparable
	deadline time.Time
	ctx      context.Context
	cancel   context.CancelFunc
	refs     atomic.Int64 // attempts using ctx
	replaced atomic.Bool
}

// release ends one attempt's use of d.
func (d *derived) release() {
	if d.refs.Add(-1) == 0 && d.replaced.Load() {
		d.cancel()
	}
}

// derive returns ctx bounded by the deadline of shared, reusing the last one
// made for the same ctx and deadline. The caller releases d when done.
func (s *sharedDeadline) derive(ctx, shared context.Context) (context.Context, *derived) {
	dl, _ := shared.Deadline()
	t := reflect.TypeOf(ctx)
	if d := s.last.Load(); d != nil && d.ptype == t && d.parent == ctx && d.deadline.Equal(dl) {
		d.refs.Add(1)
		if !d.replaced.Load() {
			return d.ctx, d
		}
		d.release()
	}
	a, cancel := context.WithDeadline(ctx, dl)
	d := &derived{parent: ctx, ptype: t, deadline: dl, ctx: wireFrom(a, ctx), cancel: cancel}
	d.refs.Store(1)
	if !t.Comparable() {
		d.replaced.Store(true) // never shared: cancelled on release
		return d.ctx, d
	}
	if old := s.last.Swap(d); old != nil {
		old.replaced.Store(true)
		if old.refs.Load() == 0 {
			old.cancel()
		}
	}
	return d.ctx, d
}

// close releases the last derived context, once no attempt uses it, and
// stops the current shared context's stale timer.
func (s *sharedDeadline) close() {
	if cur := s.cur.Load(); cur != nil {
		cur.expire.Stop()
	}
	if old := s.last.Swap(nil); old != nil {
		old.replaced.Store(true)
		if old.refs.Load() == 0 {
			old.cancel()
		}
	}
}

type deadlineCtx struct {
	ctx      context.Context
	deadline time.Time
	cancel   context.CancelFunc // never called early: attempts may still use ctx
	stale    atomic.Bool        // set d/16 after it was made, by expire
	expire   *time.Timer
}

// get returns a context ending between now+d-d/16 and now+d (a few
// milliseconds sooner when the runtime runs timers late). A timer marks the
// current one stale after d/16, so that get reads no clock per call (on some
// VMs a clock read costs more than the rest of the routing).
func (s *sharedDeadline) get(d time.Duration) context.Context {
	if cur := s.cur.Load(); cur != nil && !cur.stale.Load() {
		return cur.ctx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.cur.Load(); cur != nil && !cur.stale.Load() {
		return cur.ctx
	}
	dl := time.Now().Add(d)
	// Its timer releases it at dl.
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	dc := &deadlineCtx{ctx: wireFrom(ctx, context.Background()), deadline: dl, cancel: cancel}
	dc.expire = time.AfterFunc(d/16, func() { dc.stale.Store(true) })
	s.cur.Store(dc)
	return dc.ctx
}

// wireFrom is attempt, whose deadline is the router's own (CallTimeout),
// telling the transport to send the deadline and metadata of caller instead
// (internal/wirectx).
func wireFrom(attempt, caller context.Context) context.Context {
	return context.WithValue(attempt, wirectx.Key{}, caller)
}

// valuesCtx is a shared deadline context carrying the values of the
// caller's (never cancelled) context.
type valuesCtx struct {
	context.Context // the shared deadline context
	values          context.Context
}

func (v *valuesCtx) Value(key any) any {
	if _, ok := key.(wirectx.Key); ok {
		return v.values
	}
	if x := v.values.Value(key); x != nil {
		return x
	}
	// The deadline context's own keys, so that context.AfterFunc and
	// WithCancel on this context register with it instead of starting a
	// goroutine.
	return v.Context.Value(key)
}
