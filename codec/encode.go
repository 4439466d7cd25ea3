package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"

	"github.com/shamaton/msgpack/v2"
)

// Raw is an already encoded msgpack value; it is appended verbatim.
type Raw []byte

// Ext is a msgpack extension value (type and payload), as decoded into *any.
type Ext struct {
	Type int8
	Data []byte
}

// maxEncodeDepth stops runaway recursion on self-referencing []any / maps.
const maxEncodeDepth = 1000

// AppendRequest appends the request [0, id, method, args] to b.
func AppendRequest(b []byte, id uint32, method string, args ...any) ([]byte, error) {
	b = append(b, 0x94, 0x00)
	b = appendUint(b, uint64(id))
	b = appendStr(b, method)
	return appendArgs(b, args)
}

// AppendNotification appends the notification [2, method, args] to b.
func AppendNotification(b []byte, method string, args ...any) ([]byte, error) {
	b = append(b, 0x93, 0x02)
	b = appendStr(b, method)
	return appendArgs(b, args)
}

// AppendResponse appends the response [1, id, error, result] to b. An empty
// errMsg encodes nil; a non-empty one encodes the string and nil result is usual.
func AppendResponse(b []byte, id uint32, errMsg string, result any) ([]byte, error) {
	b = append(b, 0x94, 0x01)
	b = appendUint(b, uint64(id))
	if errMsg == "" {
		b = append(b, 0xc0)
	} else {
		b = appendStr(b, errMsg)
	}
	return AppendValue(b, result)
}

func appendArgs(b []byte, args []any) ([]byte, error) {
	b = appendArrayLen(b, len(args))
	var err error
	for i, a := range args {
		if b, err = appendValue(b, a, 0); err != nil {
			return b, fmt.Errorf("codec: arg %d: %w", i, err)
		}
	}
	return b, nil
}

// AppendValue appends v as msgpack. Scalars, []byte, Raw, Ext, []any and
// map[string]any are encoded here and an Appender encodes itself; everything
// else (structs as maps keyed by field name, typed slices and maps,
// time.Time) by shamaton/msgpack.
func AppendValue(b []byte, v any) ([]byte, error) { return appendValue(b, v, 0) }

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case string:
		return appendStr(b, x), nil
	case []byte:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return appendBin(b, x), nil
	case bool:
		if x {
			return append(b, 0xc3), nil
		}
		return append(b, 0xc2), nil
	case int:
		return appendInt(b, int64(x)), nil
	case int64:
		return appendInt(b, x), nil
	case int32:
		return appendInt(b, int64(x)), nil
	case int16:
		return appendInt(b, int64(x)), nil
	case int8:
		return appendInt(b, int64(x)), nil
	case uint:
		return appendUint(b, uint64(x)), nil
	case uint64:
		return appendUint(b, x), nil
	case uint32:
		return appendUint(b, uint64(x)), nil
	case uint16:
		return appendUint(b, uint64(x)), nil
	case uint8:
		return appendUint(b, uint64(x)), nil
	case float64:
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(x)), nil
	case float32:
		b = append(b, 0xca)
		return binary.BigEndian.AppendUint32(b, math.Float32bits(x)), nil
	case Raw:
		if len(x) == 0 {
			return append(b, 0xc0), nil
		}
		return append(b, x...), nil
	case Ext:
		return appendExt(b, x), nil
	case []any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		if depth >= maxEncodeDepth {
			return b, fmt.Errorf("value nested deeper than %d", maxEncodeDepth)
		}
		b = appendArrayLen(b, len(x))
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case map[string]any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		if depth >= maxEncodeDepth {
			return b, fmt.Errorf("value nested deeper than %d", maxEncodeDepth)
		}
		b = appendMapLen(b, len(x))
		var err error
		for k, e := range x {
			b = appendStr(b, k)
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case map[any]any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		if depth >= maxEncodeDepth {
			return b, fmt.Errorf("value nested deeper than %d", maxEncodeDepth)
		}
		b = appendMapLen(b, len(x))
		var err error
		for k, e := range x {
			if b, err = appendValue(b, k, depth+1); err != nil {
				return b, err
			}
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
		return append(b, 0xc0), nil
	}
	if a, ok := v.(Appender); ok {
		return a.AppendMsgpack(b)
	}
	if nb, ok := appendStructFast(b, v); ok {
		return nb, nil
	}
	p, err := msgpack.MarshalAsMap(v)
	if err != nil {
		return b, fmt.Errorf("encode %T: %w", v, err)
	}
	return append(b, p...), nil
}

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendMapLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

func appendStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

func appendBin(b []byte, p []byte) []byte {
	n := len(p)
	switch {
	case n <= math.MaxUint8:
		b = append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
	}
	return append(b, p...)
}

func appendExt(b []byte, e Ext) []byte {
	n := len(e.Data)
	switch n {
	case 1:
		b = append(b, 0xd4)
	case 2:
		b = append(b, 0xd5)
	case 4:
		b = append(b, 0xd6)
	case 8:
		b = append(b, 0xd7)
	case 16:
		b = append(b, 0xd8)
	default:
		switch {
		case n <= math.MaxUint8:
			b = append(b, 0xc7, byte(n))
		case n <= math.MaxUint16:
			b = binary.BigEndian.AppendUint16(append(b, 0xc8), uint16(n))
		default:
			b = binary.BigEndian.AppendUint32(append(b, 0xc9), uint32(n))
		}
	}
	b = append(b, byte(e.Type))
	return append(b, e.Data...)
}

func appendUint(b []byte, u uint64) []byte {
	switch {
	case u <= 0x7f:
		return append(b, byte(u))
	case u <= math.MaxUint8:
		return append(b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(u))
	case u <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(u))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), u)
}

func appendInt(b []byte, i int64) []byte {
	if i >= 0 {
		return appendUint(b, uint64(i))
	}
	switch {
	case i >= -32:
		return append(b, byte(int8(i)))
	case i >= math.MinInt8:
		return append(b, 0xd0, byte(int8(i)))
	case i >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(int16(i)))
	case i >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(int32(i)))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(i))
}
