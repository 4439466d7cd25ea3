package transport

import (
	"context"
	"sync"
	"time"
)

// callCtx is the handler's ctx of an extended call: the connection's handler
// ctx plus the caller's deadline and metadata, cancelled by CancelMethod and
// when the handler returns. Its timer starts only once something asks for
// Done, so a handler that never waits on ctx costs one allocation, not a
// timer (context.WithDeadline would start one for every call).
type callCtx struct {
	c        *serverConn
	deadline time.Time // zero: none
	md       Metadata

	mu         sync.Mutex
	done       chan struct{} // made by Done; closed once err is set
	err        error
	timer      *time.Timer // the deadline, once Done was asked for
	stopParent func() bool // the hook on the connection's ctx, idem
}

func (x *callCtx) Deadline() (time.Time, bool) { return x.deadline, !x.deadline.IsZero() }

func (x *callCtx) Done() <-chan struct{} {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done != nil {
		return x.done
	}
	x.done = make(chan struct{})
	if x.err != nil {
		close(x.done)
		return x.done
	}
	if x.check(); x.err != nil { // check closed done
		return x.done
	}
	x.stopParent = context.AfterFunc(x.c.hctx, func() { x.end(x.c.hctx.Err()) })
	if !x.deadline.IsZero() {
		x.timer = time.AfterFunc(time.Until(x.deadline), func() { x.end(context.DeadlineExceeded) })
	}
	return x.done
}

func (x *callCtx) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.check()
	return x.err
}

// Value answers the metadata and passes other keys to the connection's ctx
// (through context.WithoutCancel, so context.Cause sees this ctx's Err).
func (x *callCtx) Value(key any) any {
	if _, ok := key.(metadataKey); ok && x.md != nil {
		return x.md
	}
	return x.c.vctx.Value(key)
}

// check sets err when the connection's ctx ended or the deadline passed
// (when no timer says so yet). Under mu.
func (x *callCtx) check() {
	if x.err != nil {
		return
	}
	if err := x.c.hctx.Err(); err != nil {
		x.setErr(err)
	} else if !x.deadline.IsZero() && !time.Now().Before(x.deadline) {
		x.setErr(context.DeadlineExceeded)
	}
}

// end ends the ctx with err (a no-op once ended).
func (x *callCtx) end(err error) {
	x.mu.Lock()
	if x.err == nil {
		x.setErr(err)
	}
	x.mu.Unlock()
}

// cancel ends the ctx (CancelMethod, or the call is over).
func (x *callCtx) cancel() { x.end(context.Canceled) }

// setErr records err, closes done and stops the timer and the hook. Under mu.
func (x *callCtx) setErr(err error) {
	x.err = err
	if x.done != nil {
		close(x.done)
	}
	if x.timer != nil {
		x.timer.Stop()
	}
	if x.stopParent != nil {
		x.stopParent()
	}
}

func (x *callCtx) String() string { return "transport.callCtx" }

var _ context.Context = (*callCtx)(nil)
