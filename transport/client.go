package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
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
	// TLS, when set, makes Dial speak TLS with this configuration, the
	// handshake bounded by DialTimeout and Dial's ctx; an empty ServerName is
	// taken from the address's host. nil means plaintext.
	TLS *tls.Config

	// Plain, when set, never asks the server for the per-call context
	// extension (no HelloMethod request): every request is plain
	// msgpack-rpc, and deadlines and metadata stay local. The zero value
	// asks, which a plain server answers with an error (it then gets plain
	// requests only); set Plain for a server that cannot take an unknown
	// method.
	Plain bool
}

// Client is one multiplexed msgpack-rpc connection: any number of goroutines
// may Call and Notify at once; responses are matched by msgid.
//
// Like net/rpc's client it keeps the pending calls by msgid and completes
// each with its response. Reading the responses is left to a receiver: on a
// connection with read deadlines (a net.Conn) a waiting caller reads them
// itself (callerReads, no goroutine hop for a lone call); on any other
// io.ReadWriteCloser one goroutine reads them all (readLoop).
type Client struct {
	conn io.ReadWriteCloser
	addr string
	log  *slog.Logger
	dec  *codec.Decoder
	w    connWriter
	rd   receiver

	mu       sync.Mutex
	pending  map[uint32]*call
	nextID   uint32
	err      error // why the client stopped (ErrClosed or a broken connection)
	draining bool  // the server sent GoAwayMethod: no new calls

	hello     atomic.Uint32 // helloWaiting, helloExt or helloPlain (clientext.go)
	helloOpen bool          // the hello's answer is awaited (guarded by mu)
	helloDone chan struct{} // closed once the hello is settled
	helloWait *time.Timer   // settles an unanswered hello as plain after DialTimeout

	stop chan struct{} // closed by fail: stops the background goroutines
	done chan struct{} // closed by fail: the connection is gone
	bg   sync.WaitGroup
}

// receiver is the read side of a Client: it gets responses off the
// connection (Client.deliver) for the calls waiting for them.
type receiver interface {
	// wait returns nil once cl is complete (cl.err holds its outcome), or
	// ctx's error once ctx ended and cl was withdrawn from the pending calls
	// (at once if ctx has already ended).
	wait(ctx context.Context, cl *call) error
	// run is the receiver's goroutine, until stop is closed.
	run(stop <-chan struct{})
	// failedLocked is called once by fail, with c.mu held.
	failedLocked()
}

// Call signals.
const (
	sigDone = 1 // the call is complete (err/reply set) and no longer pending
	sigTurn = 2 // callerReads: the call's goroutine now holds the turn to read
)

// call is one pending request; pooled. Whoever removes a call from pending,
// other than its own goroutine, sends it exactly one sigDone.
type call struct {
	id      uint32
	method  string
	reply   any
	err     error
	ch      chan uint8
	ext     bool // sent extended: a DeadlineMessage/CanceledMessage answer is a ctx error
	waiting bool // callerReads: its goroutine waits for a signal (guarded by c.mu)
}

var callPool = sync.Pool{New: func() any { return &call{ch: make(chan uint8, 2)} }}

// Dial connects to addr over TCP (with TLS when opts.TLS is set) and returns
// a Client on it.
func Dial(ctx context.Context, addr string, opts ClientOptions) (*Client, error) {
	timeout := opts.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	d := net.Dialer{Timeout: timeout}
	var nc net.Conn
	var err error
	if opts.TLS != nil {
		nc, err = (&tls.Dialer{NetDialer: &d, Config: opts.TLS}).DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	var oe *net.OpError
	if err != nil && opts.TLS != nil && !(errors.As(err, &oe) && oe.Op == "dial") {
		return nil, fmt.Errorf("transport: TLS handshake with %s: %w", addr, err)
	}
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err) // "dial tcp <addr>: ..."
	}
	return NewClient(nc, opts), nil
}

// NewClient runs a Client on an established connection; the Client owns it.
// A net.Conn (TCP, Unix, TLS, net.Pipe) lets callers read their own
// responses; any other io.ReadWriteCloser gets a reader goroutine.
func NewClient(conn io.ReadWriteCloser, opts ClientOptions) *Client {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		conn:      conn,
		addr:      remoteAddr(conn),
		log:       log,
		dec:       codec.NewDecoder(conn, opts.Limits),
		pending:   make(map[uint32]*call),
		nextID:    helloID + 1,
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		helloDone: make(chan struct{}),
	}
	if dc, ok := conn.(readDeadliner); ok {
		c.rd = newCallerReads(c, dc)
	} else {
		c.rd = &readLoop{c: c}
	}
	c.w.conn = conn
	c.w.kick = make(chan struct{}, 1)
	c.w.onErr = func(err error) { c.fail(fmt.Errorf("%w: write to %s: %w", ErrBroken, c.addr, err)) }
	if opts.Plain {
		c.hello.Store(helloPlain)
		close(c.helloDone)
	} else {
		wait := opts.DialTimeout
		if wait <= 0 {
			wait = DefaultDialTimeout
		}
		c.sendHello(wait)
	}
	c.bg.Add(2)
	go func() {
		defer c.bg.Done()
		c.w.background(c.stop)
	}()
	go func() {
		defer c.bg.Done()
		c.rd.run(c.stop)
	}()
	return c
}

// remoteAddr names the peer in errors and logs.
func remoteAddr(conn io.ReadWriteCloser) string {
	if nc, ok := conn.(net.Conn); ok && nc.RemoteAddr() != nil {
		return nc.RemoteAddr().String()
	}
	return fmt.Sprintf("%T", conn)
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
//
// ctx's deadline and outgoing metadata (WithMetadata) travel with the call
// to a server that speaks the per-call context extension (docs/WIRE.md),
// which then also learns when ctx ends before the reply. Its answer that the
// deadline passed or the call was cancelled is a *ServerError that also
// satisfies errors.Is(err, context.DeadlineExceeded) or context.Canceled.
func (c *Client) Call(ctx context.Context, method string, reply any, args ...any) error {
	return c.call(ctx, method, reply, nil, args)
}

// CallArgs is Call with the arguments encoding themselves (see Args). args is
// encoded before CallArgs returns and not kept.
func (c *Client) CallArgs(ctx context.Context, method string, reply any, args Args) error {
	return c.call(ctx, method, reply, args, nil)
}

// call sends a request and waits for its response: the one path of Call and
// CallArgs. Its params are args, or list when args is nil (see appendParams).
func (c *Client) call(ctx context.Context, method string, reply any, args Args, list []any) error {
	if err := ctx.Err(); err != nil {
		return notSent(method, err)
	}
	var x codec.CallExt
	ext := false
	if c.hello.Load() != helloPlain {
		var err error
		if ext, err = c.callExt(ctx, &x); err != nil {
			return notSent(method, err)
		}
	}
	cl := callPool.Get().(*call)
	cl.method, cl.reply, cl.ext = method, reply, ext
	c.mu.Lock()
	if c.err != nil || c.draining {
		err := c.stoppedErrLocked()
		c.mu.Unlock()
		c.putCall(cl)
		return notSent(method, err)
	}
	id := c.nextID
	for {
		if _, used := c.pending[id]; !used && (id != helloID || !c.helloOpen) {
			break
		}
		id++
	}
	c.nextID = id + 1
	cl.id = id
	c.pending[id] = cl
	// With other calls in flight, hand the write to the background flusher, which
	// yields once first so that every runnable caller's request shares one write;
	// a lone call writes inline (no hop on the sequential path).
	others := len(c.pending) > 1
	c.mu.Unlock()

	if err := c.w.lock(ctx); err != nil {
		return c.abandon(cl, notSent(method, err), true)
	}
	n := len(c.w.buf)
	var err error
	if ext {
		c.w.buf, err = appendRequestExt(c.w.buf, id, method, args, list, &x)
	} else {
		c.w.buf, err = appendRequest(c.w.buf, id, method, args, list)
	}
	if err != nil {
		c.w.buf = c.w.buf[:n]
		c.w.mu.Unlock()
		return c.abandon(cl, notSent(method, err), true)
	}
	if err := c.w.commit(others); err != nil {
		// The write carrying the request failed: it may have been sent.
		return c.abandon(cl, callErr(method, err), false)
	}

	if err = c.rd.wait(ctx, cl); err != nil {
		if ext {
			c.sendCancel(id)
		}
		err = callErr(method, err)
	} else if err = cl.err; ext && errors.Is(err, context.DeadlineExceeded) {
		// The server's deadline (arrival + the time left when sent) ends
		// no earlier than ctx's: wait for ctx to end too, so that a caller
		// looking at ctx.Err() sees the same as errors.Is does.
		if _, ok := ctx.Deadline(); ok {
			<-ctx.Done()
		}
	}
	c.putCall(cl)
	return err
}

// abandon gives up cl after a failure to send it. If cl is no longer ours to
// withdraw (a response or a failure completed it), its outcome wins over err,
// unless unsent says the request certainly never left.
func (c *Client) abandon(cl *call, err error, unsent bool) error {
	if c.rd.wait(doneCtx, cl) == nil && !unsent {
		err = cl.err
	}
	c.putCall(cl)
	return err
}

// doneCtx is an ended context: waiting with it withdraws a call.
var doneCtx = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// withdrawLocked removes cl from the pending calls if it is still there: its
// goroutine gives it up, and no signal will come. c.mu held; the caller
// calls stopDrained after unlocking when drained is set.
func (c *Client) withdrawLocked(cl *call) (ok, drained bool) {
	if c.pending[cl.id] != cl {
		return false, false
	}
	delete(c.pending, cl.id)
	return true, c.drainedLocked()
}

func (c *Client) putCall(cl *call) {
	cl.method, cl.reply, cl.err, cl.waiting, cl.ext = "", nil, nil, false, false
	callPool.Put(cl)
}

// Notify sends method(args...) without waiting for (or getting) a response.
// It returns once the notification is queued; writes are batched. ctx's
// deadline and outgoing metadata travel with it as with Call.
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
	var x codec.CallExt
	ext := false
	if c.hello.Load() != helloPlain {
		var err error
		if ext, err = c.callExt(ctx, &x); err != nil {
			return notSent(method, err)
		}
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
	if ext {
		c.w.buf, err = appendNotificationExt(c.w.buf, method, args, list, &x)
	} else {
		c.w.buf, err = appendNotification(c.w.buf, method, args, list)
	}
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
	if wd, ok := c.conn.(writeDeadliner); ok {
		wd.SetWriteDeadline(deadline)
	} else {
		// No write deadline: a write blocked past d ends with the connection.
		t := time.AfterFunc(d, func() { c.conn.Close() })
		defer t.Stop()
	}
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
	c.endHelloLocked(helloPlain)
	pending := c.pending
	c.pending = make(map[uint32]*call)
	c.rd.failedLocked()
	c.mu.Unlock()
	c.w.fail(err)
	close(c.stop)
	close(c.done)
	c.conn.Close()
	for _, cl := range pending {
		cl.err = callErr(cl.method, err)
		cl.ch <- sigDone
	}
}

// readErr stops the client after reading failed with err, unless it had
// stopped already (Close, a write error).
func (c *Client) readErr(err error) {
	c.fail(fmt.Errorf("%w: read from %s: %w", ErrBroken, c.addr, err))
}

// deliver completes the call m answers, if it is pending: it decodes the
// result and signals the call, unless the call is reader (the goroutine
// reading), for which it reports true instead. It also handles the server's
// GoAwayMethod.
func (c *Client) deliver(m *codec.Message, reader *call) (own bool) {
	x := c.take(m)
	if x == nil {
		return false
	}
	c.complete(x, m)
	if x == reader {
		return true
	}
	x.ch <- sigDone
	return false
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
	} else if m.ID == helloID && c.helloOpen {
		c.helloAnsweredLocked(m)
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
	return c.draining && c.err == nil && !c.awaitingLocked()
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
		se := &ServerError{Method: x.method, Message: errorText(m.Error)}
		if x.ext {
			se.ctxErr = ctxErrOf(se.Message)
		}
		x.err = se
	} else if x.reply != nil {
		if err := codec.Decode(m.Result, x.reply); err != nil {
			x.err = fmt.Errorf("transport: %s: decode result: %w", x.method, err)
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
