package transport

import (
	"context"
	"strings"
	"time"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/internal/wirectx"
)

// The client side of the per-call context extension (docs/WIRE.md,
// "Per-call context"). A Client sends HelloMethod as its first request,
// without waiting for the answer: calls go on plain meanwhile. Once the
// server answered it, a call whose ctx has a deadline or outgoing metadata
// is sent extended, and cancelled on the server (CancelMethod) when its ctx
// ends before the reply. A call with neither is sent plain, byte for byte
// as to a plain server, and its ctx's end is not sent: a ctx that can only
// be cancelled (no deadline) costs the server a context per call for
// nothing in the common case, so cancellation travels with deadlines. A call that needs the extension and is made before the
// hello's answer waits for it (within its ctx); a server that answers the
// hello with an error, or not within the dial timeout, is plain, and gets
// plain requests only.

// Hello states (Client.hello).
const (
	helloWaiting = iota // sent, not answered yet
	helloExt            // the server speaks the extension
	helloPlain          // a plain server, ClientOptions.Plain, or the client failed first
)

// helloID is the msgid of the hello, the client's first request.
const helloID = 0

// appendHello appends [0, helloID, HelloMethod, [{"v": ExtVersion}]].
func appendHello(b []byte) []byte {
	b = append(b, 0x94, 0x00, helloID)
	b = codec.AppendString(b, HelloMethod)
	return append(b, 0x91, 0x81, 0xa1, 'v', ExtVersion)
}

// sendHello queues the hello; the writer's background flusher sends it (a
// synchronous pipe such as net.Pipe would block NewClient otherwise).
func (c *Client) sendHello(wait time.Duration) {
	c.helloOpen = true
	c.helloWait = time.AfterFunc(wait, func() {
		c.mu.Lock()
		if c.helloOpen {
			c.log.Warn("transport: no answer to the per-call context hello: plain msgpack-rpc", "remote", c.addr, "after", wait)
		}
		c.endHelloLocked(helloPlain)
		c.mu.Unlock()
	})
	c.w.buf = appendHello(c.w.buf)
	c.w.busy = true
	c.w.kick <- struct{}{}
	if t, ok := c.rd.(*callerReads); ok {
		t.wake <- struct{}{} // read the answer even if no call comes
	}
}

// helloAnsweredLocked records the server's answer to the hello. c.mu held.
func (c *Client) helloAnsweredLocked(m *codec.Message) {
	st := uint32(helloPlain)
	if len(m.Error) == 1 && m.Error[0] == 0xc0 {
		var r struct {
			V int64 `msgpack:"v"`
		}
		if err := codec.Decode(m.Result, &r); err == nil && r.V >= 1 {
			st = helloExt
		}
	}
	if st == helloPlain {
		c.log.Debug("transport: plain msgpack-rpc server: no per-call context", "remote", c.addr, "answer", errorText(m.Error))
	}
	c.endHelloLocked(st)
}

// endHelloLocked settles the hello (answered, or the client failed). c.mu held.
func (c *Client) endHelloLocked(st uint32) {
	if !c.helloOpen {
		return
	}
	c.helloOpen = false
	c.helloWait.Stop()
	c.hello.Store(st)
	close(c.helloDone)
}

// awaitingLocked tells whether a response is awaited: a pending call or the
// hello's answer. c.mu held.
func (c *Client) awaitingLocked() bool { return len(c.pending) > 0 || c.helloOpen }

// callExt decides whether a call made with ctx is sent extended, and fills
// x for it: the caller's remaining time and metadata (of ctx, or of the
// context it names under wirectx.Key). It waits for the hello's answer when
// the call needs it. An error means the call cannot be sent. Only called
// while the hello is not known to have failed.
func (c *Client) callExt(ctx context.Context, x *codec.CallExt) (bool, error) {
	wire := ctx
	if w, ok := ctx.Value(wirectx.Key{}).(context.Context); ok {
		wire = w
	}
	dl, hasDL := wire.Deadline()
	md := OutgoingMetadata(wire)
	if !hasDL && md == nil {
		return false, nil // nothing to carry
	}
	if err := checkOutgoing(md); err != nil {
		return false, err
	}
	st := c.hello.Load()
	if st == helloWaiting {
		select {
		case <-c.helloDone:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		st = c.hello.Load()
	}
	if st != helloExt {
		return false, nil
	}
	if hasDL {
		d := time.Until(dl).Microseconds()
		if d <= 0 {
			return false, context.DeadlineExceeded
		}
		x.Timeout, x.HasTimeout = d, true
	}
	x.Meta = md
	return true, nil
}

// appendRequestExt appends the extended request [0, id, method, params, ext].
func appendRequestExt(b []byte, id uint32, method string, args Args, list []any, x *codec.CallExt) ([]byte, error) {
	b = append(b, 0x95, 0x00)
	b = codec.AppendUint(b, uint64(id))
	b = codec.AppendString(b, method)
	b, err := appendParams(b, args, list)
	if err != nil {
		return b, err
	}
	return codec.AppendCallExt(b, *x), nil
}

// appendNotificationExt appends the extended notification [2, method, params, ext].
func appendNotificationExt(b []byte, method string, args Args, list []any, x *codec.CallExt) ([]byte, error) {
	b = append(b, 0x94, 0x02)
	b = codec.AppendString(b, method)
	b, err := appendParams(b, args, list)
	if err != nil {
		return b, err
	}
	return codec.AppendCallExt(b, *x), nil
}

// sendCancel tells the server the caller gave up the extended call id. It
// never waits: with the write queue full the cancel is dropped (the server
// still answers the call, and the answer is discarded).
func (c *Client) sendCancel(id uint32) {
	if c.w.lock(doneCtx) != nil {
		return
	}
	c.w.buf = append(c.w.buf, 0x93, 0x02)
	c.w.buf = codec.AppendString(c.w.buf, CancelMethod)
	c.w.buf = codec.AppendUint(append(c.w.buf, 0x91), uint64(id))
	_ = c.w.commit(true)
}

// ctxErrOf is the context error a server's answer to an extended call
// stands for: its deadline passed or it was cancelled, before or while its
// handler ran (DeadlineMessage, CanceledMessage); nil for other answers.
func ctxErrOf(msg string) error {
	switch {
	case strings.HasPrefix(msg, DeadlineMessage+":"):
		return context.DeadlineExceeded
	case strings.HasPrefix(msg, CanceledMessage+":"):
		return context.Canceled
	}
	return nil
}
