package codec

// Unmarshaler is implemented by decode destinations that decode themselves:
// Decode and DecodeParams hand them the raw bytes of their value (one
// complete, validated msgpack value) instead of decoding by type.
type Unmarshaler interface {
	UnmarshalMsgpack(raw []byte) error
}

// Generic decodes a value of any shape into V, exactly as Decode into a *any
// does (string, bool, int64, uint64 above MaxInt64, float64, []byte, Ext,
// []any, map[string]any, map[any]any, nil), with fewer allocations: a map key
// seen recently by the same Generic is not allocated again. A Generic is kept
// and reused (not safe for concurrent use): its memory of keys is what
// saves the allocations.
type Generic struct {
	V    any
	keys [genericKeys]string // recently decoded map keys, by keySlot
}

// genericKeys is the size of Generic's key memory (a power of two).
const genericKeys = 32

// maxInternedKey is the longest map key Generic remembers.
const maxInternedKey = 32

// UnmarshalMsgpack implements Unmarshaler.
func (g *Generic) UnmarshalMsgpack(raw []byte) error {
	v, end, err := g.read(raw, 0, 0)
	if err != nil {
		return err
	}
	if end != len(raw) {
		return valueError("trailing bytes after value")
	}
	g.V = v
	return nil
}

// read is readAny with map keys through g.key; scalars are readAny's.
func (g *Generic) read(b []byte, pos, depth int) (any, int, error) {
	if depth > 10000 {
		return nil, 0, valueError("value nested too deeply")
	}
	if pos >= len(b) {
		return nil, 0, errTruncated
	}
	c := b[pos]
	switch {
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
			if out[i], p, err = g.read(b, p, depth+1); err != nil {
				return nil, 0, err
			}
		}
		return out, p, nil
	case (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf:
		n, p, err := readMapLen(b, pos)
		if err != nil {
			return nil, 0, err
		}
		if n > (len(b)-p)/2 {
			return nil, 0, errTruncated
		}
		sm := make(map[string]any, n)
		for range n {
			if p >= len(b) {
				return nil, 0, errTruncated
			}
			if k := b[p]; !isStr(k) && !(k >= 0xc4 && k <= 0xc6) {
				// A key that is not a string or bin: readAny's map[any]any.
				return readAny(b, pos, depth)
			}
			var kb []byte
			if kb, p, err = readStrBytes(b, p); err != nil {
				return nil, 0, err
			}
			var v any
			if v, p, err = g.read(b, p, depth+1); err != nil {
				return nil, 0, err
			}
			sm[g.key(kb)] = v
		}
		return sm, p, nil
	}
	return readAny(b, pos, depth)
}

// key returns string(kb), the remembered copy when there is one.
func (g *Generic) key(kb []byte) string {
	if len(kb) == 0 || len(kb) > maxInternedKey {
		return string(kb)
	}
	slot := &g.keys[(len(kb)*31+int(kb[0])*7+int(kb[len(kb)-1]))&(genericKeys-1)]
	if *slot == string(kb) {
		return *slot
	}
	*slot = string(kb)
	return *slot
}
