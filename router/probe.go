package router

import (
	"context"
	"sync"
	"time"
)

// probeLoop sleeps while every server is up. While some are down it probes
// them every ProbeInterval (TCP connect, 1 s bound) and readmits those that
// answer. It returns when ctx is cancelled (Close).
func (c *Client) probeLoop(ctx context.Context) {
	defer c.wg.Done()
	for {
		down := c.downEndpoints()
		if len(down) == 0 {
			select {
			case <-c.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		t := time.NewTimer(c.opts.ProbeInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		var wg sync.WaitGroup
		for _, e := range down {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if c.probe(ctx, e.addr) == nil && e.revive() {
					c.changed(e, true, nil)
				}
			}()
		}
		wg.Wait()
	}
}
