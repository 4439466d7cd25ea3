package codec

import (
	"encoding/binary"
	"math"
)

// Appender is implemented by values that append their own msgpack encoding.
// AppendValue (and so AppendRequest, AppendNotification, AppendResponse)
// uses it instead of reflection: svrkit gen makes the IDL's flat protos
// implement it with the helpers below, writing exactly the bytes the
// reflective encoding writes (a map keyed by the IDL field names, in field
// order). An implementation must append exactly one msgpack value.
type Appender interface {
	AppendMsgpack(b []byte) ([]byte, error)
}

// AppendMapHeader appends the header of a map of n key/value pairs.
func AppendMapHeader(b []byte, n int) []byte { return appendMapLen(b, n) }

// AppendArrayHeader appends the header of an array of n elements.
func AppendArrayHeader(b []byte, n int) []byte { return appendArrayLen(b, n) }

// AppendString appends s as a msgpack str.
func AppendString(b []byte, s string) []byte { return appendStr(b, s) }

// AppendInt appends i in its shortest msgpack integer form (as AppendValue does).
func AppendInt(b []byte, i int64) []byte { return appendInt(b, i) }

// AppendUint appends u in its shortest msgpack integer form.
func AppendUint(b []byte, u uint64) []byte { return appendUint(b, u) }

// AppendBool appends a msgpack bool.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

// AppendFloat64 appends f as a msgpack float 64.
func AppendFloat64(b []byte, f float64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}
