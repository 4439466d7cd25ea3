package codec

import (
	"encoding/binary"
	"math"
	"strconv"
)

// Low-level readers for validated bytes. Each returns the value and the
// position after it, or an error naming what was found instead.

// typeName names a msgpack type in IDL terms, for errors (want string, got int).
func typeName(c byte) string {
	switch {
	case c <= 0x7f || c >= 0xe0 || (c >= 0xcc && c <= 0xd3):
		return "int"
	case c <= 0x8f || c == 0xde || c == 0xdf:
		return "a map"
	case c <= 0x9f || c == 0xdc || c == 0xdd:
		return "an array"
	case c <= 0xbf || (c >= 0xd9 && c <= 0xdb):
		return "string"
	case c == 0xc0:
		return "nil"
	case c == 0xc2 || c == 0xc3:
		return "bool"
	case c >= 0xc4 && c <= 0xc6:
		return "bin"
	case c == 0xca || c == 0xcb:
		return "float"
	case c == 0xc1:
		return "invalid byte 0xc1"
	}
	return "ext"
}

// errWant says what was wanted and what the value at b[pos] is.
func errWant(want string, b []byte, pos int) error {
	return valueError("want " + want + ", got " + gotName(b, pos))
}

// readArrayLen reads an array header.
func readArrayLen(b []byte, pos int) (int, int, error) {
	if pos >= len(b) {
		return 0, 0, errTruncated
	}
	c := b[pos]
	switch {
	case c >= 0x90 && c <= 0x9f:
		return int(c & 0x0f), pos + 1, nil
	case c == 0xdc && pos+3 <= len(b):
		return int(binary.BigEndian.Uint16(b[pos+1:])), pos + 3, nil
	case c == 0xdd && pos+5 <= len(b):
		return int(binary.BigEndian.Uint32(b[pos+1:])), pos + 5, nil
	case c == 0xdc || c == 0xdd:
		return 0, 0, errTruncated
	}
	return 0, 0, errWant("an array", b, pos)
}

// readMapLen reads a map header (pair count).
func readMapLen(b []byte, pos int) (int, int, error) {
	if pos >= len(b) {
		return 0, 0, errTruncated
	}
	c := b[pos]
	switch {
	case c >= 0x80 && c <= 0x8f:
		return int(c & 0x0f), pos + 1, nil
	case c == 0xde && pos+3 <= len(b):
		return int(binary.BigEndian.Uint16(b[pos+1:])), pos + 3, nil
	case c == 0xdf && pos+5 <= len(b):
		return int(binary.BigEndian.Uint32(b[pos+1:])), pos + 5, nil
	case c == 0xde || c == 0xdf:
		return 0, 0, errTruncated
	}
	return 0, 0, errWant("a map", b, pos)
}

// readStrBytes reads a str or bin and returns its bytes (aliasing b).
func readStrBytes(b []byte, pos int) ([]byte, int, error) {
	if pos >= len(b) {
		return nil, 0, errTruncated
	}
	c := b[pos]
	var n, h int
	switch {
	case c >= 0xa0 && c <= 0xbf:
		n, h = int(c&0x1f), 1
	case (c == 0xd9 || c == 0xc4) && pos+2 <= len(b):
		n, h = int(b[pos+1]), 2
	case (c == 0xda || c == 0xc5) && pos+3 <= len(b):
		n, h = int(binary.BigEndian.Uint16(b[pos+1:])), 3
	case (c == 0xdb || c == 0xc6) && pos+5 <= len(b):
		n, h = int(binary.BigEndian.Uint32(b[pos+1:])), 5
	case c == 0xd9 || c == 0xc4 || c == 0xda || c == 0xc5 || c == 0xdb || c == 0xc6:
		return nil, 0, errTruncated
	default:
		return nil, 0, errWant("string", b, pos)
	}
	start := pos + h
	if n < 0 || start+n > len(b) {
		return nil, 0, errTruncated
	}
	return b[start : start+n], start + n, nil
}

// readInt reads any msgpack integer as int64 (uint64 above MaxInt64 is an error).
func readInt(b []byte, pos int) (int64, int, error) {
	if pos >= len(b) {
		return 0, 0, errTruncated
	}
	c := b[pos]
	if c <= 0x7f {
		return int64(c), pos + 1, nil
	}
	if c >= 0xe0 {
		return int64(int8(c)), pos + 1, nil
	}
	h := headerLen(c)
	if c < 0xcc || c > 0xd3 {
		return 0, 0, errWant("int", b, pos)
	}
	if pos+h > len(b) {
		return 0, 0, errTruncated
	}
	p := b[pos+1:]
	var v int64
	switch c {
	case 0xcc:
		v = int64(p[0])
	case 0xcd:
		v = int64(binary.BigEndian.Uint16(p))
	case 0xce:
		v = int64(binary.BigEndian.Uint32(p))
	case 0xcf:
		u := binary.BigEndian.Uint64(p)
		if u > math.MaxInt64 {
			return 0, 0, valueError("want int, got int " + strconv.FormatUint(u, 10) + " (out of int64 range)")
		}
		v = int64(u)
	case 0xd0:
		v = int64(int8(p[0]))
	case 0xd1:
		v = int64(int16(binary.BigEndian.Uint16(p)))
	case 0xd2:
		v = int64(int32(binary.BigEndian.Uint32(p)))
	case 0xd3:
		v = int64(binary.BigEndian.Uint64(p))
	}
	return v, pos + h, nil
}

// readFloat reads a float32, float64 or integer as float64.
func readFloat(b []byte, pos int) (float64, int, error) {
	if pos >= len(b) {
		return 0, 0, errTruncated
	}
	switch c := b[pos]; c {
	case 0xca:
		if pos+5 > len(b) {
			return 0, 0, errTruncated
		}
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b[pos+1:]))), pos + 5, nil
	case 0xcb:
		if pos+9 > len(b) {
			return 0, 0, errTruncated
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b[pos+1:])), pos + 9, nil
	case 0xcf:
		if pos+9 > len(b) {
			return 0, 0, errTruncated
		}
		return float64(binary.BigEndian.Uint64(b[pos+1:])), pos + 9, nil
	default:
		v, p, err := readInt(b, pos)
		if err != nil {
			if _, ok := err.(valueError); ok && err != errTruncated {
				return 0, 0, errWant("float", b, pos)
			}
			return 0, 0, err
		}
		return float64(v), p, nil
	}
}

// readBool reads a bool.
func readBool(b []byte, pos int) (bool, int, error) {
	if pos >= len(b) {
		return false, 0, errTruncated
	}
	switch b[pos] {
	case 0xc2:
		return false, pos + 1, nil
	case 0xc3:
		return true, pos + 1, nil
	}
	return false, 0, errWant("bool", b, pos)
}
