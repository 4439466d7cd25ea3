// Package transport carries msgpack-rpc over stream connections: a Server
// (accept loop, one read loop per connection, bounded concurrent dispatch,
// coalesced writes, graceful shutdown, middleware) and a Client (one
// multiplexed connection, msgid -> pending call, over any io.ReadWriteCloser).
// The Server also speaks svrkit's per-call context extension (deadline,
// metadata, cancellation; see HelloMethod and docs/WIRE.md), which plain
// msgpack-rpc peers never see.
package transport

import (
	"errors"
	"fmt"
	"strings"
)

// GoAwayMethod is the msgpack-rpc notification [2, "$svrkit.goaway", []] a
// Server sends on every open connection when Shutdown begins: send no new
// requests on this connection (responses to those already sent still come).
// A Client that receives it drains the connection (see Client.Draining).
const GoAwayMethod = "$svrkit.goaway"

// PingMethod is a request [0, id, "$svrkit.ping", []] that a Server answers
// itself, with a nil result and no handler: a health probe that needs an
// answer from the serving process, not just an accepted connection.
const PingMethod = "$svrkit.ping"

var (
	// ErrDraining is wrapped (with ErrNotSent) by errors of calls refused
	// because the server said GoAwayMethod on the connection: the request was
	// not sent; send it again on a new connection.
	ErrDraining = errors.New("transport: connection draining: server going away")
	// ErrClosed is returned for calls on (or pending at) a Client closed by Close.
	ErrClosed = errors.New("transport: client closed")
	// ErrServerClosed is returned by Serve after Shutdown or Close.
	ErrServerClosed = errors.New("transport: server closed")
	// ErrNotSent is wrapped by errors of requests that certainly never reached
	// the wire, so they are safe to retry elsewhere.
	ErrNotSent = errors.New("transport: request not sent")
	// ErrBroken is wrapped by errors of calls pending on a connection that failed.
	ErrBroken = errors.New("transport: connection broken")
)

// ServerError is the error field of a response: the server ran (or refused)
// the call and said why. The answer to a call sent with the per-call context
// (docs/WIRE.md) that says its deadline passed or it was cancelled
// (DeadlineMessage, CanceledMessage) also satisfies
// errors.Is(err, context.DeadlineExceeded) or errors.Is(err, context.Canceled).
type ServerError struct {
	Method  string
	Message string
	ctxErr  error // see Unwrap
}

// Unwrap returns context.DeadlineExceeded or context.Canceled for an
// extended call's deadline or cancel answer, and nil otherwise.
func (e *ServerError) Unwrap() error { return e.ctxErr }

func (e *ServerError) Error() string {
	return fmt.Sprintf("transport: %s: server error: %s", e.Method, e.Message)
}

// notSent marks err as ErrNotSent.
func notSent(method string, err error) error {
	if errors.Is(err, ErrNotSent) {
		return err
	}
	return &callError{method: method, errs: []error{ErrNotSent, err}}
}

// callErr is the error of a call of method that failed with err.
func callErr(method string, err error) error {
	return &callError{method: method, errs: []error{err}}
}

// callError reads "transport: <method>: <err>: <err>...", each err without
// its own "transport: " prefix, so that the chain says it once
// ("transport: echo: request not sent: client closed").
type callError struct {
	method string
	errs   []error
}

func (e *callError) Error() string {
	var b strings.Builder
	b.WriteString("transport: ")
	b.WriteString(e.method)
	for _, err := range e.errs {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(err.Error(), "transport: "))
	}
	return b.String()
}

func (e *callError) Unwrap() []error { return e.errs }
