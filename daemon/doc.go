// Package daemon manages a Unix daemon through its pidfile: an atomic, flock'ed,
// stale-safe pidfile that proves which process holds it (AcquirePidFile, handed over in a
// graceful restart with TakeOverPidFile), the daemon's state (Status) and a graceful stop
// that escalates to SIGKILL (Stop), and the process-table queries they use (Alive,
// Children, Descendants).
package daemon
