package router

import (
	"context"

	"github.com/svrkit/svrkit/codec"
)

// Args is a call's argument list that encodes itself. Generated clients pass
// one per API (a struct of the API's arguments), so that a call neither boxes
// its arguments into a []any nor encodes them by reflection; the bytes on the
// wire are those Call sends for the same arguments.
type Args interface {
	// NumArgs is the number of arguments: the length of the params array.
	NumArgs() int
	// AppendArgs appends the NumArgs() arguments to b, each one msgpack
	// value, in order.
	AppendArgs(b []byte) ([]byte, error)
}

// CallArgs is Call with the arguments given as Args. args is encoded before
// CallArgs returns (once per attempt) and not kept.
func (c *Client) CallArgs(ctx context.Context, method string, reply any, args Args, opt CallOptions) error {
	l := c.argList(args)
	err := c.Call(ctx, method, reply, l.list, opt)
	c.putArgList(l)
	return err
}

// NotifyArgs is Notify with the arguments given as Args.
func (c *Client) NotifyArgs(ctx context.Context, method string, args Args, opt CallOptions) error {
	l := c.argList(args)
	err := c.Notify(ctx, method, l.list, opt)
	c.putArgList(l)
	return err
}

// NoArgs is the empty argument list, for CallWith and NotifyWith.
type NoArgs struct{}

// NumArgs implements Args.
func (*NoArgs) NumArgs() int { return 0 }

// AppendArgs implements Args.
func (*NoArgs) AppendArgs(b []byte) ([]byte, error) { return b, nil }

// CallWith calls method with args, a struct that encodes itself through its
// pointer (a generated client's arguments struct), and returns the result
// decoded into an R. It is CallArgs(ctx, method, &reply, &args, opt) minus
// two allocations: args and the reply are held in storage c reuses. An any
// result (R = any) is decoded by a reused codec.Generic: the same shapes,
// without allocating the map keys it has seen before. The result is the
// value decoded so far when the call fails.
func CallWith[R, A any, P interface {
	*A
	Args
}](ctx context.Context, c *Client, method string, args A, opt CallOptions) (R, error) {
	l := c.getArgList()
	a := slot[A](&l.argSlot)
	*a = args
	r := slot[R](&l.replySlot)
	l.set(P(a))
	var err error
	if ra, ok := any(r).(*any); ok {
		// Decoded generically by a codec.Generic that stays with l, so that
		// map keys seen before are not allocated again.
		err = c.Call(ctx, method, &l.generic, l.list, opt)
		*ra, l.generic.V = l.generic.V, nil
	} else {
		err = c.Call(ctx, method, r, l.list, opt)
	}
	reply := *r
	var zeroA A
	var zeroR R
	*a, *r = zeroA, zeroR
	c.putArgList(l)
	return reply, err
}

// NotifyWith is NotifyArgs(ctx, method, &args, opt) without allocating args
// (see CallWith).
func NotifyWith[A any, P interface {
	*A
	Args
}](ctx context.Context, c *Client, method string, args A, opt CallOptions) error {
	l := c.getArgList()
	a := slot[A](&l.argSlot)
	*a = args
	l.set(P(a))
	err := c.Notify(ctx, method, l.list, opt)
	var zeroA A
	*a = zeroA
	c.putArgList(l)
	return err
}

// slot returns the *T kept in s, making it when s holds something else: an
// argList keeps the storage of the last types it carried, so a client making
// the same calls over and over reuses it.
func slot[T any](s *any) *T {
	p, ok := (*s).(*T)
	if !ok {
		p = new(T)
		*s = p
	}
	return p
}

// argList carries Args through a conn, which takes the arguments as a []any
// and encodes them in order into one buffer (codec.AppendRequest): the first
// element of list is the argList itself, a codec.Appender that appends all of
// them; the others append nothing. So the params array gets the right length
// and the right elements without a value boxed per argument. argLists are
// reused (Client.argLists), which saves the []any too.
type argList struct {
	args Args
	list []any
	buf  [maxPooledArgs]any

	argSlot, replySlot any           // CallWith's storage: a *A and a *R, zeroed between calls
	generic            codec.Generic // CallWith's decoder of an any reply
}

// maxPooledArgs is the longest argument list an argList holds without
// allocating.
const maxPooledArgs = 8

// AppendMsgpack implements codec.Appender: all the arguments.
func (l *argList) AppendMsgpack(b []byte) ([]byte, error) { return l.args.AppendArgs(b) }

// noArg stands for an argument its argList already appended.
type noArg struct{}

// AppendMsgpack implements codec.Appender: nothing.
func (noArg) AppendMsgpack(b []byte) ([]byte, error) { return b, nil }

func (c *Client) argList(args Args) *argList {
	l := c.getArgList()
	l.set(args)
	return l
}

func (c *Client) getArgList() *argList {
	if l, ok := c.argLists.Get().(*argList); ok {
		return l
	}
	return new(argList)
}

// set makes l.list carry args.
func (l *argList) set(args Args) {
	n := args.NumArgs()
	if n == 0 {
		l.list = nil
		return
	}
	l.args = args
	if n <= maxPooledArgs {
		l.list = l.buf[:n]
	} else {
		l.list = make([]any, n)
	}
	l.list[0] = l
	for i := 1; i < n; i++ {
		l.list[i] = noArg{}
	}
}

// putArgList makes l reusable; the conn no longer refers to it once the call
// returned (it encodes the arguments before returning).
func (c *Client) putArgList(l *argList) {
	clear(l.buf[:])
	l.args, l.list = nil, nil
	c.argLists.Put(l)
}
