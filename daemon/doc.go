// Package daemon makes a process a well-behaved Unix daemon: an atomic, flock'ed, stale-safe
// pidfile (AcquirePidFile), detaching by re-executing itself in a new session and waiting
// for it to report ready (Detach), and control of a running daemon through its
// pidfile (Stop, Status).
package daemon
