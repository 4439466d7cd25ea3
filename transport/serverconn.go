package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// serverConn is one accepted connection. Its references are the current read
// loop and every dispatched call; the connection closes when the last goes.
type serverConn struct {
	s        *Server
	nc       net.Conn
	dec      *codec.Decoder
	w        connWriter
	ctx      context.Context
	cancel   context.CancelFunc
	refs     atomic.Int32
	draining atomic.Bool
	closed   atomic.Bool
}

// Inline dispatch: a call runs on the read loop (no goroutine hop) when its
// method has proven fast: at least
// inlineMinCalls calls so far and a decaying maximum run time under
// inlineMaxCost. Everything else runs in its own goroutine, so a slow method
// cannot hold up the requests behind it (beyond, at worst, one call of a
// method that was fast until then). Responses to a batch of inline calls
// read at once are written together (cork/uncork).
const (
	inlineMinCalls = 16
	inlineMaxCost  = 200 * time.Microsecond
)

// method is a registered handler with its run-time statistics.
type method struct {
	h     Handler
	calls atomic.Int64
	cost  atomic.Int64 // ns; jumps to a slow run, decays by 1/4 per faster run
}

func (m *method) inlineOK() bool {
	return m.calls.Load() >= inlineMinCalls && m.cost.Load() < int64(inlineMaxCost)
}

func (m *method) record(d time.Duration) {
	old := m.cost.Load()
	m.cost.Store(max(int64(d), old-old/4))
	m.calls.Add(1)
}

func newServerConn(s *Server, nc net.Conn) *serverConn {
	c := &serverConn{s: s, nc: nc, dec: codec.NewDecoder(nc, s.opts.Limits)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.w.conn = nc
	c.w.onErr = func(err error) { c.closeHard(err) }
	c.refs.Store(1) // the read loop
	return c
}

// job is one dispatched call; pooled.
type job struct {
	c      *serverConn
	h      *method
	method string
	id     uint32
	kind   int
	params []byte // the call's params: the decoder's bytes (inline) or buf
	buf    []byte // owned copy for calls run in their own goroutine
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

// readLoop reads messages and dispatches them (see inlineMinCalls for when
// a call runs inline on this goroutine rather than in its own).
func (c *serverConn) readLoop() {
	s := c.s
	var m codec.Message
	corked := false
	for {
		if corked && !c.dec.Ready() {
			c.w.uncork() // the batch is done: one write for its responses
			corked = false
		}
		if err := c.dec.Next(&m); err != nil {
			if corked {
				c.w.uncork()
			}
			c.readFailed(err)
			c.release()
			return
		}
		if m.Kind == codec.Response {
			s.log.Debug("transport: ignoring response sent to server", "remote", c.nc.RemoteAddr())
			continue
		}
		s.calls.Add(1)
		h := s.handlers[m.Method]
		if h == nil {
			if m.Kind == codec.Request {
				c.respond(m.ID, m.Method, nil, fmt.Errorf("'%s' method not found", m.Method))
			} else {
				s.log.Debug("transport: notification for unknown method", "method", m.Method)
			}
			continue
		}
		select {
		case s.sem <- struct{}{}:
		default:
			if corked {
				c.w.uncork()
				corked = false
			}
			select {
			case s.sem <- struct{}{}:
			case <-c.ctx.Done():
				c.release()
				return
			}
		}
		j := jobPool.Get().(*job)
		j.c, j.h, j.method, j.id, j.kind = c, h, m.Method, m.ID, m.Kind
		c.refs.Add(1)
		s.inflight.Add(1)
		if h.inlineOK() {
			if !corked && c.dec.Ready() {
				c.w.cork()
				corked = true
			}
			j.params = m.Params // nobody reads until it returns
			j.run()
			continue
		}
		j.buf = append(j.buf[:0], m.Params...)
		j.params = j.buf
		go j.run()
	}
}

func (j *job) run() {
	c := j.c
	start := time.Now()
	res, err := c.safeCall(j)
	j.h.record(time.Since(start))
	if j.kind == codec.Request {
		c.respond(j.id, j.method, res, err)
	} else if err != nil {
		c.s.log.Debug("transport: notification handler failed", "method", j.method, "err", err)
	}
	c.s.inflight.Add(-1)
	<-c.s.sem
	j.params = nil
	if cap(j.buf) > 64<<10 {
		j.buf = nil
	}
	j.c, j.h = nil, nil
	jobPool.Put(j)
	c.release()
}

func (c *serverConn) safeCall(j *job) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			buf := make([]byte, 4096)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.log.Error("transport: handler panic", "method", j.method, "panic", r, "stack", string(buf))
			res, err = nil, fmt.Errorf("%s: panic: %v", j.method, r)
		}
	}()
	return j.h.h(c.ctx, j.params)
}

// errorMessage is the string sent in a response's error field.
func errorMessage(method string, err error) string {
	var pc *codec.ParamCountError
	var ae *codec.ArgError
	switch {
	case errors.As(err, &pc):
		return method + " " + pc.Error()
	case errors.As(err, &ae):
		return method + ": " + ae.Error()
	}
	msg := err.Error()
	if msg == "" {
		msg = "error"
	}
	return msg
}

func (c *serverConn) respond(id uint32, method string, res any, err error) {
	if c.w.lock(c.ctx) != nil {
		return
	}
	n := len(c.w.buf)
	var encErr error
	if err != nil {
		c.w.buf, encErr = codec.AppendResponse(c.w.buf, id, errorMessage(method, err), nil)
	} else {
		c.w.buf, encErr = codec.AppendResponse(c.w.buf, id, "", res)
		if encErr != nil {
			c.w.buf = c.w.buf[:n]
			c.w.buf, encErr = codec.AppendResponse(c.w.buf, id, fmt.Sprintf("%s: cannot encode result: %v", method, encErr), nil)
		}
	}
	if encErr != nil { // unreachable for string errors; keep the stream intact
		c.w.buf = c.w.buf[:n]
	}
	_ = c.w.commit(false)
}

// readFailed handles the end of the read side.
func (c *serverConn) readFailed(err error) {
	var fe *codec.FrameError
	switch {
	case errors.As(err, &fe):
		c.s.log.Warn("transport: closing connection after malformed message", "remote", c.nc.RemoteAddr(), "err", err)
		c.closeHard(err)
	case c.draining.Load():
		// Shutdown: stop reading, answer what is in flight.
	case isBenignReadErr(err):
		// Peer finished sending; answer what is in flight, then close.
	default:
		c.s.log.Debug("transport: read failed", "remote", c.nc.RemoteAddr(), "err", err)
		c.closeHard(err)
	}
}

// release drops one reference; the last one closes the connection.
func (c *serverConn) release() {
	if c.refs.Add(-1) == 0 {
		c.closeHard(nil)
	}
}

// closeHard closes the connection now; pending writes fail, handlers see ctx cancelled.
func (c *serverConn) closeHard(err error) {
	if c.closed.Swap(true) {
		return
	}
	if err == nil {
		err = net.ErrClosed
	}
	c.w.fail(err)
	c.cancel()
	c.nc.Close()
	c.s.removeConn(c)
}
