package router

import (
	"context"
	"sync"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// probeLoop probes the servers that are down, each when its probe is due
// (see endpoint.fail and probeFailed: ProbeInterval after the ejection, then
// doubling up to MaxProbeInterval while probes fail), and readmits those
// that answer. It sleeps while every server is up and returns when ctx is
// cancelled (Close).
func (c *Client) probeLoop(ctx context.Context) {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var due []*endpoint
		var next time.Time
		now := time.Now()
		for _, e := range c.downEndpoints() {
			if ok, at := e.probeDue(now); ok {
				due = append(due, e)
			} else if next.IsZero() || at.Before(next) {
				next = at
			}
		}
		if len(due) > 0 {
			var wg sync.WaitGroup
			for _, e := range due {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := c.probe(ctx, e.addr); err != nil {
						e.probeFailed(err)
					} else if e.revive() {
						c.changed(e, true, nil)
					}
				}()
			}
			wg.Wait()
			continue
		}
		var wait <-chan time.Time
		if !next.IsZero() {
			timer.Reset(time.Until(next))
			wait = timer.C
		}
		select {
		case <-wait:
		case <-c.wake: // a server went down
		case <-ctx.Done():
			return
		}
	}
}

// pingProbe asks the server at addr for an answer from the serving process,
// not just an accepted connection: it dials and sends transport.PingMethod,
// all within ProbeTimeout. A plain msgpack-rpc server that does not know the
// method answers "method not found", which counts: it answered.
func (c *Client) pingProbe(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ProbeTimeout)
	defer cancel()
	cn, err := c.opts.dial(ctx, addr)
	if err != nil {
		return err
	}
	defer cn.Close()
	if err := cn.CallArgs(ctx, transport.PingMethod, nil, &NoArgs{}); err != nil && !isServerError(err) {
		return err
	}
	return nil
}
