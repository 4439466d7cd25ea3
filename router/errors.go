package router

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("router: client closed")

// ErrNoID is returned by New in sharding mode when Options.HasID is false:
// a sharded request must name its id, there is no default shard.
var ErrNoID = errors.New("router: sharding mode needs a client id (Options.HasID and Options.ID)")

// DialError is a failed connection attempt to one server. It is always
// wrapped in a router error naming the call and the server, so its text is
// the dial's own ("transport: dial tcp <addr>: ..."), with "dial <addr>: "
// in front only when that does not name the address.
type DialError struct {
	Addr string
	Err  error
}

func (e *DialError) Error() string {
	if mentions(e.Err, e.Addr) {
		return e.Err.Error()
	}
	return "dial " + e.Addr + ": " + e.Err.Error()
}
func (e *DialError) Unwrap() error { return e.Err }

// UnavailableError is returned without touching the network while a server
// that failed is in its redial backoff. It is always wrapped in a router
// error naming the call and the server.
type UnavailableError struct {
	Addr     string
	Failures int           // consecutive failures
	RetryIn  time.Duration // time left before the next dial is allowed
	Err      error         // the last failure
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("unavailable (%d consecutive failures, next dial in %v): %v",
		e.Failures, e.RetryIn.Round(time.Millisecond), e.Err)
}
func (e *UnavailableError) Unwrap() error { return e.Err }

// ShardDownError is returned in sharding mode when a shard's master and
// backup are both unreachable. The shard's ids are never sent elsewhere.
type ShardDownError struct {
	Shard     int    // id % shardsum
	Server    string // config section owning the shard, e.g. "server0"
	Master    string // ip:port
	Backup    string // ip_bak:port_bak, "" when none is configured
	MasterErr error
	BackupErr error
}

func (e *ShardDownError) Error() string {
	msg := fmt.Sprintf("router: shard %d ([%s]) is down: %s", e.Shard, e.Server, addrErr("master", e.Master, e.MasterErr))
	if e.Backup == "" {
		return msg + "; no backup configured"
	}
	return msg + "; " + addrErr("backup", e.Backup, e.BackupErr)
}

// addrErr renders "<what> <addr>: <err>", leaving out the address when err
// already names it (as a dial error does).
func addrErr(what, addr string, err error) string {
	if mentions(err, addr) {
		return what + ": " + err.Error()
	}
	return fmt.Sprintf("%s %s: %v", what, addr, err)
}

// mentions reports whether err's text already says s (an address, a
// method), so that a message wrapping it need not say it again.
func mentions(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}

// Unwrap gives the master's and the backup's errors.
func (e *ShardDownError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.MasterErr, e.BackupErr} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// ErrNoServer is wrapped by the error of a call for which the current
// membership (a registry's snapshot) has no server: no hashring member at
// all, or no master or backup claiming the shard of the client's id. A
// shard's ids are never sent to another shard's servers.
var ErrNoServer = errors.New("router: no server in the current membership")
