package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/svrkit/svrkit/transport"
)

// target is the server one attempt goes to.
type target struct {
	ep     *endpoint
	server int    // index in the view's servers
	name   string // its section or registry key
	role   string // sharding: "master" or "backup"
}

// describe names t's server, without its address when err already names it.
func (c *Client) describe(t target, err error) string {
	name := t.name
	if name == "" {
		name = fmt.Sprintf("Servers[%d]", t.server)
	}
	s := "[" + name + "]"
	if t.role != "" {
		s = fmt.Sprintf("shard %d %s %s", shardOf(c.opts.ID, c.cfg.ShardSum), t.role, s)
	}
	if mentions(err, t.ep.addr) {
		return s
	}
	return s + " " + t.ep.addr
}

// on is the router's part of a message about err, a failure of method on
// t: "router: <method> on <server>", without the method when err already
// names it (the transport's call errors do).
func (c *Client) on(t target, method string, err error) string {
	if mentions(err, "transport: "+method+":") {
		return "router: " + c.describe(t, err)
	}
	return "router: " + method + " on " + c.describe(t, err)
}

// pick chooses the server for the next attempt.
func (c *Client) pick(opt CallOptions) (target, error) {
	v := c.view.Load()
	if c.cfg.Mode == ModeHashring {
		if len(v.members) == 0 {
			return target{}, noMembers(v)
		}
		r := v.ring.Load()
		i := r.member(opt.Key)
		ep := v.members[i].ep
		if !r.all && ep.isDown() {
			// The server went down and the ring is being rebuilt: wait for
			// (or do) the rebuild rather than fail on the stale ring.
			v.rebuild(c.defKey)
			r = v.ring.Load()
			i = r.member(opt.Key)
			ep = v.members[i].ep
		}
		if r.all && !ep.dialable() {
			if err := ep.err(); mentions(err, ep.addr) {
				return target{}, fmt.Errorf("router: all %d servers are down, last error: %w", len(v.members), err)
			}
			return target{}, fmt.Errorf("router: all %d servers are down, last error from %s: %w",
				len(v.members), ep.addr, ep.err())
		}
		return target{ep: ep, server: i, name: v.members[i].name}, nil
	}
	sh := v.myShard
	switch {
	case sh == nil:
		return target{}, c.noShardServer(v)
	case !sh.master.isDown():
		return target{ep: sh.master, server: sh.server, name: sh.name, role: "master"}, nil
	case sh.backup != nil && !sh.backup.isDown():
		return target{ep: sh.backup, server: sh.server, name: sh.name, role: "backup"}, nil
	case sh.master.dialable():
		return target{ep: sh.master, server: sh.server, name: sh.name, role: "master"}, nil
	case sh.backup != nil && sh.backup.dialable():
		return target{ep: sh.backup, server: sh.server, name: sh.name, role: "backup"}, nil
	}
	e := &ShardDownError{Shard: shardOf(c.opts.ID, c.cfg.ShardSum), Server: sh.name,
		Master: sh.master.addr, MasterErr: sh.master.err()}
	if sh.backup != nil {
		e.Backup, e.BackupErr = sh.backup.addr, sh.backup.err()
	}
	return target{}, e
}

// request is one Call or Notify.
type request struct {
	method string
	reply  any
	args   transport.Args
	notify bool
}

func (r *request) send(ctx context.Context, cn conn) error {
	if r.notify {
		return cn.NotifyArgs(ctx, r.method, r.args)
	}
	return cn.CallArgs(ctx, r.method, r.reply, r.args)
}

// do runs r on up to Attempts servers. mayRepeat allows another attempt
// after a failure that may have reached the server.
func (c *Client) do(ctx context.Context, r *request, opt CallOptions, mayRepeat bool) error {
	method := r.method
	var last error
	var lastT target
	for a := 0; a < c.opts.Attempts; a++ {
		if c.closed.Load() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			if last != nil {
				return fmt.Errorf("%s: %w after a failed attempt: %w", c.on(lastT, method, last), err, last)
			}
			return fmt.Errorf("router: %s: %w", method, err)
		}
		t, err := c.pick(opt)
		if err != nil {
			if last != nil && !isShardDown(err) && !errors.Is(err, last) {
				return fmt.Errorf("%w (previous attempt on %s: %w)", err, c.describe(lastT, last), last)
			}
			return err
		}
		retry, err := c.attempt(ctx, t, r, mayRepeat)
		if err == nil || !retry {
			return err
		}
		last, lastT = err, t
	}
	lead := "router: " + method + ": "
	if mentions(last, "transport: "+method+":") {
		lead = "router: "
	}
	return fmt.Errorf("%s%d attempts failed, last on %s: %w", lead, c.opts.Attempts, c.describe(lastT, last), last)
}

// attempt sends once to t. It returns the error and whether another attempt
// may follow it.
func (c *Client) attempt(ctx context.Context, t target, r *request, mayRepeat bool) (retry bool, err error) {
	actx, shared := c.attemptCtx(ctx)
	if shared != nil {
		defer shared.release()
	}
	for redials := 0; ; redials++ {
		cn, up, err := t.ep.get(actx, c.opts.dial)
		retry, err, draining := c.sendOn(ctx, actx, t, cn, up, err, r, mayRepeat)
		if !draining || redials >= maxDrainRedials {
			return retry, err
		}
		// The server said goaway on this connection and the request was not
		// sent: drop the connection (it closes itself once its pending calls
		// are answered) and send on a new one, without counting a failure.
		t.ep.retire(cn)
	}
}

// maxDrainRedials bounds the new connections one attempt dials after goaways.
const maxDrainRedials = 3

// sendOn is one send of attempt on the connection get returned. draining:
// the connection was draining (server goaway) and the request was not sent.
func (c *Client) sendOn(ctx, actx context.Context, t target, cn conn, up bool, err error, r *request, mayRepeat bool) (retry bool, _ error, draining bool) {
	method := r.method
	if up {
		c.changed(t.ep, true, nil)
	}
	if err != nil {
		var unavailable *UnavailableError
		var dialErr *DialError
		switch why := cause(ctx, err); {
		case errors.Is(err, ErrClosed):
			return false, ErrClosed, false
		case why == callerEnded || why == callerDeadline:
			if why == callerDeadline && errors.As(err, &dialErr) {
				c.timedOut(t.ep, err, nil) // our own dial ran out of the caller's time
			}
			return false, c.ctxErr(ctx, t, method, err), false
		case errors.As(err, &unavailable):
			return true, err, false // already down; the next pick avoids it if it can
		}
		c.fail(t.ep, err, nil, false)
		return true, err, false // never sent
	}
	err = r.send(actx, cn)
	if errors.Is(err, transport.ErrDraining) && errors.Is(err, transport.ErrNotSent) && ctx.Err() == nil {
		return true, err, true
	}
	if err == nil {
		if t.ep.strikes.Load() != 0 {
			t.ep.strikes.Store(0)
		}
		if t.ep.isDown() && t.ep.revive() { // reached through a kept connection
			c.changed(t.ep, true, nil)
		}
		return false, nil, false
	}
	if isServerError(err) {
		return false, err, false
	}
	dead := isDone(cn) || errors.Is(err, transport.ErrBroken) || errors.Is(err, transport.ErrClosed)
	switch cause(ctx, err) {
	case callerEnded:
		return false, c.ctxErr(ctx, t, method, err), false
	case callerDeadline:
		c.timedOut(t.ep, err, cn)
		return false, c.ctxErr(ctx, t, method, err), false
	case otherFailure:
		if !dead {
			// The server and the connection are fine: a local problem such as
			// an argument that cannot be encoded or a reply that does not fit.
			return false, fmt.Errorf("%s: %w", c.on(t, method, err), err), false
		}
	}
	c.fail(t.ep, err, cn, dead)
	if errors.Is(err, transport.ErrNotSent) || mayRepeat {
		return true, err, false
	}
	return false, fmt.Errorf("%s: %w (not retried: the request may have reached the server)", c.on(t, method, err), err), false
}

// ctxErr is the error of a call ended by the caller's ctx (see cause).
func (c *Client) ctxErr(ctx context.Context, t target, method string, err error) error {
	cerr := ctx.Err()
	if cerr == nil { // its deadline passed; its timer has not fired yet
		cerr = context.DeadlineExceeded
	}
	if !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return fmt.Errorf("%s: %w", c.on(t, method, err), err)
}

// fail records a server-caused failure and ejects the server if it was up.
func (c *Client) fail(ep *endpoint, err error, cn conn, dead bool) {
	if ep.fail(err, cn, dead) {
		c.changed(ep, false, err)
	}
}

// timedOut records an attempt that ran out of its caller's time on ep's
// server: ejectAfterTimeouts in a row eject it, whatever the callers'
// deadlines (an answer resets the count).
func (c *Client) timedOut(ep *endpoint, err error, cn conn) {
	if ep.strikes.Add(1) >= ejectAfterTimeouts {
		c.fail(ep, err, cn, false)
	}
}

// changed reacts to a server going down or coming back.
func (c *Client) changed(ep *endpoint, up bool, err error) {
	if c.closed.Load() {
		return
	}
	if up {
		c.log.Info("router: server is back", "addr", ep.addr, "mode", c.cfg.Mode)
	} else {
		c.log.Warn("router: server is down", "addr", ep.addr, "mode", c.cfg.Mode, "err", err)
		c.wakeProber()
	}
	if c.cfg.Mode == ModeHashring {
		c.rebuild()
	}
}

func isDone(cn conn) bool {
	select {
	case <-cn.Done():
		return true
	default:
		return false
	}
}

func isShardDown(err error) bool {
	var e *ShardDownError
	return errors.As(err, &e)
}

// isServerError reports an application error returned by the handler.
func isServerError(err error) bool {
	var se *transport.ServerError
	return errors.As(err, &se)
}
