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
	vctx     context.Context // hctx's values without its cancellation (callCtx.Value)
	refs     atomic.Int32
	slots    chan struct{} // one per call running or waiting to write its response (MaxConnInFlight)
	pending  atomic.Int64  // params bytes of calls dispatched to goroutines and not finished
	room     chan struct{} // a finished goroutine call signals the read loop waiting on pending
	draining atomic.Bool
	closed   atomic.Bool
	// authFails counts the calls TokenAuth refused in a row (MaxAuthFailures).
	authFails atomic.Int32

	// Read loop only (drainEnd, drainSeen: while draining, see keepDraining).
	drainEnd  time.Time // set before draining is stored
	nread     uint64    // messages read
	drainSeen uint64    // nread when the read deadline was last moved
	corked    bool      // responses of a batch of inline calls are held (see next)
	ext       bool      // the peer said HelloMethod: extended messages are accepted

	// Extended calls run in their own goroutines, by msgid, for CancelMethod.
	cmu     sync.Mutex
	cancels map[uint32]*callCtx

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
	c.ctx, c.cancel = context.WithCancel(context.WithValue(context.Background(), connKey{}, c))
	c.hctx, c.hcancel = context.WithCancel(c.ctx)
	c.vctx = context.WithoutCancel(c.hctx)
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

	// Set by withExt for an extended message: the handler's ctx (nil: the
	// connection's, serverConn.hctx), and whether it is in serverConn.cancels.
	cx  *callCtx
	reg bool
}

var jobPool = sync.Pool{New: func() any { return new(job) }}

// serve runs the read loop, then gives up its bytes in the buffer bound and
// its reference.
func (c *serverConn) serve() {
	c.readLoop()
	c.charge(0)
	c.release()
}

// readLoop reads messages and dispatches them until the connection stops
// being read.
func (c *serverConn) readLoop() {
	var m codec.Message
	for {
		if err := c.next(&m); err != nil {
			c.readFailed(err)
			return
		}
		if !c.dispatch(&m) {
			return
		}
	}
}

// next reads the next message. Responses corked for a batch of inline calls
// are written when the batch ends (no complete message buffered); a read
// error of a draining connection that keepDraining accepts is not returned.
func (c *serverConn) next(m *codec.Message) error {
	for {
		if c.corked && !c.dec.Ready() {
			c.uncork()
		}
		err := c.dec.Next(m)
		if err == nil {
			c.nread++
			return nil
		}
		c.uncork()
		if !c.draining.Load() || !c.keepDraining(err) {
			return err
		}
	}
}

// dispatch runs or queues one message; false when the connection closes
// (stop reading). A call runs inline on the read loop when its method has
// proven fast (see inlineMinCalls), else in its own goroutine, which first
// takes a connection slot (MaxConnInFlight, maxConnPendingBytes: beyond
// either this loop stops reading). When every handler slot is busy, the call
// waits for one within MaxQueue and QueueTimeout: inline on the read loop
// (backpressure: no goroutine, no copy), else in its goroutine (so the loop
// keeps reading and sees the peer go).
func (c *serverConn) dispatch(m *codec.Message) bool {
	s := c.s
	if m.Kind == codec.Response {
		s.log.Debug("transport: ignoring response sent to server", "remote", c.nc.RemoteAddr())
		return true
	}
	s.calls.Add(1)
	h := s.handlers[m.Method]
	if h == nil {
		c.noHandler(m)
		return true
	}
	inline := h.inlineOK()
	if !inline && !c.takeSlot() {
		return false
	}
	j := c.newJob(h, m, !inline)
	if m.Ext != nil && !c.withExt(j, m.Ext) {
		j.finish()
		return true
	}
	select {
	case s.sem <- struct{}{}:
	default:
		c.uncork()
		if !c.enqueue(j) {
			j.finish()
			return true
		}
		if !inline {
			go j.waitAndRun()
			return true
		}
		gone := c.ctx.Done()
		if j.cx != nil {
			gone = j.cx.Done() // also ends at the caller's deadline
		}
		if !c.awaitSlot(j, gone) {
			j.finish()
			return true // when the connection is closing the next read fails
		}
	}
	if !inline {
		go j.run()
		return true
	}
	if !c.corked && c.dec.Ready() {
		c.w.cork()
		c.corked = true
	}
	j.run()
	return true
}

// noHandler answers a message for a method without a handler: the
// protocol's own (PingMethod, HelloMethod, CancelMethod), or an error.
func (c *serverConn) noHandler(m *codec.Message) {
	switch {
	case m.Method == PingMethod:
		if m.Kind == codec.Request {
			c.respond(m.ID, m.Method, nil, nil)
		}
	case m.Method == HelloMethod:
		c.hello(m)
	case m.Method == CancelMethod:
		c.cancelCall(m)
	case isReserved(m.Method):
		c.reserved(m)
	case m.Kind == codec.Request:
		c.respond(m.ID, m.Method, nil, fmt.Errorf("'%s' method not found", m.Method))
	default:
		c.notifyFailed(m.Method, "method not found")
	}
}

// uncork writes the responses held for a batch of inline calls.
func (c *serverConn) uncork() {
	if c.corked {
		c.w.uncork()
		c.corked = false
	}
}

// newJob makes the job for a call of h. own: it runs in its own goroutine,
// holds a connection slot (taken by takeSlot) and a copy of the params counted
// in the pending bytes; otherwise params alias the decoder's buffer, read only
// until the inline call returns.
func (c *serverConn) newJob(h *method, m *codec.Message, own bool) *job {
	j := jobPool.Get().(*job)
	j.c, j.h, j.method, j.id, j.kind, j.slot = c, h, m.Method, m.ID, m.Kind, own
	c.refs.Add(1)
	if !own {
		j.params = m.Params
		return j
	}
	j.buf = append(j.buf[:0], m.Params...)
	j.params = j.buf
	j.pend = len(j.buf) + len(m.Ext) // the ext's metadata lives as long as the call
	c.addPending(j.pend)
	return j
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
func (c *serverConn) takeSlot() bool {
	if c.pending.Load() < maxConnPendingBytes {
		select {
		case c.slots <- struct{}{}:
			return true
		default:
		}
	}
	c.uncork()
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

// run runs j, holding a handler slot, and answers it.
func (j *job) run() {
	c := j.c
	if j.cx != nil && !c.started(j) {
		<-c.s.sem
		j.finish()
		return
	}
	c.s.inflight.Add(1)
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
	if err != nil && j.cx != nil {
		err = c.ctxEnded(j, err)
	}
	if j.kind == codec.Request {
		c.respond(j.id, j.method, res, err)
	} else if err != nil {
		c.notifyFailed(j.method, errorMessage(j.method, err))
	}
	j.finish()
}

// finish gives back what j holds (connection slot, pending bytes, its
// reference on the connection) and returns it to the pool.
func (j *job) finish() {
	c := j.c
	if j.cx != nil {
		c.endExt(j)
	}
	if j.slot {
		<-c.slots
	}
	if j.pend > 0 {
		c.addPending(-j.pend)
	}
	buf := j.buf[:0]
	if cap(buf) > 64<<10 {
		buf = nil
	}
	*j = job{buf: buf}
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
	if j.cx != nil {
		return j.h.h(j.cx, j.params)
	}
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

// waitAndRun waits for a handler slot (see awaitSlot) and runs j.
func (j *job) waitAndRun() {
	gone := j.c.hctx.Done()
	if j.cx != nil {
		gone = j.cx.Done() // also ends at the caller's deadline or cancel
	}
	if j.c.awaitSlot(j, gone) {
		j.run()
		return
	}
	j.finish()
}

// enqueue counts j as waiting for a handler slot; false (j shed) when MaxQueue
// are waiting already.
func (c *serverConn) enqueue(j *job) bool {
	s := c.s
	if s.queued.Add(1) > int64(s.opts.MaxQueue) {
		s.queued.Add(-1)
		c.shed(j, "queue full")
		return false
	}
	return true
}

// awaitSlot waits for a handler slot for the enqueued j: true when taken;
// false when gone was closed first (an extended call whose own ctx ended is
// answered: deadline exceeded or cancelled) or, for a request, QueueTimeout
// passed (j is answered "server busy"). A notification waits without a time
// limit but its caller's deadline.
func (c *serverConn) awaitSlot(j *job, gone <-chan struct{}) bool {
	s := c.s
	var timeout <-chan time.Time
	if s.opts.QueueTimeout > 0 && j.kind == codec.Request {
		t := time.NewTimer(s.opts.QueueTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.sem <- struct{}{}:
		s.queued.Add(-1)
		return true
	case <-timeout:
		s.queued.Add(-1)
		c.shed(j, "waited "+s.opts.QueueTimeout.String()+" for a handler slot")
	case <-gone:
		s.queued.Add(-1)
		if j.cx != nil {
			c.ended(j, "while it waited for a handler slot")
		}
	}
	return false
}

// shed answers j "server busy" without running it (a notification is dropped).
func (c *serverConn) shed(j *job, why string) {
	s := c.s
	s.shed.Add(1)
	if j.kind != codec.Request {
		s.log.Debug("transport: notification dropped: server busy", "method", j.method, "why", why)
		return
	}
	c.respond(j.id, j.method, nil, fmt.Errorf("%s: %d calls running, %s; retry later", BusyMessage, s.opts.MaxConcurrent, why))
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
