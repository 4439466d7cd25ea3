package transport

import "fmt"

// Middleware wraps the handler of one method: given the method's name and
// the next handler, it returns the handler to run in its place. That handler
// sees the call's ctx (PeerFrom, MetadataFrom, its deadline) and the outcome
// (next's result and error), and can refuse the call by returning an error
// without calling next: the caller gets the error's text, as from a handler.
//
// ServerOptions.Middleware applies a chain once per method, when it is
// registered, so a call pays only for the middleware it passes through
// (nothing with none). It does not see what the server answers itself (the
// protocol's methods, unknown methods) or refuses before a handler would
// run (server busy, deadline exceeded, a bad extension); a call with bad
// params does reach it (params are decoded by the handler).
type Middleware func(method string, next Handler) Handler

// chain wraps h for method in mw, mw[0] outermost.
func chain(mw []Middleware, method string, h Handler) Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		if h = mw[i](method, h); h == nil {
			panic(fmt.Sprintf("transport: middleware %d returned a nil handler for %q", i, method))
		}
	}
	return h
}
