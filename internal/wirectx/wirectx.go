// Package wirectx lets a layer above transport say which context a call's
// per-call context (deadline, metadata; docs/WIRE.md) is taken from, when
// the context it passes down is its own. The router passes each attempt a
// context bounded by its CallTimeout, a local limit that must not travel:
// that context answers Value(Key{}) with the caller's context, whose
// deadline and metadata are the ones sent.
package wirectx

// Key is the context key whose value (a context.Context) is the context the
// transport takes the deadline and metadata to send from.
type Key struct{}
