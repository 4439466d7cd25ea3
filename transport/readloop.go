package transport

import (
	"context"

	"github.com/svrkit/svrkit/codec"
)

// readLoop is the read side of a Client on a connection without read
// deadlines (a plain io.ReadWriteCloser), shaped like net/rpc's: one
// goroutine reads every response and hands it to its caller.
type readLoop struct{ c *Client }

func (r *readLoop) wait(ctx context.Context, cl *call) error {
	if ctx.Err() == nil {
		select {
		case <-cl.ch:
			return nil
		case <-ctx.Done():
		}
	}
	c := r.c
	c.mu.Lock()
	ok, drained := c.withdrawLocked(cl)
	c.mu.Unlock()
	if !ok {
		<-cl.ch // completed meanwhile: its sigDone
		return nil
	}
	if drained {
		c.stopDrained()
	}
	return ctx.Err()
}

func (r *readLoop) run(stop <-chan struct{}) {
	var m codec.Message
	for {
		if err := r.c.dec.Next(&m); err != nil {
			r.c.readErr(err)
			return
		}
		r.c.deliver(&m, nil)
	}
}

func (r *readLoop) failedLocked() {}
