package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// DefaultDialTimeout bounds Dial when ClientOptions.DialTimeout is 0.
const DefaultDialTimeout = 5 * time.Second

// ClientOptions configure a Client. The zero value is usable.
type ClientOptions struct {
	// Limits bound incoming responses; zero fields mean codec defaults.
	Limits codec.Limits
	// DialTimeout bounds Dial (within its ctx). 0 means DefaultDialTimeout.
	DialTimeout time.Duration
	// Logger receives connection errors. nil means no logging.
	Logger *slog.Logger
}

// Client is one multiplexed msgpack-rpc connection: any number of goroutines
// may Call and Notify at once; responses are matched by msgid.
//
// There is no dedicated reader on the call path: a caller waiting for its
// response reads the connection itself when nobody else is reading (so a lone
// call costs no goroutine hop), delivers other callers' responses it meets,
// and on finishing passes the reading role to another waiting caller. When
// the connection has been idle for a moment a watcher goroutine takes the
// role, so a server that goes away is noticed (Done) without any call.
type Client struct {
	nc   net.Conn
	addr string
	log  *slog.Logger
	dec  *codec.Decoder
	w    connWriter

	mu         sync.Mutex
	pending    map[uint32]*call
	nextID     uint32
	err        error           // why the client stopped (ErrClosed or a broken connection)
	draining   bool            // the server sent GoAwayMethod: no new calls
	role       int             // who reads: roleFree, roleCaller, roleWatcher
	readerDone <-chan struct{} // ctx.Done() of the caller holding the role, nil if none

	// One context.AfterFunc at a time, on the Done channel a reader last used:
	// when that ctx ends while its caller holds the reading role, the read is
	// cut short. Callers usually pass the same ctx over and over (a signal or
	// request ctx, a router's shared attempt ctx), so it is registered once
	// rather than once per call.
	hookDone    <-chan struct{}
	hookStop    func() bool
	kicked      bool // the watcher was asked to give up the role
	gen         uint64
	watchBusy   bool      // calls are waiting: the watcher should read at once
	watchParked bool      // the watcher sleeps until woken (not timing idleness)
	deadline    time.Time // current read deadline, to skip redundant sets

	watchWake chan struct{}
	stop      chan struct{} // closed by fail: stops the background goroutines
	done      chan struct{} // closed by fail: the connection is gone
	bg        sync.WaitGroup
}

const (
	roleFree = iota
	roleCaller
	roleWatcher
)

// watcherIdle is how long the connection must be idle before the watcher reads.
const watcherIdle = 2 * time.Millisecond

// watcherMaxIdle bounds the watcher's back-off while a caller holds the reading role.
const watcherMaxIdle = 64 * time.Millisecond

// Call signals.
const (
	sigDone = 1 // the call is complete (err/reply set)
	sigRead = 2 // the call now holds the reading role
)

// call is one pending request; pooled. Whoever removes a call from pending,
// other than its own goroutine, sends it exactly one sigDone.
type call struct {
	method   string
	reply    any
	err      error
	ch       chan uint8
	promoted bool
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan uint8, 2)} }}

// Dial connects to addr over TCP and returns a Client on it.
func Dial(ctx context.Context, addr string, opts ClientOptions) (*Client, error) {
	timeout := opts.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	return NewClient(nc, opts), nil
}

// NewClient runs a Client on an established connection; the Client owns it.
func NewClient(conn net.Conn, opts ClientOptions) *Client {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		nc:        conn,
		addr:      conn.RemoteAddr().String(),
		log:       log,
		dec:       codec.NewDecoder(conn, opts.Limits),
		pending:   make(map[uint32]*call),
		watchWake: make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	c.w.conn = conn
	c.w.kick = make(chan struct{}, 1)
	c.w.onErr = func(err error) { c.fail(fmt.Errorf("%w: write to %s: %w", ErrBroken, c.addr, err)) }
	c.bg.Add(2)
	go func() {
		defer c.bg.Done()
		c.w.background(c.stop)
	}()
	go func() {
		defer c.bg.Done()
		c.watch()
	}()
	c.watchWake <- struct{}{}
	return c
}

// Done is closed when the connection is gone (Close, broken, or drained: the
// server sent GoAwayMethod and the last pending call completed).
func (c *Client) Done() <-chan struct{} { return c.done }

// Draining reports whether the server sent GoAwayMethod on the connection:
// new calls fail at once with an error wrapping ErrDraining and ErrNotSent;
// pending ones still get their responses, and once none is left the client
// stops (Done) by itself, releasing the connection and its goroutines.
func (c *Client) Draining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.draining || c.err != nil
}

// Err returns why the client stopped, or nil while it works.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Pending returns the number of calls waiting for a response.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Call sends method(args...) and waits for its response, decoding the result
// into reply (a pointer; nil discards it). It returns a *ServerError when the
// server answered with an error, ctx's error (wrapped) when ctx ended first,
// an error wrapping ErrBroken or ErrClosed when the connection went away, and
// an error wrapping ErrNotSent when the request certainly never left.
func (c *Client) Call(ctx context.Context, method string, reply any, args ...any) error {
	return c.call(ctx, method, reply, nil, args)
}

// CallArgs is Call with the arguments encoding themselves (see Args). args is
// encoded before CallArgs returns and not kept.
func (c *Client) CallArgs(ctx context.Context, method string, reply any, args Args) error {
	return c.call(ctx, method, reply, args, nil)
}

// call sends a request and waits for its response: the one path of Call and
// CallArgs. Its params are args, or list when args is nil (see params).
func (c *Client) call(ctx context.Context, method string, reply any, args Args, list []any) error {
	if err := ctx.Err(); err != nil {
		return notSent(method, err)
	}
	cl := callPool.Get().(*call)
	cl.method, cl.reply = method, reply
	c.mu.Lock()
	if c.err != nil || c.draining {
		err := c.stoppedErrLocked()
		c.mu.Unlock()
		c.putCall(cl)
		return notSent(method, err)
	}
	id := c.nextID
	for {
		if _, used := c.pending[id]; !used {
			break
		}
		id++
	}
	c.nextID = id + 1
	c.pending[id] = cl
	// With other calls in flight, hand the write to the background flusher, which
	// yields once first so that every runnable caller's request shares one write;
	// a lone call writes inline (no hop on the sequential path).
	others := len(c.pending) > 1
	c.mu.Unlock()

	if err := c.w.lock(ctx); err != nil {
		return c.abandon(id, cl, notSent(method, err), true)
	}
	n := len(c.w.buf)
	var err error
	c.w.buf, err = appendRequest(c.w.buf, id, method, args, list)
	if err != nil {
		c.w.buf = c.w.buf[:n]
		c.w.mu.Unlock()
		return c.abandon(id, cl, notSent(method, err), true)
	}
	if err := c.w.commit(others); err != nil {
		// The write carrying the request failed: it may have been sent.
		return c.abandon(id, cl, fmt.Errorf("transport: %s: %w", method, err), false)
	}

	return c.wait(ctx, id, cl)
}

// abandon gives up call id. If the call is no longer ours to remove (a
// response, a failure or the reading role reached it), its outcome is
// complete and wins over err, unless unsent says the request certainly never
// left (then err, wrapping ErrNotSent, wins).
func (c *Client) abandon(id uint32, cl *call, err error, unsent bool) error {
	c.mu.Lock()
	if c.pending[id] == cl && !cl.promoted {
		delete(c.pending, id)
		drained := c.drainedLocked()
		c.mu.Unlock()
		c.putCall(cl)
		if drained {
			c.stopDrained()
		}
		return err
	}
	c.mu.Unlock()
	res, gaveUp := c.settle(id, cl)
	c.putCall(cl)
	if unsent || gaveUp {
		return err
	}
	return res
}

// settle waits for the signal of a call that is no longer ours to remove.
// Holding the role (sigRead) we hand it on and give up the call (gaveUp).
func (c *Client) settle(id uint32, cl *call) (res error, gaveUp bool) {
	if <-cl.ch == sigRead {
		c.mu.Lock()
		if c.pending[id] == cl {
			delete(c.pending, id)
			c.releaseRoleLocked()
			c.mu.Unlock()
			return nil, true
		}
		c.mu.Unlock()
		<-cl.ch // removed by fail: its sigDone
		c.releaseRole()
	}
	return cl.err, false
}

func (c *Client) putCall(cl *call) {
	cl.method, cl.reply, cl.err, cl.promoted = "", nil, nil, false
	callPool.Put(cl)
}

// Notify sends method(args...) without waiting for (or getting) a response.
// It returns once the notification is queued; writes are batched.
func (c *Client) Notify(ctx context.Context, method string, args ...any) error {
	return c.notify(ctx, method, nil, args)
}

// NotifyArgs is Notify with the arguments encoding themselves (see Args).
func (c *Client) NotifyArgs(ctx context.Context, method string, args Args) error {
	return c.notify(ctx, method, args, nil)
}

func (c *Client) notify(ctx context.Context, method string, args Args, list []any) error {
	if err := ctx.Err(); err != nil {
		return notSent(method, err)
	}
	c.mu.Lock()
	if c.draining && c.err == nil {
		err := c.stoppedErrLocked()
		c.mu.Unlock()
		return notSent(method, err)
	}
	c.mu.Unlock()
	if err := c.w.lock(ctx); err != nil {
		return notSent(method, err)
	}
	n := len(c.w.buf)
	var err error
	c.w.buf, err = appendNotification(c.w.buf, method, args, list)
	if err != nil {
		c.w.buf = c.w.buf[:n]
		c.w.mu.Unlock()
		return notSent(method, err)
	}
	return c.w.commit(true)
}

// closeFlushTimeout bounds how long Close spends writing queued notifications.
const closeFlushTimeout = 2 * time.Second

// Close writes any queued notifications (for at most closeFlushTimeout),
// closes the connection, fails every pending call with ErrClosed and waits
// for the client's goroutines to exit.
func (c *Client) Close() error {
	c.flushQueued(closeFlushTimeout)
	c.fail(ErrClosed)
	c.bg.Wait()
	return nil
}

// flushQueued writes what the writer holds, waiting for a write in progress.
func (c *Client) flushQueued(d time.Duration) {
	deadline := time.Now().Add(d)
	c.nc.SetWriteDeadline(deadline)
	for {
		w := &c.w
		w.mu.Lock()
		if w.err != nil {
			w.mu.Unlock()
			return
		}
		if !w.busy {
			if len(w.buf) == 0 {
				w.mu.Unlock()
				return
			}
			w.busy = true
			_ = w.flushLocked()
			return
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// fail stops the client once: records err, fails the writer and every
// pending call, closes the connection.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = make(map[uint32]*call)
	if c.hookStop != nil {
		c.hookStop() // the ctx no longer holds on to this client
		c.hookDone, c.hookStop = nil, nil
	}
	c.mu.Unlock()
	c.w.fail(err)
	close(c.stop)
	close(c.done)
	c.nc.Close()
	for _, cl := range pending {
		cl.err = fmt.Errorf("transport: %s: %w", cl.method, err)
		cl.ch <- sigDone
	}
}

// wait waits for the response of call id, reading the connection itself
// when nobody else is.
func (c *Client) wait(ctx context.Context, id uint32, cl *call) error {
	c.mu.Lock()
	if c.err == nil && c.pending[id] == cl {
		switch c.role {
		case roleFree:
			c.takeRoleLocked()
			c.mu.Unlock()
			return c.readFor(ctx, id, cl)
		case roleWatcher:
			// Alone on an idle connection: ask the watcher for the role so
			// this goroutine reads its own response. With other calls in
			// flight the watcher delivers.
			if !c.kicked && len(c.pending) == 1 {
				c.kicked = true
				c.setDeadlineLocked(aLongTimeAgo)
			}
		}
	}
	c.mu.Unlock()
	select {
	case sig := <-cl.ch:
		if sig == sigRead {
			return c.readFor(ctx, id, cl)
		}
		err := cl.err
		c.putCall(cl)
		return err
	case <-ctx.Done():
		return c.abandon(id, cl, fmt.Errorf("transport: %s: %w", cl.method, ctx.Err()), false)
	}
}

func (c *Client) takeRoleLocked() {
	c.role = roleCaller
	c.gen++
}

// setDeadlineLocked moves the read deadline (c.mu held).
func (c *Client) setDeadlineLocked(t time.Time) {
	if !t.Equal(c.deadline) {
		c.deadline = t
		c.nc.SetReadDeadline(t)
	}
}

// releaseRole gives the reading role to a waiting caller, or to the watcher.
func (c *Client) releaseRole() {
	c.mu.Lock()
	c.releaseRoleLocked()
	c.mu.Unlock()
}

func (c *Client) releaseRoleLocked() {
	c.role, c.readerDone = roleFree, nil
	if c.err != nil {
		return
	}
	// Other calls waiting: the watcher reads for them at once (one goroutine
	// keeps reading under load). None: it reads after watcherIdle.
	c.watchBusy = len(c.pending) > 0
	if c.watchBusy || c.watchParked {
		c.watchParked = false
		select {
		case c.watchWake <- struct{}{}:
		default:
		}
	}
}

// promoteLocked gives the role to a waiting caller; false if there is none.
func (c *Client) promoteLocked() bool {
	for _, x := range c.pending {
		if !x.promoted {
			x.promoted = true
			c.takeRoleLocked()
			x.ch <- sigRead
			return true
		}
	}
	return false
}

// readFor reads responses, delivering them, until call id's own arrives. The
// caller holds the role.
func (c *Client) readFor(ctx context.Context, id uint32, cl *call) error {
	done := ctx.Done()
	c.mu.Lock()
	dl, _ := ctx.Deadline()
	c.setDeadlineLocked(dl)
	if done != nil && c.err == nil {
		c.readerDone = done
		if c.hookDone != done {
			c.hookLocked(ctx, done)
		}
		if ctx.Err() != nil { // ended before the hook could see this reader
			c.setDeadlineLocked(aLongTimeAgo)
		}
	}
	c.mu.Unlock()
	err := c.readLoop(ctx, id, cl, dl)
	c.putCall(cl)
	return err
}

// hookLocked moves the cancellation hook to ctx (whose Done is done): when ctx
// ends while a caller with that ctx holds the reading role, its read is cut
// short by a past read deadline. c.mu held.
func (c *Client) hookLocked(ctx context.Context, done <-chan struct{}) {
	if c.hookStop != nil {
		c.hookStop()
	}
	c.hookDone = done
	c.hookStop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		if c.readerDone == done {
			c.setDeadlineLocked(aLongTimeAgo)
		}
		if c.hookDone == done {
			c.hookDone, c.hookStop = nil, nil
		}
		c.mu.Unlock()
	})
}

func (c *Client) readLoop(ctx context.Context, id uint32, cl *call, dl time.Time) error {
	var m codec.Message
	for {
		err := c.dec.Next(&m)
		if err != nil {
			if isTimeoutErr(err) {
				c.mu.Lock()
				if c.err == nil && c.pending[id] == cl {
					if ctx.Err() == nil && (dl.IsZero() || time.Now().Before(dl)) { // spurious: a stale wake-up
						c.deadline = time.Time{}.Add(1) // force the set
						c.setDeadlineLocked(dl)
						c.mu.Unlock()
						continue
					}
					delete(c.pending, id)
					c.releaseRoleLocked()
					drained := c.drainedLocked()
					c.mu.Unlock()
					if drained {
						c.stopDrained()
					}
					cause := ctx.Err()
					if cause == nil {
						cause = context.DeadlineExceeded
					}
					return fmt.Errorf("transport: %s: %w", cl.method, cause)
				}
				c.mu.Unlock()
			} else {
				c.fail(fmt.Errorf("%w: read from %s: %w", ErrBroken, c.addr, err))
			}
			// fail removed our call and signalled it.
			<-cl.ch
			c.releaseRole()
			return cl.err
		}
		x := c.take(&m)
		if x == nil {
			continue
		}
		c.complete(x, &m)
		if x == cl {
			c.releaseRole()
			return cl.err
		}
		x.ch <- sigDone
	}
}

// take removes and returns the call a response belongs to (nil if abandoned,
// or not a response). When the client is draining and that was the last
// pending call, it stops the client (the call is still delivered).
func (c *Client) take(m *codec.Message) *call {
	if m.Kind != codec.Response {
		if m.Kind == codec.Notification && m.Method == GoAwayMethod {
			c.goAway()
			return nil
		}
		c.log.Debug("transport: ignoring non-response from server", "kind", m.Kind, "method", m.Method)
		return nil
	}
	c.mu.Lock()
	x := c.pending[m.ID]
	drained := false
	if x != nil {
		delete(c.pending, m.ID)
		drained = c.drainedLocked()
	}
	c.mu.Unlock()
	if drained {
		c.stopDrained()
	}
	return x
}

// goAway handles the server's GoAwayMethod: no new calls on this connection;
// with none pending the client stops now.
func (c *Client) goAway() {
	c.mu.Lock()
	c.draining = true
	drained := c.drainedLocked()
	c.mu.Unlock()
	c.log.Debug("transport: server going away; draining connection", "remote", c.addr)
	if drained {
		c.stopDrained()
	}
}

// drainedLocked tells whether a draining client has no pending call left.
func (c *Client) drainedLocked() bool {
	return c.draining && c.err == nil && len(c.pending) == 0
}

// stopDrained stops a drained client: queued notifications are written first
// (the server still reads), for at most drainFlushTimeout.
func (c *Client) stopDrained() {
	c.flushQueued(drainFlushTimeout)
	c.fail(c.drainedErr())
}

// drainFlushTimeout bounds how long a drained client spends writing queued notifications.
const drainFlushTimeout = 100 * time.Millisecond

func (c *Client) drainedErr() error {
	return fmt.Errorf("%w (%s)", ErrDraining, c.addr)
}

// stoppedErrLocked is why a new call cannot be sent (c.err, or draining).
func (c *Client) stoppedErrLocked() error {
	if c.err != nil {
		return c.err
	}
	return c.drainedErr()
}

// complete decodes a response into its call.
func (c *Client) complete(x *call, m *codec.Message) {
	if len(m.Error) != 1 || m.Error[0] != 0xc0 {
		x.err = &ServerError{Method: x.method, Message: errorText(m.Error)}
	} else if x.reply != nil {
		if err := codec.Decode(m.Result, x.reply); err != nil {
			x.err = fmt.Errorf("transport: %s: decode result: %w", x.method, err)
		}
	}
}

// watch reads the connection when no caller does: right away while calls
// are in flight (see releaseRoleLocked), and after watcherIdle of quiet
// otherwise, so that a peer closing the connection is noticed.
func (c *Client) watch() {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var m codec.Message
	for {
		select {
		case <-c.watchWake:
		case <-c.stop:
			return
		}
		c.mu.Lock()
		c.watchParked = false
		c.mu.Unlock()
		waited := false
		var gen uint64
		idle := watcherIdle
		for {
			c.mu.Lock()
			if c.err != nil {
				c.mu.Unlock()
				return
			}
			if c.role != roleFree {
				// A caller reads. Look again after watcherIdle (or when woken because
				// calls wait) rather than parking until it is done: a lone caller
				// calling back to back would otherwise wake this goroutine once per
				// call, only for it to find the role taken again. The interval
				// doubles (to watcherMaxIdle) while one long call keeps the role.
				c.mu.Unlock()
				t.Reset(idle)
				idle = min(2*idle, watcherMaxIdle)
				select {
				case <-t.C:
				case <-c.watchWake:
					t.Stop()
				case <-c.stop:
					return
				}
				continue
			}
			if c.watchBusy || len(c.pending) > 0 || waited && c.gen == gen {
				c.role, c.kicked, c.watchBusy = roleWatcher, false, false
				c.setDeadlineLocked(time.Time{})
				c.mu.Unlock()
				c.watchRead(&m)
				c.mu.Lock()
				c.watchParked = true
				c.mu.Unlock()
				break
			}
			gen, waited, idle = c.gen, true, watcherIdle
			c.mu.Unlock()
			t.Reset(watcherIdle)
			select {
			case <-t.C:
			case <-c.watchWake: // calls are waiting
				t.Stop()
			case <-c.stop:
				return
			}
		}
	}
}

// watchRead reads as the watcher until kicked or the connection fails.
func (c *Client) watchRead(m *codec.Message) {
	for {
		err := c.dec.Next(m)
		if err != nil {
			if isTimeoutErr(err) {
				c.mu.Lock()
				if c.err != nil {
					c.role = roleFree
					c.mu.Unlock()
					return
				}
				if c.kicked {
					c.kicked = false
					c.role = roleFree
					if c.promoteLocked() {
						c.mu.Unlock()
						return
					}
					c.role = roleWatcher // the kicker was answered meanwhile
				}
				c.deadline = time.Time{}.Add(1)
				c.setDeadlineLocked(time.Time{})
				c.mu.Unlock()
				continue
			}
			c.fail(fmt.Errorf("%w: read from %s: %w", ErrBroken, c.addr, err))
			return
		}
		if x := c.take(m); x != nil {
			c.complete(x, m)
			x.ch <- sigDone
		}
	}
}

func isTimeoutErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errorText renders a response's error field: a string as is, anything else
// in Go syntax.
func errorText(raw []byte) string {
	var v any
	if err := codec.Decode(raw, &v); err != nil {
		return fmt.Sprintf("undecodable error field: %v", err)
	}
	if s, ok := v.(string); ok {
		return s
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprintf("%v", v)
}
