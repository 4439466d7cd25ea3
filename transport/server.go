package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// Handler runs one call. params is the raw msgpack params array (decode it
// with codec.DecodeParams); it is valid only until the handler returns. ctx is
// cancelled when the connection is closed hard (malformed input, write
// failure, Server.Close or an expired Shutdown) or the peer closes its side
// (its caller is gone, as with net/http). When the caller sent a per-call
// context (docs/WIRE.md), ctx also has the caller's deadline, carries its
// metadata (MetadataFrom) and is cancelled when the caller cancels the call.
// PeerFrom(ctx) is the caller's address. A non-nil error is sent to
// the caller as its message string; result is ignored then.
type Handler func(ctx context.Context, params []byte) (result any, err error)

// DefaultMaxConcurrent is the handler concurrency when ServerOptions.MaxConcurrent is 0.
const DefaultMaxConcurrent = 1024

// ServerOptions configure a Server. The zero value is usable.
type ServerOptions struct {
	// MaxConcurrent bounds handlers running at once over all connections
	// (the IDL's worker_sum for the thread model). 0 means DefaultMaxConcurrent.
	// When it is reached the server stops reading requests until one finishes.
	MaxConcurrent int
	// Limits bound incoming messages; zero fields mean codec defaults.
	Limits codec.Limits
	// Logger receives connection errors and handler panics. nil means no logging.
	Logger *slog.Logger
	// MaxQueue bounds the requests waiting for a handler slot (over all connections)
	// while MaxConcurrent handlers run. A request beyond the bound is answered at
	// once with an error starting with "server busy" (see BusyMessage) and does not
	// run; a notification beyond it is dropped. A waiting request whose connection
	// closes is dropped without running. A call of a method that has proven fast
	// waits on its connection's read loop instead of in a goroutine of its own
	// (backpressure on that connection; counted in MaxQueue and shed after
	// QueueTimeout all the same). 0 means DefaultMaxQueue; a negative value sheds
	// as soon as every slot is busy.
	MaxQueue int
	// QueueTimeout bounds how long a request waits for a handler slot before it is
	// answered "server busy" without running. 0 means no limit (MaxQueue still applies).
	QueueTimeout time.Duration
	// MaxConnInFlight bounds the calls of one connection that are running or whose
	// responses wait to be written; at the bound the server stops reading that
	// connection. With the per-connection write queue bound (1 MiB) this keeps a
	// client that sends requests but never reads its responses from holding more
	// than a bounded amount of memory or any handler slot. 0 means DefaultMaxConnInFlight.
	MaxConnInFlight int
	// DrainGrace is how quiet a connection must be during Shutdown before the
	// server stops reading it. Shutdown sends every connection a GoAwayMethod
	// notification and keeps reading and answering what arrives (a request
	// already on its way, or sent by a client that does not know GoAwayMethod);
	// a connection that has no call in flight and has sent nothing for DrainGrace
	// stops being read and closes once its responses are written. Reading stops
	// in any case DrainMaxFactor × DrainGrace after Shutdown began.
	// 0 means DefaultDrainGrace.
	DrainGrace time.Duration
	// WriteTimeout closes a connection whose peer has not taken a response write
	// for this long (a client that sends requests but never reads its responses).
	// 0 means DefaultWriteTimeout; a negative value means no limit.
	WriteTimeout time.Duration
	// MessageTimeout closes a connection that has not completed a message this
	// long after it began sending it (a partial frame left pending, a slowloris
	// client). One ticker per server checks it every min(1s, MessageTimeout/8),
	// with no timer per message, so it fires up to that much late.
	// 0 means DefaultMessageTimeout; a negative value means no limit.
	MessageTimeout time.Duration
	// IdleTimeout closes a connection that has sent nothing, has nothing in
	// flight and no partial message for this long; it is first sent a
	// GoAwayMethod notification and drained as in Shutdown, so a pooled client
	// moves to a new connection without losing a request in flight.
	// 0 means DefaultIdleTimeout; a negative value means no limit.
	IdleTimeout time.Duration
	// MaxConns bounds the open connections. A connection accepted beyond it is
	// closed at once (counted in ServerStats.Refused); those open keep working.
	// 0 means DefaultMaxConns; a negative value means no limit.
	MaxConns int
	// MaxBufferedBytes bounds the bytes of partial (not yet complete) requests
	// buffered over all connections. Beyond it a connection holding a partial
	// message of 4 KiB or more stops being read (others read on, 4 KiB at a
	// time) until the total drops; one that stays stopped is closed by
	// MessageTimeout. A connection holding all the buffered bytes itself always
	// reads on, so one message up to Limits.MaxMessageSize always completes.
	// 0 means DefaultMaxBufferedBytes; a negative value means no limit.
	MaxBufferedBytes int64
	// Middleware wraps every handler at Register, Middleware[0] outermost
	// (see Middleware). nil means none, at no cost.
	Middleware []Middleware
	// TLS, when set, makes every accepted connection speak TLS with this
	// configuration (set ClientAuth and ClientCAs for mutual TLS). The
	// handshake runs in the connection's own goroutine, off the accept loop,
	// and counts against MaxConns; one that fails or does not finish within
	// HandshakeTimeout closes the connection and is logged with the peer and
	// the reason. nil means plaintext.
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS handshake (a client that connects and
	// sends nothing, or half a ClientHello). 0 means DefaultHandshakeTimeout;
	// a negative value means no limit. Unused without TLS.
	HandshakeTimeout time.Duration
}

// Defaults for ServerOptions' zero values.
const (
	DefaultMaxQueue        = 1024
	DefaultMaxConnInFlight = 256
	DefaultDrainGrace      = 100 * time.Millisecond
	// DrainMaxFactor bounds how long Shutdown keeps reading a busy connection,
	// in units of DrainGrace.
	DrainMaxFactor          = 20
	DefaultWriteTimeout     = 30 * time.Second
	DefaultMessageTimeout   = 30 * time.Second
	DefaultIdleTimeout      = 10 * time.Minute
	DefaultMaxConns         = 20000
	DefaultMaxBufferedBytes = 64 << 20
	DefaultHandshakeTimeout = 10 * time.Second
)

// BusyMessage starts the error string of a request shed by MaxQueue or QueueTimeout.
const BusyMessage = "server busy"

// ServerStats is a snapshot of a Server's counters.
type ServerStats struct {
	Conns    int64 // open connections
	InFlight int64 // handlers running
	Calls    int64 // requests and notifications dispatched since start
	Queued   int64 // requests waiting for a handler slot
	Shed     int64 // requests answered "server busy" (and notifications dropped) since start
	Refused  int64 // connections closed at accept because MaxConns were open, since start
	TimedOut int64 // connections closed by MessageTimeout, since start
	IdleShut int64 // connections told to go away by IdleTimeout, since start
	Buffered int64 // bytes of partial requests buffered now (MaxBufferedBytes)
	// NotifyFailed counts failed notifications since start: the handler
	// returned an error (bad params included) or the method is unknown.
	NotifyFailed int64
	// Expired counts calls not run because the caller's deadline passed
	// before they started (DeadlineMessage), since start.
	Expired int64
	// TLSFailed counts TLS handshakes that failed or timed out, since start.
	TLSFailed int64
}

// Server serves registered handlers over msgpack-rpc. Register before Serve;
// Serve, Shutdown, Close and Stats are safe for concurrent use.
type Server struct {
	opts     ServerOptions
	log      *slog.Logger
	handlers map[string]*method
	sem      chan struct{}

	mu        sync.Mutex
	shutting  bool
	goaway    bool      // Shutdown (not Close) began: draining connections are told GoAwayMethod
	drainEnd  time.Time // when draining connections stop reading in any case
	listeners map[net.Listener]struct{}
	conns     map[*serverConn]struct{}
	shaking   map[net.Conn]struct{} // connections in their TLS handshake

	nconns       atomic.Int64
	inflight     atomic.Int64
	calls        atomic.Int64
	queued       atomic.Int64
	shed         atomic.Int64
	refused      atomic.Int64
	timedOut     atomic.Int64
	idleShut     atomic.Int64
	notifyFailed atomic.Int64
	expired      atomic.Int64
	tlsFailed    atomic.Int64

	buf                    bufferBound   // MaxBufferedBytes
	sweeping               bool          // the sweeper runs (under mu)
	stop                   chan struct{} // closed by beginShutdown: stops the sweeper
	notifyWarns, connWarns logLimiter
}

// NewServer returns a Server with opts.
func NewServer(opts ServerOptions) *Server {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	switch {
	case opts.MaxQueue == 0:
		opts.MaxQueue = DefaultMaxQueue
	case opts.MaxQueue < 0:
		opts.MaxQueue = 0
	}
	if opts.MaxConnInFlight <= 0 {
		opts.MaxConnInFlight = DefaultMaxConnInFlight
	}
	if opts.DrainGrace <= 0 {
		opts.DrainGrace = DefaultDrainGrace
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	opts.MessageTimeout = orDefault(opts.MessageTimeout, DefaultMessageTimeout)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, DefaultIdleTimeout)
	opts.MaxConns = int(orDefault(int64(opts.MaxConns), DefaultMaxConns))
	opts.MaxBufferedBytes = orDefault(opts.MaxBufferedBytes, DefaultMaxBufferedBytes)
	opts.HandshakeTimeout = orDefault(opts.HandshakeTimeout, DefaultHandshakeTimeout)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{
		opts:      opts,
		log:       log,
		handlers:  make(map[string]*method),
		sem:       make(chan struct{}, opts.MaxConcurrent),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*serverConn]struct{}),
		shaking:   make(map[net.Conn]struct{}),
		buf:       bufferBound{max: opts.MaxBufferedBytes, room: make(chan struct{})},
		stop:      make(chan struct{}),
	}
}

// orDefault maps an option's 0 to def and a negative value (no limit) to 0.
func orDefault[T ~int64](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Register installs h, wrapped in ServerOptions.Middleware, for the method name.
// Call it before Serve; a later Register for the same name replaces the
// earlier one. A name starting with ReservedPrefix panics.
func (s *Server) Register(name string, h Handler) {
	if isReserved(name) {
		panic("transport: Register " + name + ": names starting with " + ReservedPrefix + " are reserved for the svrkit protocol")
	}
	s.handlers[name] = &method{h: chain(s.opts.Middleware, name, h)}
}

// Stats returns the current counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{Conns: s.nconns.Load(), InFlight: s.inflight.Load(), Calls: s.calls.Load(),
		Queued: s.queued.Load(), Shed: s.shed.Load(), Refused: s.refused.Load(), TimedOut: s.timedOut.Load(),
		IdleShut: s.idleShut.Load(), Buffered: s.buf.total.Load(), NotifyFailed: s.notifyFailed.Load(),
		Expired: s.expired.Load(), TLSFailed: s.tlsFailed.Load()}
}

// Serve accepts connections on ln until Shutdown or Close (then it returns
// ErrServerClosed) or a permanent accept error. It closes ln on return.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	if !s.sweeping && (s.opts.MessageTimeout > 0 || s.opts.IdleTimeout > 0) {
		s.sweeping = true
		go s.sweep()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			shutting := s.shutting
			s.mu.Unlock()
			if shutting {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("transport: accept error, retrying", "err", err, "delay", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if max := s.opts.MaxConns; max > 0 && s.nconns.Load() >= int64(max) {
			// Refused cheaply: no goroutine, no buffer; the open ones keep working.
			nc.Close()
			s.refused.Add(1)
			s.warn(&s.connWarns, "transport: connection refused: max_conns open", "max", max, "remote", nc.RemoteAddr())
			continue
		}
		if s.opts.TLS != nil {
			s.startHandshake(nc)
			continue
		}
		s.startConn(nc, false)
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// startConn serves nc; counted: it is counted in nconns already (it was
// counted when its TLS handshake began).
func (s *Server) startConn(nc net.Conn, counted bool) {
	c := newServerConn(s, nc)
	s.mu.Lock()
	goaway := false
	if s.shutting {
		// Accepted as Shutdown began: answer what it sends within the drain grace
		// rather than reset it (its listener may be shared with a successor).
		c.startDrain(s.drainEnd)
		goaway = s.goaway
	}
	s.conns[c] = struct{}{}
	if !counted {
		s.nconns.Add(1)
	}
	s.mu.Unlock()
	go c.serve()
	if goaway {
		go c.sendGoAway()
	}
}

func (s *Server) removeConn(c *serverConn) {
	s.mu.Lock()
	if _, ok := s.conns[c]; ok {
		delete(s.conns, c)
		s.nconns.Add(-1)
	}
	s.mu.Unlock()
}

// Shutdown stops accepting and sends every connection a GoAwayMethod
// notification (a client that knows it sends no new requests on that
// connection). It keeps answering requests that still arrive until the
// connection has no call in flight and has been quiet for DrainGrace (see
// ServerOptions.DrainGrace), lets in-flight handlers finish and their
// responses go out, then closes every connection. If ctx ends first it closes
// everything at once (as Close) and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	for _, c := range s.beginShutdown(true) {
		go c.sendGoAway()
	}
	delay := time.Millisecond
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		if s.nconns.Load() == 0 && s.serving() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-t.C:
			delay = min(2*delay, 50*time.Millisecond)
			t.Reset(delay)
		}
	}
}

var aLongTimeAgo = time.Unix(1, 0)

// serving is the number of Serve loops still running (a connection they accept
// is still added).
func (s *Server) serving() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.listeners)
}

// beginShutdown stops accepting and starts draining every connection; with
// goaway (Shutdown) it returns the connections to send GoAwayMethod to.
func (s *Server) beginShutdown(goaway bool) []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting {
		return nil
	}
	s.shutting, s.goaway = true, goaway
	close(s.stop)
	for ln := range s.listeners {
		ln.Close()
	}
	for nc := range s.shaking {
		nc.Close() // its handshake goroutine sees it fail and uncounts it
	}
	s.drainEnd = time.Now().Add(DrainMaxFactor * s.opts.DrainGrace)
	var told []*serverConn
	for c := range s.conns {
		// The read loop reads until the connection is quiet (see startDrain),
		// then stops reading; the connection closes once its in-flight calls
		// are answered.
		c.startDrain(s.drainEnd)
		if goaway {
			told = append(told, c)
		}
	}
	return told
}

// Close closes the listeners and every connection at once; running handlers
// see their context cancelled and their responses are dropped.
func (s *Server) Close() error {
	s.beginShutdown(false)
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeHard(ErrServerClosed)
	}
	return nil
}

// isBenignReadErr tells whether a read loop error is a normal end.
func isBenignReadErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed)
}
