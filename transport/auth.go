package transport

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// AuthMetadataKey is the metadata key that carries a caller's token
// (TokenAuth). A plain msgpack-rpc client sends it in an extended request's
// "m" map (docs/WIRE.md, "Per-call context"; docs/SECURITY.md).
const AuthMetadataKey = "authorization"

// UnauthenticatedMessage starts the error string of a call refused by
// TokenAuth: no token, or one the server does not accept.
const UnauthenticatedMessage = "unauthenticated"

// MaxAuthFailures is the number of consecutive calls refused by TokenAuth on
// one connection after which the server stops reading it and closes it once
// the refusals are written.
const MaxAuthFailures = 5

var (
	errNoToken     = errors.New(UnauthenticatedMessage + ": no token (metadata key " + AuthMetadataKey + ")")
	errBadToken    = errors.New(UnauthenticatedMessage + ": token not accepted")
	errAuthClosing = fmt.Errorf(UnauthenticatedMessage+": %d calls in a row without a valid token; closing the connection", MaxAuthFailures)
)

// TokenAuth returns a Middleware that runs a call only when its metadata's
// AuthMetadataKey value is one of tokens, compared in constant time (of
// SHA-256 digests, so neither a token's content nor its length leaks). Any
// other call is refused with an error starting with UnauthenticatedMessage;
// after MaxAuthFailures refusals in a row on one connection it is closed. A
// call with a valid token resets the count. With no tokens every call is
// refused. tokens is copied.
func TokenAuth(tokens []string) Middleware {
	sums := make([][sha256.Size]byte, len(tokens))
	for i, t := range tokens {
		sums[i] = sha256.Sum256([]byte(t))
	}
	return func(method string, next Handler) Handler {
		return func(ctx context.Context, params []byte) (any, error) {
			tok, sent := MetadataFrom(ctx)[AuthMetadataKey]
			if sent && accepted(sums, tok) {
				if c := connOf(ctx); c != nil && c.authFails.Load() != 0 {
					c.authFails.Store(0)
				}
				return next(ctx, params)
			}
			if c := connOf(ctx); c != nil && c.authFails.Add(1) == MaxAuthFailures {
				c.closeAfterAnswers()
				return nil, errAuthClosing
			}
			if !sent {
				return nil, errNoToken
			}
			return nil, errBadToken
		}
	}
}

// accepted tells in constant time whether tok's digest is among sums.
func accepted(sums [][sha256.Size]byte, tok string) bool {
	sum := sha256.Sum256([]byte(tok))
	ok := 0
	for i := range sums {
		ok |= subtle.ConstantTimeCompare(sum[:], sums[i][:])
	}
	return ok == 1
}

// connOf returns the connection of the call whose handler got ctx, or nil.
func connOf(ctx context.Context) *serverConn {
	if x, ok := ctx.(*callCtx); ok {
		return x.c
	}
	c, _ := ctx.Value(connKey{}).(*serverConn)
	return c
}

// closeAfterAnswers stops reading the connection now; it closes once the
// calls in flight (the one refused included) are answered, as in Shutdown
// but without telling the peer GoAwayMethod. This is TokenAuth's hook.
func (c *serverConn) closeAfterAnswers() {
	c.s.mu.Lock()
	c.startDrain(time.Now())
	c.s.mu.Unlock()
}
