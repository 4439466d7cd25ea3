package router

import (
	"context"
	"fmt"

	"github.com/svrkit/svrkit/transport"
)

// Invoker sends one call (or notification) of the router: picking the
// server, retrying and failing over all happen inside it. reply is nil for
// a notification (see IsNotification) and for a call whose result is
// discarded.
type Invoker func(ctx context.Context, method string, args transport.Args, reply any) error

// Middleware wraps the router's invoker: it sees every call's ctx, method,
// args and outcome (the returned error), can add metadata to ctx
// (transport.WithMetadata) and can refuse a call by returning an error
// without calling next. Options.Middleware applies a chain, [0] outermost;
// with none a call pays nothing for it.
type Middleware func(next Invoker) Invoker

// callKey carries a call's CallOptions and kind from Client.call through the
// middleware chain to the invoker at its end.
type callKey struct{}

type callInfo struct {
	opt    CallOptions
	notify bool
}

// IsNotification tells a Middleware whether the call whose ctx it got is a
// notification (Client.Notify, NotifyWith).
func IsNotification(ctx context.Context) bool {
	ci, _ := ctx.Value(callKey{}).(*callInfo)
	return ci != nil && ci.notify
}

// chainInvoker returns the invoker of c's calls wrapped in mw, [0]
// outermost, and, when token is set, in a first middleware (innermost) that
// sends it as transport.AuthMetadataKey metadata; nil when there is neither.
func (c *Client) chainInvoker(mw []Middleware, token string) Invoker {
	if token != "" {
		md := transport.Metadata{transport.AuthMetadataKey: token}
		mw = append(mw[:len(mw):len(mw)], func(next Invoker) Invoker {
			return func(ctx context.Context, method string, args transport.Args, reply any) error {
				return next(transport.WithMetadata(ctx, md), method, args, reply)
			}
		})
	}
	if len(mw) == 0 {
		return nil
	}
	inv := Invoker(c.invoke)
	for i := len(mw) - 1; i >= 0; i-- {
		if inv = mw[i](inv); inv == nil {
			panic(fmt.Sprintf("router: middleware %d returned a nil invoker", i))
		}
	}
	return inv
}

// invoke is the end of the chain: the call itself.
func (c *Client) invoke(ctx context.Context, method string, args transport.Args, reply any) error {
	ci, _ := ctx.Value(callKey{}).(*callInfo)
	if ci == nil {
		ci = &callInfo{}
	}
	r := request{method: method, reply: reply, args: args, notify: ci.notify}
	if ci.notify {
		r.reply = nil
		return c.do(ctx, &r, ci.opt, ci.opt.RetryNotify || ci.opt.Idempotent)
	}
	return c.do(ctx, &r, ci.opt, ci.opt.Idempotent)
}
