package codec

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/shamaton/msgpack/v2"
)

// DecodeParams decodes a params array into dst, one pointer per parameter.
// names (optional, may be shorter than dst) name the arguments in errors.
// A wrong count gives *ParamCountError; a parameter that does not fit its Go
// type gives *ArgError naming its index and name. params must be one
// well-formed msgpack value (see decodeLimits).
func DecodeParams(params []byte, names []string, dst ...any) error {
	if err := validate(params, decodeLimits()); err != nil {
		return fmt.Errorf("codec: params: %w", err)
	}
	n, pos, err := readArrayLen(params, 0)
	if err != nil {
		return fmt.Errorf("codec: params: %w", err)
	}
	if n != len(dst) {
		return &ParamCountError{Want: len(dst), Got: n}
	}
	for i, d := range dst {
		end, err := skip(params, pos)
		if err == nil {
			err = decodeValue(params[pos:end], d, 2) // in [kind, id, method, params]
		}
		if err != nil {
			ae := &ArgError{Index: i, Err: err}
			if i < len(names) {
				ae.Name = names[i]
			}
			return ae
		}
		pos = end
	}
	return nil
}

// Decode decodes one msgpack value (for example Message.Result) into dst, a
// pointer. *any receives generic values: nil, bool, int64 (uint64 above
// MaxInt64), float64, string, []byte (bin), []any, map[string]any (map[any]any
// when a key is not a string) and Ext. Structs are read from maps keyed by
// field name. Bin is accepted where a string is wanted. raw must be one
// well-formed msgpack value (see decodeLimits).
func Decode(raw []byte, dst any) error {
	if err := validate(raw, decodeLimits()); err != nil {
		return fmt.Errorf("codec: %w", err)
	}
	if err := decodeValue(raw, dst, 1); err != nil {
		return fmt.Errorf("codec: %w", err)
	}
	return nil
}

// decodeLimits check the structure of bytes about to be decoded. Size is
// bounded by the caller (a Decoder's Limits); decoding allocates in
// proportion to the bytes, not to declared lengths. The depth bound keeps
// recursive decoding safe however the Decoder was configured.
func decodeLimits() Limits {
	return Limits{MaxMessageSize: 1 << 31, MaxContainerLen: 1 << 30, MaxDepth: 10000}
}

// decodeValue decodes exactly one validated value into dst; outer is the
// number of containers around raw in its message (nesting limits of packed
// protos count from the message's top).
func decodeValue(raw []byte, dst any, outer int) error {
	var end int
	var err error
	switch p := dst.(type) {
	case nil:
		return valueError("nil destination")
	case *any:
		*p, end, err = readAny(raw, 0, 0)
	case *string:
		var s []byte
		s, end, err = readStrBytes(raw, 0)
		if err == nil {
			*p = string(s)
		}
	case *[]byte:
		if raw[0] == 0xc0 {
			*p, end = nil, 1
			break
		}
		var s []byte
		s, end, err = readStrBytes(raw, 0)
		if err == nil {
			*p = append([]byte(nil), s...)
		}
	case *bool:
		*p, end, err = readBool(raw, 0)
	case *int64:
		*p, end, err = readInt(raw, 0)
	case *int:
		var v int64
		v, end, err = readInt(raw, 0)
		if err == nil && (v < math.MinInt || v > math.MaxInt) {
			err = rangeError(strconv.FormatInt(v, 10), reflect.TypeFor[int]())
		}
		*p = int(v)
	case *int32:
		var v int64
		v, end, err = readInt(raw, 0)
		if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
			err = rangeError(strconv.FormatInt(v, 10), reflect.TypeFor[int32]())
		}
		*p = int32(v)
	case *float64:
		*p, end, err = readFloat(raw, 0)
	case *Raw:
		*p = append(Raw(nil), raw...)
		end = len(raw)
	case Unmarshaler:
		return p.UnmarshalMsgpack(raw)
	default:
		if rv := reflect.ValueOf(dst); rv.Kind() == reflect.Pointer && !rv.IsNil() {
			if d := typedFor(rv.Type().Elem()); d != nil {
				return d.decodeTop(raw, rv.Elem(), outer)
			}
		}
		if err := msgpack.UnmarshalAsMap(raw, dst); err != nil {
			return fmt.Errorf("decode into %T: %w", dst, err)
		}
		normalize(reflect.ValueOf(dst))
		return nil
	}
	if err != nil {
		return err
	}
	if end != len(raw) {
		return valueError("trailing bytes after value")
	}
	return nil
}

// readAny decodes a generic value; depth is bounded by validation upstream
// but checked again to stay safe on direct use.
func readAny(b []byte, pos, depth int) (any, int, error) {
	if depth > 10000 {
		return nil, 0, valueError("value nested too deeply")
	}
	if pos >= len(b) {
		return nil, 0, errTruncated
	}
	c := b[pos]
	switch {
	case c <= 0x7f:
		return int64(c), pos + 1, nil
	case c >= 0xe0:
		return int64(int8(c)), pos + 1, nil
	case c == 0xc0:
		return nil, pos + 1, nil
	case c == 0xc2 || c == 0xc3:
		return c == 0xc3, pos + 1, nil
	case c == 0xcf:
		if pos+9 > len(b) {
			return nil, 0, errTruncated
		}
		u := uint64(b[pos+1])<<56 | uint64(b[pos+2])<<48 | uint64(b[pos+3])<<40 | uint64(b[pos+4])<<32 |
			uint64(b[pos+5])<<24 | uint64(b[pos+6])<<16 | uint64(b[pos+7])<<8 | uint64(b[pos+8])
		if u > math.MaxInt64 {
			return u, pos + 9, nil
		}
		return int64(u), pos + 9, nil
	case c >= 0xcc && c <= 0xd3:
		return readInt(b, pos)
	case c == 0xca || c == 0xcb:
		return readFloat(b, pos)
	case (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb):
		s, p, err := readStrBytes(b, pos)
		return string(s), p, err
	case c >= 0xc4 && c <= 0xc6:
		s, p, err := readStrBytes(b, pos)
		return append([]byte{}, s...), p, err
	case (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd:
		n, p, err := readArrayLen(b, pos)
		if err != nil {
			return nil, 0, err
		}
		if n > len(b)-p {
			return nil, 0, errTruncated
		}
		out := make([]any, n)
		for i := range out {
			if out[i], p, err = readAny(b, p, depth+1); err != nil {
				return nil, 0, err
			}
		}
		return out, p, nil
	case (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf:
		return readMap(b, pos, depth)
	case c == 0xc1:
		return nil, 0, errInvalidByte
	}
	// ext
	h := headerLen(c)
	if pos+h > len(b) {
		return nil, 0, errTruncated
	}
	payload, _, _, _ := header(b[pos:])
	start := pos + h
	if int64(start)+payload > int64(len(b)) {
		return nil, 0, errTruncated
	}
	end := start + int(payload)
	return Ext{Type: int8(b[start-1]), Data: append([]byte{}, b[start:end]...)}, end, nil
}

func readMap(b []byte, pos, depth int) (any, int, error) {
	n, p, err := readMapLen(b, pos)
	if err != nil {
		return nil, 0, err
	}
	if n > (len(b)-p)/2 {
		return nil, 0, errTruncated
	}
	sm := make(map[string]any, n)
	var am map[any]any
	for range n {
		var k, v any
		if k, p, err = readAny(b, p, depth+1); err != nil {
			return nil, 0, err
		}
		if v, p, err = readAny(b, p, depth+1); err != nil {
			return nil, 0, err
		}
		if bk, ok := k.([]byte); ok {
			k = string(bk)
		}
		if ks, ok := k.(string); ok && am == nil {
			sm[ks] = v
			continue
		}
		if am == nil {
			am = make(map[any]any, n)
			for ks, vs := range sm {
				am[ks] = vs
			}
		}
		switch k.(type) {
		case []any, map[string]any, map[any]any, Ext:
			return nil, 0, valueError("map key is not a scalar")
		}
		am[k] = v
	}
	if am != nil {
		return am, p, nil
	}
	return sm, p, nil
}
