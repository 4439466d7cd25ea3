package router

import "time"

// retiredEndpoint is the endpoint of a server that left the membership. It
// is closed after CallTimeout, when the calls already sent to it are over,
// unless the server comes back first.
type retiredEndpoint struct {
	ep    *endpoint
	timer *time.Timer
}

// apply makes servers the client's membership: a new view whose endpoints
// are the current ones for the addresses that stay (connections and health
// kept) and new ones for the addresses that join. Hashring keys move only
// to or from the servers that joined or left.
func (c *Client) apply(version int64, servers []Server) {
	c.epMu.Lock()
	defer c.epMu.Unlock()
	if c.closed.Load() {
		return
	}
	used := make(map[string]bool)
	cfg := &Config{Mode: c.cfg.Mode, ShardSum: c.cfg.ShardSum, Servers: servers}
	v := newView(cfg, version, c.opts.ID, c.defKey, func(addr string) *endpoint {
		used[addr] = true
		return c.endpoint(addr)
	})
	for addr, e := range c.eps {
		if !used[addr] {
			delete(c.eps, addr)
			c.retire(addr, e)
		}
	}
	c.view.Store(v)
}

// endpoint returns addr's endpoint, taking it back from the retired ones or
// making it. c.epMu is held.
func (c *Client) endpoint(addr string) *endpoint {
	if e, ok := c.eps[addr]; ok {
		return e
	}
	e := &endpoint{addr: addr, minBackoff: c.opts.MinBackoff, maxBackoff: c.opts.MaxBackoff,
		minProbe: c.opts.ProbeInterval, maxProbe: c.opts.MaxProbeInterval}
	if r, ok := c.retired[addr]; ok && r.timer.Stop() {
		c.wg.Done()
		delete(c.retired, addr)
		e = r.ep
	}
	c.eps[addr] = e
	return e
}

// retire closes e after CallTimeout, unless addr comes back. c.epMu is held.
func (c *Client) retire(addr string, e *endpoint) {
	r := &retiredEndpoint{ep: e}
	c.wg.Add(1)
	r.timer = time.AfterFunc(c.opts.CallTimeout, func() {
		defer c.wg.Done()
		c.epMu.Lock()
		if c.retired[addr] == r {
			delete(c.retired, addr)
		}
		c.epMu.Unlock()
		e.close()
	})
	c.retired[addr] = r
}

// downEndpoints lists the current servers that are down, for the prober.
func (c *Client) downEndpoints() []*endpoint {
	c.epMu.Lock()
	defer c.epMu.Unlock()
	var down []*endpoint
	for _, e := range c.eps {
		if e.isDown() {
			down = append(down, e)
		}
	}
	return down
}

// closeEndpoints closes every endpoint, current and retired (Close).
func (c *Client) closeEndpoints() {
	c.epMu.Lock()
	defer c.epMu.Unlock()
	for _, e := range c.eps {
		e.close()
	}
	for addr, r := range c.retired {
		if r.timer.Stop() {
			c.wg.Done()
		}
		r.ep.close()
		delete(c.retired, addr)
	}
}
