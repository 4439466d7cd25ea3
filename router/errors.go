package router

import (
	"errors"
	"fmt"
	"time"
)

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("router: client closed")

// ErrNoID is returned by New in sharding mode when Options.HasID is false:
// a sharded request must name its id, there is no default shard.
var ErrNoID = errors.New("router: sharding mode needs a client id (Options.HasID and Options.ID)")

// DialError is a failed connection attempt to one server.
type DialError struct {
	Addr string
	Err  error
}

func (e *DialError) Error() string { return "router: dial " + e.Addr + ": " + e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

// UnavailableError is returned without touching the network while a server
// that failed is in its redial backoff.
type UnavailableError struct {
	Addr     string
	Failures int           // consecutive failures
	RetryIn  time.Duration // time left before the next dial is allowed
	Err      error         // the last failure
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("router: %s unavailable (%d consecutive failures, next dial in %v): %v",
		e.Addr, e.Failures, e.RetryIn.Round(time.Millisecond), e.Err)
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
	msg := fmt.Sprintf("router: shard %d ([%s]) is down: master %s: %v", e.Shard, e.Server, e.Master, e.MasterErr)
	if e.Backup == "" {
		return msg + "; no backup configured"
	}
	return fmt.Sprintf("%s; backup %s: %v", msg, e.Backup, e.BackupErr)
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
