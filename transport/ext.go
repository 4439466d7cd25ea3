package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// The per-call context extension (docs/WIRE.md, "Per-call context"): after
// a HelloMethod exchange on a connection, a request may carry the caller's
// remaining time and metadata as a fifth element, and the caller may cancel a
// call with a CancelMethod notification. Plain msgpack-rpc peers never see
// any of it.
const (
	// ReservedPrefix starts the method names of svrkit's protocol; a Server
	// refuses to register one, and answers a call of one it does not define
	// with an error.
	ReservedPrefix = "$svrkit."
	// HelloMethod is the request [0, id, "$svrkit.hello", [{"v": 1}]] with
	// which a client asks for the extension on its connection; a svrkit
	// server answers [1, id, nil, {"v": 1}].
	HelloMethod = "$svrkit.hello"
	// CancelMethod is the notification [2, "$svrkit.cancel", [msgid]]: the
	// caller gave up the call msgid on this connection; its handler's ctx is
	// cancelled (a call not started yet is answered CanceledMessage). Unknown
	// and finished ids are ignored.
	CancelMethod = "$svrkit.cancel"
	// ExtVersion is the extension version this package speaks.
	ExtVersion = 1
)

// DeadlineMessage starts the error string of a request not run because the
// caller's deadline passed before it started (on arrival, or while it waited
// for a handler slot).
const DeadlineMessage = "deadline exceeded"

// CanceledMessage starts the error string of a request not run because its
// caller cancelled it (CancelMethod) before it started.
const CanceledMessage = "canceled"

// helloReply is the result {"v": ExtVersion}.
var helloReply = codec.Raw{0x81, 0xa1, 'v', ExtVersion}

// hello answers HelloMethod and turns the extension on for the connection.
func (c *serverConn) hello(m *codec.Message) {
	if m.Kind != codec.Request {
		c.notifyFailed(m.Method, "must be a request")
		return
	}
	var h struct {
		V int64 `msgpack:"v"`
	}
	if err := codec.DecodeParams(m.Params, []string{"hello"}, &h); err != nil || h.V < 1 {
		why := "version below 1"
		if err != nil {
			why = err.Error()
		}
		c.respond(m.ID, m.Method, nil, fmt.Errorf(`%s: want params [{"v": <version, 1 or more>}]: %s`, m.Method, why))
		return
	}
	c.ext = true
	c.respond(m.ID, m.Method, helloReply, nil)
}

// cancelCall handles CancelMethod: cancels the ctx of the call it names.
func (c *serverConn) cancelCall(m *codec.Message) {
	if m.Kind != codec.Notification {
		c.respond(m.ID, m.Method, nil, fmt.Errorf("%s must be sent as a notification", m.Method))
		return
	}
	var id int64
	err := codec.DecodeParams(m.Params, []string{"msgid"}, &id)
	if err == nil && (id < 0 || id > 1<<32-1) {
		err = fmt.Errorf("msgid %d out of uint32 range", id)
	}
	if err != nil {
		c.notifyFailed(m.Method, err.Error())
		return
	}
	c.cmu.Lock()
	cx := c.cancels[uint32(id)]
	c.cmu.Unlock()
	if cx != nil {
		cx.cancel()
	}
}

// withExt applies an extended message's ext to j: the handler's ctx gets the
// caller's deadline and metadata, and a request run in its own goroutine can
// be cancelled by CancelMethod. False when j was answered instead (ext before
// hello, a bad ext, a deadline already passed); the caller finishes j.
func (c *serverConn) withExt(j *job, raw []byte) bool {
	if !c.ext {
		c.refuse(j, "extended "+kindName(j.kind)+" before "+HelloMethod+" on this connection")
		return false
	}
	x, err := codec.ParseCallExt(raw)
	if err != nil {
		c.refuse(j, "bad call context: "+err.Error())
		return false
	}
	cx := &callCtx{c: c, md: Metadata(x.Meta)}
	if x.HasTimeout {
		if x.Timeout <= 0 {
			c.expired(j, "on arrival")
			return false
		}
		cx.deadline = time.Now().Add(time.Duration(x.Timeout) * time.Microsecond)
	}
	j.cx = cx
	// A call run on the read loop ends before the loop reads a cancel for it.
	if j.slot && j.kind == codec.Request {
		c.cmu.Lock()
		if c.cancels == nil {
			c.cancels = make(map[uint32]*callCtx)
		}
		c.cancels[j.id] = cx
		c.cmu.Unlock()
		j.reg = true
	}
	return true
}

// endExt ends j's ctx (the call is over) and forgets it.
func (c *serverConn) endExt(j *job) {
	if j.reg {
		c.cmu.Lock()
		if c.cancels[j.id] == j.cx {
			delete(c.cancels, j.id)
		}
		c.cmu.Unlock()
	}
	j.cx.cancel()
}

// started tells whether the extended call j may start now; if not (its
// deadline passed or it was cancelled) it answers j.
func (c *serverConn) started(j *job) bool {
	if j.cx.Err() != nil {
		c.ended(j, "before it started")
		return false
	}
	return true
}

// ended answers j, whose own ctx ended before it ran: deadline or cancel. A
// call whose connection is going gets no answer.
func (c *serverConn) ended(j *job, when string) {
	switch {
	case c.hctx.Err() != nil:
	case errors.Is(j.cx.Err(), context.DeadlineExceeded):
		c.expired(j, when)
	case j.kind == codec.Request:
		c.respond(j.id, j.method, nil, errors.New(CanceledMessage+": "+j.method+" not run: the caller cancelled it "+when))
	}
}

// ctxEnded is the answer to the extended call j whose handler returned err:
// when err is (or wraps) the error with which the call's own ctx ended (its
// deadline passed, or its caller cancelled it), the answer starts with
// DeadlineMessage or CanceledMessage ("deadline exceeded: <method>: <err>"),
// so that the caller can tell; otherwise err.
func (c *serverConn) ctxEnded(j *job, err error) error {
	cerr := j.cx.Err()
	if cerr == nil || c.hctx.Err() != nil || !errors.Is(err, cerr) {
		return err
	}
	prefix := CanceledMessage
	if cerr == context.DeadlineExceeded {
		prefix = DeadlineMessage
	}
	return fmt.Errorf("%s: %s: %w", prefix, j.method, err)
}

// expired answers j DeadlineMessage without running it.
func (c *serverConn) expired(j *job, when string) {
	c.s.expired.Add(1)
	if j.kind != codec.Request {
		c.s.log.Debug("transport: notification dropped: deadline exceeded", "method", j.method, "when", when)
		return
	}
	c.respond(j.id, j.method, nil, errors.New(DeadlineMessage+": "+j.method+" not run: the caller's deadline passed "+when))
}

// refuse answers j with "<method>: why" without running it.
func (c *serverConn) refuse(j *job, why string) {
	if j.kind != codec.Request {
		c.notifyFailed(j.method, why)
		return
	}
	c.respond(j.id, j.method, nil, errors.New(j.method+": "+why))
}

func kindName(kind int) string {
	if kind == codec.Request {
		return "request"
	}
	return "notification"
}

// reserved answers a call of a name under ReservedPrefix that the protocol
// does not define.
func (c *serverConn) reserved(m *codec.Message) {
	why := "reserved for the svrkit protocol, not a method"
	if m.Kind == codec.Request {
		c.respond(m.ID, m.Method, nil, fmt.Errorf("'%s' is %s", m.Method, why))
		return
	}
	c.notifyFailed(m.Method, why)
}

func isReserved(name string) bool { return strings.HasPrefix(name, ReservedPrefix) }
