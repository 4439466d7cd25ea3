// Package codec reads and writes msgpack-rpc messages: a bounded, allocation-free
// frame scanner over a buffered stream, envelope encoders, and decoding of
// positional parameters and results into Go values (on github.com/shamaton/msgpack/v2).
//
// Wire shapes (see docs/WIRE.md):
//
//	request       [0, msgid, method, params]
//	response      [1, msgid, error, result]
//	notification  [2, method, params]
//
// and svrkit's extended forms, which carry a per-call context (ParseCallExt):
//
//	request       [0, msgid, method, params, ext]
//	notification  [2, method, params, ext]
//
// Structs travel as msgpack maps keyed by field name (the `msgpack:"name"` tag);
// decoding also accepts pysvrkit's legacy forms of a struct (a str/bin holding
// a packed map, or a positional array of the fields). Params and values inside
// structs, slices and maps follow one set of conversion rules (no truncated or
// wrapped numbers), and errors name the path and the IDL types
// (`arg 0 (x).n: want int, got float 1.9`).
// Untrusted bytes are never handed to a decoder before the scanner has checked
// that they form exactly one complete value within Limits.
package codec

// Message kinds, the first element of every msgpack-rpc message.
const (
	Request      = 0
	Response     = 1
	Notification = 2
)

// Limits bound what a peer may send. A zero field means its default.
type Limits struct {
	// MaxMessageSize is the largest encoded message in bytes. Default 4 MiB.
	MaxMessageSize int
	// MaxContainerLen is the largest element count of one array or map
	// (a map of n pairs counts n). Default 1<<20.
	MaxContainerLen int
	// MaxDepth is the deepest nesting of arrays and maps; the message array
	// itself is depth 1. Default 64.
	MaxDepth int
}

// Default limit values.
const (
	DefaultMaxMessageSize  = 4 << 20
	DefaultMaxContainerLen = 1 << 20
	DefaultMaxDepth        = 64
)

// DefaultLimits returns 4 MiB messages, 1<<20 elements per container, depth 64.
func DefaultLimits() Limits {
	return Limits{DefaultMaxMessageSize, DefaultMaxContainerLen, DefaultMaxDepth}
}

// withDefaults fills zero (or negative) fields and clamps to what the wire can carry.
func (l Limits) withDefaults() Limits {
	if l.MaxMessageSize <= 0 {
		l.MaxMessageSize = DefaultMaxMessageSize
	}
	if l.MaxMessageSize > 1<<31 {
		l.MaxMessageSize = 1 << 31
	}
	if l.MaxContainerLen <= 0 {
		l.MaxContainerLen = DefaultMaxContainerLen
	}
	if l.MaxContainerLen > 1<<30 {
		l.MaxContainerLen = 1 << 30
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxDepth > 10000 {
		l.MaxDepth = 10000
	}
	return l
}
