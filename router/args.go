package router

import (
	"context"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/transport"
)

// NoArgs is the empty argument list, for CallWith and NotifyWith.
type NoArgs struct{}

// AppendParams implements transport.Args: an empty params array.
func (*NoArgs) AppendParams(b []byte) ([]byte, error) { return append(b, 0x90), nil }

// CallWith calls method with args, a struct that encodes itself through its
// pointer (a generated client's arguments struct, see transport.Args), and
// returns the result decoded into an R. It is what generated clients call:
// args and the reply are held in storage c reuses, so the call allocates
// neither. An any result (R = any) is decoded by a reused codec.Generic: the
// same shapes, without allocating the map keys it has seen before. The
// result is the value decoded so far when the call fails.
func CallWith[R, A any, P interface {
	*A
	transport.Args
}](ctx context.Context, c *Client, method string, args A, opt CallOptions) (R, error) {
	s := c.getScratch()
	a := slot[A](&s.argSlot)
	*a = args
	r := slot[R](&s.replySlot)
	var err error
	if ra, ok := any(r).(*any); ok {
		// Decoded generically by a codec.Generic that stays with s, so that
		// map keys seen before are not allocated again.
		err = c.call(ctx, method, &s.generic, P(a), opt)
		*ra, s.generic.V = s.generic.V, nil
	} else {
		err = c.call(ctx, method, r, P(a), opt)
	}
	reply := *r
	var zeroA A
	var zeroR R
	*a, *r = zeroA, zeroR
	c.putScratch(s)
	return reply, err
}

// NotifyWith is Notify with args encoding itself, as CallWith: what generated
// clients call for APIs without a result.
func NotifyWith[A any, P interface {
	*A
	transport.Args
}](ctx context.Context, c *Client, method string, args A, opt CallOptions) error {
	s := c.getScratch()
	a := slot[A](&s.argSlot)
	*a = args
	err := c.notify(ctx, method, P(a), opt)
	var zeroA A
	*a = zeroA
	c.putScratch(s)
	return err
}

// slot returns the *T kept in s, making it when s holds something else: a
// scratch keeps the storage of the last types it carried, so a client making
// the same calls over and over reuses it.
func slot[T any](s *any) *T {
	p, ok := (*s).(*T)
	if !ok {
		p = new(T)
		*s = p
	}
	return p
}

// scratch is the reusable storage of one call (Client.scratch), so that
// passing the arguments down as a transport.Args allocates nothing.
type scratch struct {
	list               transport.ArgList // Call's and Notify's arguments
	argSlot, replySlot any               // CallWith's storage: a *A and a *R, zeroed between calls
	generic            codec.Generic     // CallWith's decoder of an any reply
}

func (c *Client) getScratch() *scratch {
	if s, ok := c.scratch.Get().(*scratch); ok {
		return s
	}
	return new(scratch)
}

// putScratch makes s reusable; the conn no longer refers to it once the call
// returned (it encodes the arguments before returning).
func (c *Client) putScratch(s *scratch) {
	s.list = nil
	c.scratch.Put(s)
}
