package router

import (
	"context"
	"errors"
	"net"
	"time"
)

// failure is why an attempt failed, as far as the router must know to
// decide whether the server is to blame and whether to try again.
type failure uint8

const (
	// otherFailure: no timeout and the caller's ctx is live; the error
	// itself says whether the server or the connection failed.
	otherFailure failure = iota
	// callerEnded: the caller cancelled its ctx (or it ended and the error
	// is not a timeout). Nothing is held against the server.
	callerEnded
	// callerDeadline: the attempt timed out when the caller's deadline
	// passed. The call ends; it counts against the server, and
	// ejectAfterTimeouts of them in a row eject it.
	callerDeadline
	// attemptTimeout: the attempt timed out within the caller's deadline:
	// its own deadline (CallTimeout) or the dial's timeout passed. The
	// server did not answer in time: it is ejected, and the call may be
	// tried again elsewhere.
	attemptTimeout
)

// ejectAfterTimeouts is how many consecutive attempts ending at their
// callers' deadlines eject a server.
const ejectAfterTimeouts = 3

// cause classifies err, the failure of an attempt made for the caller's ctx.
//
// It does not go by ctx.Err() alone: a socket or dial deadline set to the
// caller's deadline can fire before the ctx's own timer, so the transport
// may report a timeout while ctx.Err() is still nil. A timeout is the
// caller's when its deadline has passed by the clock, else the attempt's
// (the attempt's deadline is never later than the caller's).
func cause(ctx context.Context, err error) failure {
	if !isTimeout(err) {
		if ctx.Err() != nil {
			return callerEnded
		}
		return otherFailure
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return callerDeadline
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return callerEnded
	}
	return attemptTimeout
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
