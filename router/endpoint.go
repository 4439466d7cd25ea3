package router

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// conn is what the router needs from a transport client; *transport.Client
// implements it. Tests substitute fakes.
type conn interface {
	CallArgs(ctx context.Context, method string, reply any, args transport.Args) error
	NotifyArgs(ctx context.Context, method string, args transport.Args) error
	Close() error
	Done() <-chan struct{}
}

// dialFunc opens a conn to addr ("ip:port").
type dialFunc func(ctx context.Context, addr string) (conn, error)

// endpoint is one server address: its lazily dialled connection, shared by
// every config entry with that address, and its health.
type endpoint struct {
	addr       string
	minBackoff time.Duration
	maxBackoff time.Duration
	minProbe   time.Duration // first probe delay after an ejection (ProbeInterval)
	maxProbe   time.Duration // cap of the doubling probe delay (MaxProbeInterval)

	down    atomic.Bool  // failed and not yet seen alive again; written under mu
	strikes atomic.Int32 // consecutive attempts that ran out of their caller's time

	mu      sync.Mutex
	cn      conn          // current connection, nil before the first dial or after a failure
	dialing chan struct{} // non-nil while one caller dials; closed when it is done
	fails   int           // consecutive failures, drives the backoff
	retryAt time.Time     // no dial before this
	lastErr error         // last failure, for error messages
	closed  bool

	probeStep int       // doublings of minProbe in the next probe delay
	probeAt   time.Time // while down: no probe before this
	upSince   time.Time // when it was last readmitted, zero if never ejected
}

// get returns the connection, dialling it when there is none. Concurrent
// callers share one dial. While the endpoint is in backoff it fails fast
// with an *UnavailableError. up reports that a down endpoint came back.
func (e *endpoint) get(ctx context.Context, dial dialFunc) (cn conn, up bool, err error) {
	for {
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return nil, false, ErrClosed
		}
		if e.cn != nil {
			select {
			case <-e.cn.Done():
				e.cn.Close()
				e.cn = nil
			default:
				cn := e.cn
				e.mu.Unlock()
				return cn, false, nil
			}
		}
		if wait := e.dialing; wait != nil {
			e.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, false, ctx.Err()
			}
		}
		if d := time.Until(e.retryAt); d > 0 {
			err := &UnavailableError{Addr: e.addr, Failures: e.fails, RetryIn: d, Err: e.lastErr}
			e.mu.Unlock()
			return nil, false, err
		}
		ch := make(chan struct{})
		e.dialing = ch
		e.mu.Unlock()

		cn, err := dial(ctx, e.addr)

		e.mu.Lock()
		e.dialing = nil
		close(ch)
		if err != nil {
			e.mu.Unlock()
			return nil, false, &DialError{Addr: e.addr, Err: err}
		}
		if e.closed {
			e.mu.Unlock()
			cn.Close()
			return nil, false, ErrClosed
		}
		e.cn = cn
		up = e.down.Swap(false)
		if up {
			e.upSince = time.Now()
		}
		e.fails, e.retryAt, e.lastErr = 0, time.Time{}, nil
		e.mu.Unlock()
		return cn, up, nil
	}
}

// retire drops bad, a connection the server is draining (goaway), so that the
// next get dials a new one. bad is not closed: calls still pending on it get
// their responses, and it stops by itself once they have.
func (e *endpoint) retire(bad conn) {
	e.mu.Lock()
	if e.cn == bad {
		e.cn = nil
	}
	e.mu.Unlock()
}

// fail records a failure caused by the server (dial error, timeout, lost
// connection). bad, when not nil and dead, is the connection that failed; it
// is closed and dropped. fail reports whether the endpoint just went down.
func (e *endpoint) fail(err error, bad conn, dead bool) (wentDown bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	current := bad != nil && e.cn == bad
	if current && dead {
		e.cn.Close()
		e.cn = nil
	}
	if bad != nil && e.down.Load() && !current {
		// Another call on the same broken connection already counted it.
		return false
	}
	e.fails++
	e.lastErr = err
	now := time.Now()
	e.retryAt = now.Add(e.backoff(e.fails))
	if e.down.Swap(true) {
		return false
	}
	e.strikes.Store(0)
	// A server ejected again soon after a probe readmitted it (it answers
	// pings but not calls) waits twice as long for its next probe as last
	// time; one that stayed up for maxProbe starts again at minProbe.
	if !e.upSince.IsZero() && now.Sub(e.upSince) < e.maxProbe {
		e.probeStep++
	} else {
		e.probeStep = 0
	}
	e.probeAt = now.Add(e.probeDelay())
	return true
}

// probeDelay is minProbe doubled probeStep times, at most maxProbe.
func (e *endpoint) probeDelay() time.Duration {
	d := e.minProbe
	for i := 0; i < e.probeStep && d < e.maxProbe; i++ {
		d *= 2
	}
	return min(d, e.maxProbe)
}

// probeDue reports whether a down endpoint is due for a probe at now, and
// if not when it will be.
func (e *endpoint) probeDue(now time.Time) (due bool, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !now.Before(e.probeAt), e.probeAt
}

// probeFailed schedules the next probe of a down endpoint after a failed
// one, twice as late as the last (at most maxProbe).
func (e *endpoint) probeFailed(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.probeDelay() < e.maxProbe {
		e.probeStep++
	}
	e.probeAt = time.Now().Add(e.probeDelay())
	if e.lastErr == nil {
		e.lastErr = err
	}
}

// backoff is the redial delay after n consecutive failures: minBackoff
// doubling per failure up to maxBackoff, then a random 50-100% of that.
func (e *endpoint) backoff(n int) time.Duration {
	d := e.minBackoff
	for i := 1; i < n && d < e.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// revive marks the endpoint alive after a successful probe and clears its
// backoff, so the next call dials at once. It reports whether it was down.
func (e *endpoint) revive() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.down.Swap(false)
	if was {
		e.upSince = time.Now()
	}
	e.fails, e.retryAt, e.lastErr = 0, time.Time{}, nil
	return was && !e.closed
}

func (e *endpoint) isDown() bool { return e.down.Load() }

// dialable reports whether get would try to dial (or reuse) rather than fail
// fast because of backoff.
func (e *endpoint) dialable() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cn != nil || !time.Now().Before(e.retryAt)
}

func (e *endpoint) err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastErr
}

func (e *endpoint) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.cn != nil {
		e.cn.Close()
		e.cn = nil
	}
}
