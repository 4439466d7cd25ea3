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
	hctx     context.Context // handlers' context: also ends when the peer closes its side
	hcancel  context.CancelFunc
	refs     atomic.Int32
	slots    chan struct{} // one per call running or waiting to write its response (MaxConnInFlight)
	pending  atomic.Int64  // params bytes of calls dispatched to goroutines and not finished
	room     chan struct{} // a finished goroutine call signals the read loop waiting on pending
	draining atomic.Bool
	closed   atomic.Bool

	// Read loop only, while draining (see keepDraining).
	drainEnd  time.Time // set before draining is stored
	nread     uint64    // messages read
	drainSeen uint64    // nread when the read deadline was last moved

	// Published by connReader for the sweeper (see Server.sweepOnce).
	partial atomic.Int64  // bytes of the message being read, charged to Server.buf
	msgs    atomic.Uint64 // nread at the last read
	reading atomic.Bool   // the read loop waits for bytes (not dispatching)

	// Sweeper only.
	seenMsgs     uint64
	quietSince   time.Time // since when no message arrived and nothing ran
	partialSince time.Time // since when the partial message is pending (zero: none)
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

// timeSample: a proven-fast method's run time is measured once in this many calls.
const timeSample = 16

// method is a registered handler with its run-time statistics.
type method struct {
	h     Handler
	calls atomic.Int64 // timed calls
	runs  atomic.Int64 // calls run while proven fast (picks the ones to time)
	cost  atomic.Int64 // ns; jumps to a slow timed run, decays by 1/4 per faster one
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
	c := &serverConn{s: s, nc: nc, slots: make(chan struct{}, s.opts.MaxConnInFlight), room: make(chan struct{}, 1), quietSince: time.Now()}
	c.dec = codec.NewDecoder(connReader{c}, s.opts.Limits)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.hctx, c.hcancel = context.WithCancel(c.ctx)
	c.w.conn = nc
	c.w.timeout = max(s.opts.WriteTimeout, 0)
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
	pend   int    // bytes counted in serverConn.pending for this call
	slot   bool   // holds one of serverConn.slots
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

// serve runs the read loop, then gives up its bytes in the buffer bound and
// its reference.
func (c *serverConn) serve() {
	c.readLoop()
	c.charge(0)
	c.release()
}

// readLoop reads messages and dispatches them (see inlineMinCalls for when
// a call runs inline on this goroutine rather than in its own) until the
// connection stops being read.
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
				corked = false
			}
			if c.draining.Load() && c.keepDraining(err) {
				continue
			}
			c.readFailed(err)
			return
		}
		c.nread++
		if m.Kind == codec.Response {
			s.log.Debug("transport: ignoring response sent to server", "remote", c.nc.RemoteAddr())
			continue
		}
		s.calls.Add(1)
		h := s.handlers[m.Method]
		if h == nil {
			switch {
			case m.Method == PingMethod:
				if m.Kind == codec.Request {
					c.respond(m.ID, m.Method, nil, nil)
				}
			case m.Kind == codec.Request:
				c.respond(m.ID, m.Method, nil, fmt.Errorf("'%s' method not found", m.Method))
			default:
				c.notifyFailed(m.Method, "method not found")
			}
			continue
		}
		// A call that will run in its own goroutine (not proven fast, or waiting for
		// a handler slot) takes a connection slot first: per connection at most
		// MaxConnInFlight such calls and maxConnPendingBytes of their params; beyond
		// either this loop stops reading the connection. Inline calls block the loop
		// (and, through the write queue, the connection) themselves.
		inline := h.inlineOK()
		if !inline && !c.takeSlot(&corked) {
			return
		}
		select {
		case s.sem <- struct{}{}:
		default:
			// Every handler slot is busy. A call of a proven-fast method waits right
			// here, blocking this loop (backpressure: no goroutine, no copy), within
			// MaxQueue and QueueTimeout; anything else waits in its own goroutine (so
			// this loop keeps reading and sees the peer go), within MaxQueue, or is shed.
			if corked {
				c.w.uncork()
				corked = false
			}
			if inline {
				ok, alive := c.waitSlot(m.Kind, m.ID, m.Method)
				if !alive {
					return
				}
				if !ok {
					continue
				}
				break
			}
			if s.queued.Add(1) > int64(s.opts.MaxQueue) {
				s.queued.Add(-1)
				c.shed(m.Kind, m.ID, m.Method, "queue full")
				<-c.slots
				continue
			}
			j := jobPool.Get().(*job)
			j.c, j.h, j.method, j.id, j.kind, j.slot = c, h, m.Method, m.ID, m.Kind, true
			j.buf = append(j.buf[:0], m.Params...)
			j.params = j.buf
			c.refs.Add(1)
			j.pend = len(j.buf)
			c.addPending(j.pend)
			go j.waitAndRun()
			continue
		}
		j := jobPool.Get().(*job)
		j.c, j.h, j.method, j.id, j.kind, j.slot = c, h, m.Method, m.ID, m.Kind, !inline
		c.refs.Add(1)
		s.inflight.Add(1)
		if inline {
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
		j.pend = len(j.buf)
		c.addPending(j.pend)
		go j.run()
	}
}

// startDrain marks the connection draining (Shutdown began): its read loop
// reads for at least DrainGrace more, then as long as keepDraining says.
func (c *serverConn) startDrain(end time.Time) {
	if c.draining.Load() {
		return
	}
	c.drainEnd = end
	c.draining.Store(true)
	c.nc.SetReadDeadline(earliest(time.Now().Add(c.s.opts.DrainGrace), end))
}

// keepDraining tells the read loop of a draining connection whether to go on
// reading after err: yes, with the read deadline moved DrainGrace on, after a
// read timeout while the connection still has calls in flight or sent
// something during the last DrainGrace, until drainEnd.
func (c *serverConn) keepDraining(err error) bool {
	if !isTimeoutErr(err) || c.closed.Load() {
		return false
	}
	now := time.Now()
	if !now.Before(c.drainEnd) || c.nread == c.drainSeen && c.refs.Load() <= 1 {
		return false
	}
	c.drainSeen = c.nread
	c.nc.SetReadDeadline(earliest(now.Add(c.s.opts.DrainGrace), c.drainEnd))
	return true
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// sendGoAway tells the peer, with a GoAwayMethod notification, to send no new
// requests on this connection.
func (c *serverConn) sendGoAway() {
	if c.w.lock(c.ctx) != nil {
		return
	}
	c.w.buf, _ = codec.AppendNotification(c.w.buf, GoAwayMethod)
	_ = c.w.commit(false)
}

// takeSlot takes a connection slot for a goroutine call, waiting (with the
// responses held by cork written first) while the connection is at its bounds;
// false when the connection is closing.
func (c *serverConn) takeSlot(corked *bool) bool {
	if c.pending.Load() < maxConnPendingBytes {
		select {
		case c.slots <- struct{}{}:
			return true
		default:
		}
	}
	if *corked {
		c.w.uncork()
		*corked = false
	}
	if !c.waitPending() {
		return false
	}
	select {
	case c.slots <- struct{}{}:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (j *job) run() {
	c := j.c
	// Clock reads are not free (kvm-clock): a proven-fast method is timed once in
	// timeSample calls, which still sees it turn slow within a few calls.
	timed := !j.h.inlineOK() || j.h.runs.Add(1)%timeSample == 0
	var start time.Time
	if timed {
		start = time.Now()
	}
	res, err := c.safeCall(j)
	if timed {
		j.h.record(time.Since(start))
	}
	// The handler slot is free before the response is written: a client that does
	// not read its responses holds only its own connection's slots.
	c.s.inflight.Add(-1)
	<-c.s.sem
	if j.kind == codec.Request {
		c.respond(j.id, j.method, res, err)
	} else if err != nil {
		c.notifyFailed(j.method, errorMessage(j.method, err))
	}
	if j.slot {
		<-c.slots
		j.slot = false
	}
	if j.pend > 0 {
		c.addPending(-j.pend)
		j.pend = 0
	}
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
	return j.h.h(c.hctx, j.params)
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

// notifyFailed records a notification that failed: there is no caller to
// tell, so it is counted and logged (rate-limited).
func (c *serverConn) notifyFailed(method, why string) {
	c.s.notifyFailed.Add(1)
	c.s.warn(&c.s.notifyWarns, "transport: notification failed", "method", method, "remote", c.nc.RemoteAddr(), "err", why)
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
		// Peer closed its side: it is gone (or at least sends nothing more). As with
		// net/http, running handlers see their ctx cancelled and waiting calls are
		// dropped, so abandoned work does not hold handler slots; responses of calls
		// that still finish are written if the peer reads them.
		c.hcancel()
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

// waitAndRun waits for a handler slot (within ServerOptions.QueueTimeout) and runs j;
// it sheds j on timeout and drops it when the connection or its peer goes away.
func (j *job) waitAndRun() {
	c := j.c
	s := c.s
	var timeout <-chan time.Time
	if s.opts.QueueTimeout > 0 {
		t := time.NewTimer(s.opts.QueueTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.sem <- struct{}{}:
		s.queued.Add(-1)
		s.inflight.Add(1)
		j.run()
		return
	case <-timeout:
		s.queued.Add(-1)
		c.shed(j.kind, j.id, j.method, "waited "+s.opts.QueueTimeout.String()+" for a handler slot")
	case <-c.hctx.Done():
		s.queued.Add(-1)
	}
	if j.pend > 0 {
		c.addPending(-j.pend)
		j.pend = 0
	}
	j.params = nil
	if cap(j.buf) > 64<<10 {
		j.buf = nil
	}
	j.c, j.h, j.slot = nil, nil, false
	jobPool.Put(j)
	<-c.slots
	c.release()
}

// waitSlot blocks the read loop until a handler slot is free, for a call of a
// proven-fast method found every slot busy. It counts as queued (MaxQueue) and
// sheds a request after QueueTimeout. ok: the slot is taken; alive: false when
// the connection is closing (no slot taken).
func (c *serverConn) waitSlot(kind int, id uint32, method string) (ok, alive bool) {
	s := c.s
	if s.queued.Add(1) > int64(s.opts.MaxQueue) {
		s.queued.Add(-1)
		c.shed(kind, id, method, "queue full")
		return false, true
	}
	var timeout <-chan time.Time
	if s.opts.QueueTimeout > 0 && kind == codec.Request {
		t := time.NewTimer(s.opts.QueueTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.sem <- struct{}{}:
		s.queued.Add(-1)
		return true, true
	case <-timeout:
		s.queued.Add(-1)
		c.shed(kind, id, method, "waited "+s.opts.QueueTimeout.String()+" for a handler slot")
		return false, true
	case <-c.ctx.Done():
		s.queued.Add(-1)
		return false, false
	}
}

// shed answers a request "server busy" without running it (a notification is dropped).
func (c *serverConn) shed(kind int, id uint32, method, why string) {
	s := c.s
	s.shed.Add(1)
	if kind != codec.Request {
		s.log.Debug("transport: notification dropped: server busy", "method", method, "why", why)
		return
	}
	c.respond(id, method, nil, fmt.Errorf("%s: %d calls running, %s; retry later", BusyMessage, s.opts.MaxConcurrent, why))
}

// maxConnPendingBytes bounds the params bytes of one connection's calls that run
// (or wait) in their own goroutines; beyond it the read loop stops reading that
// connection until some finish. With the write queue bound it caps what a client
// that pipelines requests but never reads its responses makes the server hold.
const maxConnPendingBytes = 256 << 10

// addPending adds n (negative: finished) to the pending bytes and wakes the read loop.
func (c *serverConn) addPending(n int) {
	c.pending.Add(int64(n))
	if n < 0 {
		select {
		case c.room <- struct{}{}:
		default:
		}
	}
}

// waitPending waits until the pending bytes are under the bound; false when the
// connection is closing.
func (c *serverConn) waitPending() bool {
	for c.pending.Load() >= maxConnPendingBytes {
		select {
		case <-c.room:
		case <-c.ctx.Done():
			return false
		}
	}
	return true
}
