package transport

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// This file holds the server's bounds on what a client can make it hold:
// MaxBufferedBytes (connReader, bufferBound), MessageTimeout and IdleTimeout
// (sweep), and the rate limit of the warnings they log (logLimiter).

// smallPartial is the partial message a connection may keep reading while
// MaxBufferedBytes is exceeded, and the most it reads at a time then.
const smallPartial = 4 << 10

// errMessageTimeout closes a connection that did not complete a message within
// MessageTimeout.
var errMessageTimeout = errors.New("transport: message not completed within message_timeout")

// bufferBound accounts the bytes of partial requests over all connections.
type bufferBound struct {
	max   int64 // 0: no bound
	total atomic.Int64
	mu    sync.Mutex
	room  chan struct{} // closed (and replaced) when bytes are released over the bound
}

// add adds n (negative: released) to the total; a release while over the bound
// wakes the connections waiting for room.
func (b *bufferBound) add(n int64) {
	if b.total.Add(n)-n > b.max && n < 0 && b.max > 0 {
		b.mu.Lock()
		close(b.room)
		b.room = make(chan struct{})
		b.mu.Unlock()
	}
}

// over tells whether a connection holding mine bytes must stop reading: the
// total is over the bound and not all of it is its own.
func (b *bufferBound) over(mine int64) bool {
	t := b.total.Load()
	return b.max > 0 && t > b.max && t > mine
}

// connReader is what a connection's decoder reads from: it charges the
// connection's partial message to the server's bufferBound, stops reading
// while the bound is exceeded, and publishes the state the sweeper checks.
// Its cost is a few atomic operations per read system call, none per message.
type connReader struct{ c *serverConn }

func (r connReader) Read(p []byte) (int, error) {
	c := r.c
	held := int64(c.dec.Buffered()) // the decoder reads only when no message is complete
	c.charge(held)
	c.msgs.Store(c.nread)
	c.reading.Store(true)
	defer c.reading.Store(false)
	if b := &c.s.buf; b.max > 0 {
		if b.over(held) && held >= smallPartial && !c.waitRoom(held) {
			return 0, errMessageTimeout
		}
		// Read no more than the room left (at least smallPartial); in the
		// middle of a message, reserve that room while reading, so that
		// connections reading at once do not overshoot the bound.
		p = p[:min(int64(len(p)), max(b.max-b.total.Load(), smallPartial))]
		if held > 0 {
			c.charge(held + int64(len(p)))
		}
	}
	n, err := c.nc.Read(p)
	c.charge(held + int64(n))
	return n, err
}

// charge sets the bytes this connection holds in the server's bufferBound
// (read loop only).
func (c *serverConn) charge(n int64) {
	if old := c.partial.Load(); old != n {
		c.partial.Store(n)
		c.s.buf.add(n - old)
	}
}

// waitRoom waits until the server's buffered bytes allow this connection to
// read on; false when the connection is closed first (MessageTimeout sheds a
// connection that waits too long).
func (c *serverConn) waitRoom(held int64) bool {
	b := &c.s.buf
	for {
		b.mu.Lock()
		room := b.room
		b.mu.Unlock()
		if !b.over(held) {
			return true
		}
		select {
		case <-room:
		case <-c.ctx.Done():
			return false
		}
	}
}

// sweepTick is how often the sweeper checks the connections: a fraction of
// the shorter timeout, between 10 ms and 1 s.
func (s *Server) sweepTick() time.Duration {
	d := time.Second
	for _, t := range []time.Duration{s.opts.MessageTimeout, s.opts.IdleTimeout} {
		if t > 0 {
			d = min(d, t/8)
		}
	}
	return max(d, 10*time.Millisecond)
}

// sweep enforces MessageTimeout and IdleTimeout until Shutdown or Close: one
// ticker for the server instead of a timer per connection or message.
func (s *Server) sweep() {
	t := time.NewTicker(s.sweepTick())
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.sweepOnce(now)
		}
	}
}

// sweepOnce checks every connection once. A connection whose read loop is
// reading (not dispatching) with a partial message and no message completed
// since the partial was first seen for MessageTimeout is closed. One reading
// with no partial message, nothing in flight and no message for IdleTimeout
// is told GoAwayMethod and drained.
func (s *Server) sweepOnce(now time.Time) {
	var late, idle []*serverConn
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		return
	}
	for c := range s.conns {
		msgs, reading, partial := c.msgs.Load(), c.reading.Load(), c.partial.Load()
		if msgs != c.seenMsgs || !reading || c.refs.Load() > 1 {
			c.seenMsgs, c.quietSince = msgs, now
		}
		switch {
		case !reading || partial == 0:
			c.partialSince = time.Time{}
		case c.partialSince.IsZero():
			c.partialSince = now
		}
		switch {
		case c.draining.Load():
		case s.opts.MessageTimeout > 0 && !c.partialSince.IsZero() && now.Sub(c.partialSince) >= s.opts.MessageTimeout:
			late = append(late, c)
		case s.opts.IdleTimeout > 0 && c.partialSince.IsZero() && now.Sub(c.quietSince) >= s.opts.IdleTimeout:
			c.startDrain(now.Add(DrainMaxFactor * s.opts.DrainGrace))
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	for _, c := range late {
		s.timedOut.Add(1)
		s.warn(&s.connWarns, "transport: closing connection: message not completed in time", "remote", c.nc.RemoteAddr(),
			"timeout", s.opts.MessageTimeout, "buffered", c.partial.Load())
		c.closeHard(errMessageTimeout)
	}
	for _, c := range idle {
		s.idleShut.Add(1)
		s.log.Debug("transport: idle connection told to go away", "remote", c.nc.RemoteAddr(), "idle", s.opts.IdleTimeout)
		go c.sendGoAway()
	}
}

// warnPerSecond bounds the warnings a Server logs per second of each kind
// (failed notifications; connections timed out or refused), so a flood cannot
// fill the disk; the next line logged says how many were suppressed.
const warnPerSecond = 10

// logLimiter is a per-second budget of log lines.
type logLimiter struct {
	mu         sync.Mutex
	sec        int64
	n          int
	suppressed int
}

// allow tells whether a line may be logged now, and how many were suppressed
// since the last one logged.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if sec := now.Unix(); sec != l.sec {
		l.sec, l.n = sec, 0
	}
	if l.n >= warnPerSecond {
		l.suppressed++
		return false, 0
	}
	l.n++
	sup := l.suppressed
	l.suppressed = 0
	return true, sup
}

// warn logs at Warn level within l's warnPerSecond.
func (s *Server) warn(l *logLimiter, msg string, args ...any) {
	ok, sup := l.allow(time.Now())
	if !ok {
		return
	}
	if sup > 0 {
		args = append(args, "suppressed", sup)
	}
	s.log.Warn(msg, args...)
}
