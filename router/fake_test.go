package router

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// fakeNet is an in-memory network of servers for routing-logic tests.
// Each call replies with the address that served it.
type fakeNet struct {
	mu      sync.Mutex
	dials   map[string]int
	calls   map[string]int
	dialErr map[string]error                                                       // addr -> dial fails
	handler map[string]func(ctx context.Context, c *fakeConn, method string) error // addr -> call behaviour
	alive   map[string]bool                                                        // addr -> probe answers (default true)
}

func newFakeNet() *fakeNet {
	return &fakeNet{dials: map[string]int{}, calls: map[string]int{}, dialErr: map[string]error{},
		handler: map[string]func(context.Context, *fakeConn, string) error{}, alive: map[string]bool{}}
}

func (n *fakeNet) dial(ctx context.Context, addr string) (conn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dials[addr]++
	if err := n.dialErr[addr]; err != nil {
		return nil, err
	}
	return &fakeConn{n: n, addr: addr, done: make(chan struct{})}, nil
}

func (n *fakeNet) probe(ctx context.Context, addr string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if a, ok := n.alive[addr]; ok && !a {
		return errors.New("connection refused")
	}
	return nil
}

func (n *fakeNet) set(f func(n *fakeNet)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f(n)
}

func (n *fakeNet) count(m map[string]int, addr string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return m[addr]
}

func (n *fakeNet) options() Options {
	return Options{dial: n.dial, probe: n.probe, ProbeInterval: 20 * time.Millisecond,
		CallTimeout: 200 * time.Millisecond, MinBackoff: time.Hour, MaxBackoff: time.Hour}
}

type fakeConn struct {
	n    *fakeNet
	addr string
	done chan struct{}
	once sync.Once
}

func (c *fakeConn) CallArgs(ctx context.Context, method string, reply any, args transport.Args) error {
	c.n.mu.Lock()
	c.n.calls[c.addr]++
	h := c.n.handler[c.addr]
	c.n.mu.Unlock()
	if h != nil {
		if err := h(ctx, c, method); err != nil {
			return err
		}
	}
	if p, ok := reply.(*string); ok {
		*p = c.addr
	}
	return nil
}

func (c *fakeConn) NotifyArgs(ctx context.Context, method string, args transport.Args) error {
	return c.CallArgs(ctx, method, nil, args)
}

func (c *fakeConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

func (c *fakeConn) Done() <-chan struct{} { return c.done }

// Behaviours.
var (
	errRefused = errors.New("connection refused")
	hang       = func(ctx context.Context, c *fakeConn, method string) error { <-ctx.Done(); return ctx.Err() }
	notSent    = func(ctx context.Context, c *fakeConn, method string) error {
		c.Close()
		return errors.Join(transport.ErrNotSent, errors.New("write: broken pipe"))
	}
	lostMidCall = func(ctx context.Context, c *fakeConn, method string) error {
		c.Close()
		return transport.ErrClosed
	}
	appError = func(ctx context.Context, c *fakeConn, method string) error {
		return &transport.ServerError{Method: method, Message: "boom"}
	}
)
