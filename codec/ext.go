package codec

import (
	"fmt"
	"strconv"
)

// The extension element of svrkit's per-call context (docs/WIRE.md,
// "Per-call context"): the last element of an extended request
// [0, msgid, method, params, ext] or notification [2, method, params, ext],
// a map with the optional keys "d" (the caller's remaining time in
// microseconds) and "m" (metadata, str -> str). Keys it does not know are
// skipped, so later versions can add some.

// Metadata limits: what one call may carry in "m".
const (
	MaxMetaEntries  = 64       // entries
	MaxMetaKeyLen   = 128      // bytes of a key (at least 1)
	MaxMetaValueLen = 4 << 10  // bytes of a value
	MaxMetaSize     = 16 << 10 // bytes of all keys and values together
)

// MaxTimeout is the largest remaining time "d" means, in microseconds (about
// 12.7 days); a larger value counts as MaxTimeout.
const MaxTimeout = 1 << 40

// CallExt is a decoded extension element.
type CallExt struct {
	// Timeout is the caller's remaining time in microseconds ("d"); valid when
	// HasTimeout. Zero or negative: the deadline has already passed.
	Timeout    int64
	HasTimeout bool
	// Meta is the metadata ("m"); nil when absent.
	Meta map[string]string
}

// ParseCallExt decodes raw, a Message's Ext, checking the metadata limits and
// key syntax (ValidMetaKey). Its errors say what is wrong in the wire's terms.
func ParseCallExt(raw []byte) (CallExt, error) {
	var x CallExt
	n, pos, err := readMapLen(raw, 0)
	if err != nil {
		return x, fmt.Errorf("extension: %v", err)
	}
	seenM := false
	for range n {
		k, p, err := readStrBytes(raw, pos)
		if err != nil {
			return x, fmt.Errorf("extension key: %v", err)
		}
		pos = p
		switch string(k) {
		case "d":
			if x.HasTimeout {
				return x, fmt.Errorf(`extension: key "d" given twice`)
			}
			if x.Timeout, pos, err = readInt(raw, pos); err != nil {
				return x, fmt.Errorf(`extension "d" (remaining microseconds): %v`, err)
			}
			x.HasTimeout = true
			x.Timeout = min(x.Timeout, MaxTimeout)
		case "m":
			if seenM {
				return x, fmt.Errorf(`extension: key "m" given twice`)
			}
			seenM = true
			if x.Meta, pos, err = readMeta(raw, pos); err != nil {
				return x, err
			}
		default:
			if pos, err = skip(raw, pos); err != nil {
				return x, fmt.Errorf("extension %q: %v", k, err)
			}
		}
	}
	if pos != len(raw) {
		return x, fmt.Errorf("extension: %d bytes after the map", len(raw)-pos)
	}
	return x, nil
}

// readMeta reads the metadata map at raw[pos] (nil is an absent map).
func readMeta(raw []byte, pos int) (map[string]string, int, error) {
	if pos < len(raw) && raw[pos] == 0xc0 {
		return nil, pos + 1, nil
	}
	n, pos, err := readMapLen(raw, pos)
	if err != nil {
		return nil, 0, fmt.Errorf(`metadata ("m"): %v`, err)
	}
	if n > MaxMetaEntries {
		return nil, 0, fmt.Errorf("metadata: %d entries, at most %d", n, MaxMetaEntries)
	}
	md := make(map[string]string, n)
	size := 0
	for range n {
		k, p, err := readStrBytes(raw, pos)
		if err != nil {
			return nil, 0, fmt.Errorf("metadata key: %v", err)
		}
		if !ValidMetaKey(string(k)) {
			return nil, 0, fmt.Errorf("metadata key %s: want 1 to %d bytes of a-z 0-9 - _ .", quoteShort(k), MaxMetaKeyLen)
		}
		v, p, err := readStrBytes(raw, p)
		if err != nil {
			return nil, 0, fmt.Errorf("metadata %q: value: %v", k, err)
		}
		if len(v) > MaxMetaValueLen {
			return nil, 0, fmt.Errorf("metadata %q: value of %d bytes, at most %d", k, len(v), MaxMetaValueLen)
		}
		if size += len(k) + len(v); size > MaxMetaSize {
			return nil, 0, fmt.Errorf("metadata: more than %d bytes of keys and values", MaxMetaSize)
		}
		if _, dup := md[string(k)]; dup {
			return nil, 0, fmt.Errorf("metadata key %q given twice", k)
		}
		md[string(k)] = string(v)
		pos = p
	}
	return md, pos, nil
}

// ValidMetaKey reports whether k may be a metadata key: 1 to MaxMetaKeyLen
// bytes of lowercase ASCII letters, digits, '-', '_' and '.'.
func ValidMetaKey(k string) bool {
	if len(k) == 0 || len(k) > MaxMetaKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// quoteShort quotes b for an error message, cut to 40 bytes.
func quoteShort(b []byte) string {
	if len(b) > 40 {
		return strconv.Quote(string(b[:40])) + "..."
	}
	return strconv.Quote(string(b))
}

// AppendCallExt appends x as an extension element: "d" when x.HasTimeout,
// "m" when x.Meta is not empty (keys in map order). It does not check the
// limits; a sender checks them first.
func AppendCallExt(b []byte, x CallExt) []byte {
	n := 0
	if x.HasTimeout {
		n++
	}
	if len(x.Meta) > 0 {
		n++
	}
	b = appendMapLen(b, n)
	if x.HasTimeout {
		b = appendInt(append(b, 0xa1, 'd'), x.Timeout)
	}
	if len(x.Meta) > 0 {
		b = appendMapLen(append(b, 0xa1, 'm'), len(x.Meta))
		for k, v := range x.Meta {
			b = appendStr(appendStr(b, k), v)
		}
	}
	return b
}
