package codec

import (
	"encoding/binary"
	"fmt"
)

// scanner finds the end of one msgpack value in a growing buffer without
// decoding or allocating. It is resumable: when the buffer ends inside the
// value it keeps its position and open-container counts, and continues when
// called again with the same bytes plus more. Every length is checked against
// the limits as soon as its header is seen, so a header claiming 4 GiB costs
// nothing and fails at once.
type scanner struct {
	lim   Limits
	pos   int   // bytes of the value consumed so far (may run past the buffer while skipping a payload)
	stack []int // remaining items per open container; stack[0] is the root slot
	need  int   // when incomplete: buffer length needed before progress is possible
}

func (s *scanner) init(lim Limits, stack []int) {
	s.lim = lim
	s.stack = stack[:0]
	s.reset()
}

func (s *scanner) reset() {
	s.pos = 0
	s.stack = append(s.stack[:0], 1)
	s.need = 0
}

// headerLen returns the header size for first byte c (including c), or 0 for
// the invalid byte 0xc1.
func headerLen(c byte) int {
	switch {
	case c <= 0xbf || c >= 0xe0:
		return 1
	}
	switch c {
	case 0xc0, 0xc2, 0xc3:
		return 1
	case 0xc4, 0xd9, 0xcc, 0xd0:
		return 2
	case 0xc5, 0xda, 0xdc, 0xde, 0xcd, 0xd1:
		return 3
	case 0xc6, 0xdb, 0xdd, 0xdf, 0xce, 0xd2, 0xca:
		return 5
	case 0xcf, 0xd3, 0xcb:
		return 9
	case 0xc7:
		return 3
	case 0xc8:
		return 4
	case 0xc9:
		return 6
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return 2
	}
	return 0 // 0xc1
}

// header decodes the header at b[0:headerLen]: payload bytes to skip and, for
// containers, the element count (pairs for maps) with isMap.
func header(b []byte) (payload int64, count int64, container, isMap bool) {
	c := b[0]
	switch {
	case c <= 0x7f || c >= 0xe0:
		return 0, 0, false, false
	case c <= 0x8f:
		return 0, int64(c & 0x0f), true, true
	case c <= 0x9f:
		return 0, int64(c & 0x0f), true, false
	case c <= 0xbf:
		return int64(c & 0x1f), 0, false, false
	}
	switch c {
	case 0xc4, 0xd9:
		return int64(b[1]), 0, false, false
	case 0xc5, 0xda:
		return int64(binary.BigEndian.Uint16(b[1:])), 0, false, false
	case 0xc6, 0xdb:
		return int64(binary.BigEndian.Uint32(b[1:])), 0, false, false
	case 0xc7:
		return int64(b[1]), 0, false, false
	case 0xc8:
		return int64(binary.BigEndian.Uint16(b[1:])), 0, false, false
	case 0xc9:
		return int64(binary.BigEndian.Uint32(b[1:])), 0, false, false
	case 0xd4:
		return 1, 0, false, false
	case 0xd5:
		return 2, 0, false, false
	case 0xd6:
		return 4, 0, false, false
	case 0xd7:
		return 8, 0, false, false
	case 0xd8:
		return 16, 0, false, false
	case 0xdc:
		return 0, int64(binary.BigEndian.Uint16(b[1:])), true, false
	case 0xdd:
		return 0, int64(binary.BigEndian.Uint32(b[1:])), true, false
	case 0xde:
		return 0, int64(binary.BigEndian.Uint16(b[1:])), true, true
	case 0xdf:
		return 0, int64(binary.BigEndian.Uint32(b[1:])), true, true
	}
	return 0, 0, false, false // fixed-size scalars: header covers them
}

// scan continues over buf (which starts at the value's first byte). It returns
// done with the value's length, or !done with s.need set, or a limit/format error.
func (s *scanner) scan(buf []byte) (n int, done bool, err error) {
	lim := &s.lim
	for {
		top := len(s.stack) - 1
		if s.stack[top] == 0 {
			if top == 0 {
				if s.pos > len(buf) {
					s.need = s.pos
					return 0, false, nil
				}
				return s.pos, true, nil
			}
			s.stack = s.stack[:top]
			continue
		}
		if s.pos >= len(buf) {
			s.need = s.pos + 1
			return 0, false, nil
		}
		c := buf[s.pos]
		h := headerLen(c)
		if h == 0 {
			return 0, false, &scanErr{ErrMalformed, fmt.Sprintf("invalid byte 0xc1 at offset %d", s.pos)}
		}
		if s.pos+h > len(buf) {
			s.need = s.pos + h
			return 0, false, nil
		}
		payload, count, container, isMap := header(buf[s.pos:])
		s.stack[top]--
		end := int64(s.pos) + int64(h) + payload
		if end > int64(lim.MaxMessageSize) {
			return 0, false, &scanErr{ErrTooLarge, fmt.Sprintf("value at offset %d claims %d bytes, limit %d", s.pos, payload, lim.MaxMessageSize)}
		}
		if container {
			if count > int64(lim.MaxContainerLen) {
				return 0, false, &scanErr{ErrContainerTooLong, fmt.Sprintf("container at offset %d claims %d elements, limit %d", s.pos, count, lim.MaxContainerLen)}
			}
			if len(s.stack) > lim.MaxDepth {
				return 0, false, &scanErr{ErrTooDeep, fmt.Sprintf("container at offset %d is at depth %d, limit %d", s.pos, len(s.stack), lim.MaxDepth)}
			}
			items := count
			if isMap {
				items *= 2
			}
			// Every element takes at least one byte.
			if end+items > int64(lim.MaxMessageSize) {
				return 0, false, &scanErr{ErrTooLarge, fmt.Sprintf("container at offset %d claims %d elements, more than fit in %d bytes", s.pos, count, lim.MaxMessageSize)}
			}
			if items > 0 {
				s.stack = append(s.stack, int(items))
			}
		}
		s.pos = int(end)
	}
}

// scanErr is a scanner failure before it is placed in a stream (FrameError) or
// a value (Decode) context.
type scanErr struct {
	cause  error
	detail string
}

func (e *scanErr) Error() string { return e.cause.Error() + ": " + e.detail }
func (e *scanErr) Unwrap() error { return e.cause }

// validate checks that b is exactly one msgpack value within lim. It recurses
// (depth is bounded by lim.MaxDepth) so it needs no heap.
func validate(b []byte, lim Limits) error {
	lim = lim.withDefaults()
	if len(b) > lim.MaxMessageSize {
		return &scanErr{ErrTooLarge, fmt.Sprintf("value of %d bytes, limit %d", len(b), lim.MaxMessageSize)}
	}
	n, err := validateAt(b, 0, 0, &lim)
	if err != nil {
		return err
	}
	if n != len(b) {
		return &scanErr{ErrMalformed, fmt.Sprintf("%d trailing bytes after the value", len(b)-n)}
	}
	return nil
}

func validateAt(b []byte, pos, depth int, lim *Limits) (int, error) {
	if pos >= len(b) {
		return 0, &scanErr{ErrMalformed, "value truncated"}
	}
	h := headerLen(b[pos])
	if h == 0 {
		return 0, &scanErr{ErrMalformed, fmt.Sprintf("invalid byte 0xc1 at offset %d", pos)}
	}
	if pos+h > len(b) {
		return 0, &scanErr{ErrMalformed, "value truncated"}
	}
	payload, count, container, isMap := header(b[pos:])
	end := int64(pos) + int64(h) + payload
	if end > int64(len(b)) {
		return 0, &scanErr{ErrMalformed, fmt.Sprintf("value at offset %d claims %d bytes, only %d left", pos, payload, len(b)-pos-h)}
	}
	if !container {
		return int(end), nil
	}
	if count > int64(lim.MaxContainerLen) {
		return 0, &scanErr{ErrContainerTooLong, fmt.Sprintf("container at offset %d claims %d elements, limit %d", pos, count, lim.MaxContainerLen)}
	}
	if depth+1 > lim.MaxDepth {
		return 0, &scanErr{ErrTooDeep, fmt.Sprintf("container at offset %d is at depth %d, limit %d", pos, depth+1, lim.MaxDepth)}
	}
	if isMap {
		count *= 2
	}
	if count > int64(len(b))-end {
		return 0, &scanErr{ErrMalformed, fmt.Sprintf("container at offset %d claims %d elements, only %d bytes left", pos, count, int64(len(b))-end)}
	}
	p := int(end)
	var err error
	for range count {
		if p, err = validateAt(b, p, depth+1, lim); err != nil {
			return 0, err
		}
	}
	return p, nil
}

// skip returns the end of the value starting at b[pos]. It checks bounds but
// not limits: use it on validated bytes.
func skip(b []byte, pos int) (int, error) {
	remaining := int64(1)
	for remaining > 0 {
		if pos >= len(b) {
			return 0, errTruncated
		}
		h := headerLen(b[pos])
		if h == 0 {
			return 0, errInvalidByte
		}
		if pos+h > len(b) {
			return 0, errTruncated
		}
		payload, count, container, isMap := header(b[pos:])
		remaining--
		if container {
			if isMap {
				count *= 2
			}
			remaining += count
			if remaining > int64(len(b)) {
				return 0, errTruncated
			}
		}
		end := int64(pos) + int64(h) + payload
		if end > int64(len(b)) {
			return 0, errTruncated
		}
		pos = int(end)
	}
	return pos, nil
}

var (
	errTruncated   = valueError("msgpack value truncated")
	errInvalidByte = valueError("invalid msgpack byte 0xc1")
)
