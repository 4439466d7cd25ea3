package router

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// Options tunes a Client. The zero value is pysvrkit's behaviour: a random
// hashring key per client, 3 attempts, 3 s per attempt.
type Options struct {
	// HasID says ID is set, as in the seed's Client(conf, id). Sharding
	// needs it (the shard is ID % shardsum); in hashring mode ID becomes the
	// ring key instead of a random one.
	HasID bool
	ID    int64

	// Attempts is how many times a call may be tried, failing over between
	// servers; 0 means 3. Only attempts that certainly never reached a
	// server are repeated, unless CallOptions allow more.
	Attempts int
	// CallTimeout bounds each attempt (dial included), always within the
	// caller's context; 0 means 3 s. Attempts share deadlines to save a
	// timer per call, so one may end up to CallTimeout/16 early, never late.
	CallTimeout time.Duration

	// ProbeInterval is how long after its ejection a server is first
	// probed; while its probes fail the delay doubles up to
	// MaxProbeInterval. A server ejected again within MaxProbeInterval of
	// its readmission keeps its doubled delay. 0 means 1 s.
	ProbeInterval time.Duration
	// MaxProbeInterval caps the probe delay of a down server; 0 means 30 s.
	MaxProbeInterval time.Duration
	// ProbeTimeout bounds one probe: a dial and a transport.PingMethod
	// request, which the server must answer (a "method not found" error
	// from a server that does not know it counts as an answer). 0 means 1 s.
	ProbeTimeout time.Duration
	// MinBackoff is the redial delay after a server's first failure; it
	// doubles with each further consecutive failure up to MaxBackoff, and
	// a random 50-100% of it is used. 0 means 100 ms and 5 s.
	MinBackoff, MaxBackoff time.Duration

	// Transport configures the connections.
	Transport transport.ClientOptions
	// Middleware wraps every call and notification, [0] outermost (see
	// Middleware); nil means none, at no cost.
	Middleware []Middleware
	// Logger receives ejections and readmissions; nil discards them.
	Logger *slog.Logger

	// Registry, when set, supplies the servers in place of the Config's
	// (see Registry); the Config then only gives Mode and ShardSum.
	Registry Registry
	// RegistryWait bounds New's wait for the registry's first snapshot; 0
	// means the config's [registry] wait, or DefaultRegistryWait.
	RegistryWait time.Duration

	dial  dialFunc                                     // nil: transport.Dial
	probe func(ctx context.Context, addr string) error // nil: pingProbe
}

// CallOptions tunes one call.
type CallOptions struct {
	// Key, when not empty, picks the hashring server for this call instead
	// of the client's key (same key, same server while it is up). Ignored in
	// sharding mode.
	Key string
	// Idempotent allows a retry on another attempt even when the request
	// may have reached the server (timeout, connection lost mid-call).
	Idempotent bool
	// RetryNotify is Idempotent for Notify: a notification that may have
	// been delivered is sent again only when set.
	RetryNotify bool
}

// Client routes calls to the servers of a Config or of a Registry's latest
// snapshot. It is safe for concurrent use. Close releases its connections,
// its prober goroutine and its registry watch.
type Client struct {
	cfg    Config // Mode and ShardSum; the servers are the view's
	opts   Options
	log    *slog.Logger
	probe  func(ctx context.Context, addr string) error
	defKey string // hashring: the client's key

	view    atomic.Pointer[view]        // the current membership's routing table
	epMu    sync.Mutex                  // guards eps and retired
	eps     map[string]*endpoint        // the current membership's servers, by address
	retired map[string]*retiredEndpoint // servers that left, closed after CallTimeout

	deadlines sharedDeadline // attempt contexts shared between calls (attemptCtx)
	scratch   sync.Pool      // *scratch, reused by every call

	// mw is Options.Middleware's chain, with the [server] auth_token_file
	// token's (transport.AuthMetadataKey metadata); nil when empty.
	mw Invoker

	closed atomic.Bool
	wake   chan struct{}
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

type shard struct {
	server     int    // index in the view's servers
	name       string // section or registry key
	begin, end int
	master     *endpoint
	backup     *endpoint // nil: none
}

// New returns a Client for cfg. It dials nothing: each server's connection
// is opened by the first call that needs it. When the servers come from a
// registry (cfg.Registry or opts.Registry), New waits for its first snapshot
// (at most RegistryWait) and the client then follows it until Close.
func New(cfg *Config, opts Options) (*Client, error) {
	if err := validateFor(cfg, opts); err != nil {
		return nil, err
	}
	if cfg.Mode == ModeSharding && !opts.HasID {
		return nil, ErrNoID
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 3 * time.Second
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = time.Second
	}
	if opts.MaxProbeInterval <= 0 {
		opts.MaxProbeInterval = 30 * time.Second
	}
	opts.MaxProbeInterval = max(opts.MaxProbeInterval, opts.ProbeInterval)
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Second
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	token, err := applySecurity(cfg, &opts)
	if err != nil {
		return nil, err
	}
	if opts.dial == nil {
		topts := opts.Transport
		opts.dial = func(ctx context.Context, addr string) (conn, error) {
			c, err := transport.Dial(ctx, addr, topts)
			if err != nil {
				return nil, err
			}
			return c, nil
		}
	}
	c := &Client{cfg: *cfg, opts: opts, log: opts.Logger, probe: opts.probe, wake: make(chan struct{}, 1),
		eps: make(map[string]*endpoint), retired: make(map[string]*retiredEndpoint)}
	c.cfg.Servers = nil
	c.mw = c.chainInvoker(opts.Middleware, token)
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.probe == nil {
		c.probe = c.pingProbe
	}
	if cfg.Mode == ModeHashring {
		if opts.HasID {
			c.defKey = strconv.FormatInt(opts.ID, 10)
		} else {
			c.defKey = randomKey()
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	c.wg.Add(1)
	go c.probeLoop(ctx)
	if err := c.follow(ctx, cfg); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Open reads the client config at confPath (LoadConfig) and returns a Client
// for it, like pysvrkit's Client(conf, id): a generated client's NewClient.
// The optional id is Options.ID: the sharding id (sharding mode) or the hash
// ring key (hashring mode); without it a hashring client picks a random key.
func Open(confPath string, id ...int64) (*Client, error) {
	if len(id) > 1 {
		return nil, fmt.Errorf("router: at most one id, got %d", len(id))
	}
	cfg, err := LoadConfig(confPath)
	if err != nil {
		return nil, err
	}
	var opts Options
	if len(id) == 1 {
		opts.HasID, opts.ID = true, id[0]
	}
	return New(cfg, opts)
}

// randomKey is pysvrkit's per-client ring key: 8 random letters, so that
// clients, not requests, spread over the ring.
func randomKey() string {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return string(b)
}

// Call sends method(args...) and decodes the result into reply (nil
// discards it): the call for hand-written code (generated clients use
// CallWith). A *transport.ServerError (the handler's error) is returned as is
// and never fails over.
func (c *Client) Call(ctx context.Context, method string, reply any, args []any, opt CallOptions) error {
	s := c.getScratch()
	s.list = args
	err := c.call(ctx, method, reply, &s.list, opt)
	c.putScratch(s)
	return err
}

// Notify sends method(args...) as a notification (no response). It is
// repeated after a failure only when it certainly was not sent, or when
// opt.RetryNotify (or opt.Idempotent) is set.
func (c *Client) Notify(ctx context.Context, method string, args []any, opt CallOptions) error {
	s := c.getScratch()
	s.list = args
	err := c.notify(ctx, method, &s.list, opt)
	c.putScratch(s)
	return err
}

// call and notify are the one path of every call and notification.
func (c *Client) call(ctx context.Context, method string, reply any, args transport.Args, opt CallOptions) error {
	opt = keyOf(ctx, opt)
	if c.mw != nil {
		return c.mw(context.WithValue(ctx, callKey{}, &callInfo{opt: opt}), method, args, reply)
	}
	r := request{method: method, reply: reply, args: args}
	return c.do(ctx, &r, opt, opt.Idempotent)
}

func (c *Client) notify(ctx context.Context, method string, args transport.Args, opt CallOptions) error {
	opt = keyOf(ctx, opt)
	if c.mw != nil {
		return c.mw(context.WithValue(ctx, callKey{}, &callInfo{opt: opt, notify: true}), method, args, nil)
	}
	r := request{method: method, args: args, notify: true}
	return c.do(ctx, &r, opt, opt.RetryNotify || opt.Idempotent)
}

// Close closes every connection and stops the prober. Calls in flight fail.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.stop()
	c.closeEndpoints()
	c.wg.Wait()
	c.deadlines.close()
	return nil
}

// Mode is the client's routing mode.
func (c *Client) Mode() string { return c.cfg.Mode }

// shardOf is pysvrkit's id % shardsum with Python's sign rule: the result is
// in 0..shardsum-1 for negative ids too (-1 -> shardsum-1).
func shardOf(id int64, shardsum int) int {
	s := int(id % int64(shardsum))
	if s < 0 {
		s += shardsum
	}
	return s
}

// rebuild rebuilds the current view's ring after a server went down or
// came back.
func (c *Client) rebuild() { c.view.Load().rebuild(c.defKey) }

// wakeProber tells the prober that a server went down.
func (c *Client) wakeProber() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
