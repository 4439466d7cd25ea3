package codec

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"
)

// FuzzDecoder feeds arbitrary bytes to the Decoder. Every message it accepts
// must survive decode -> re-encode -> decode with equal values, and nothing
// may panic, hang or allocate beyond the limits.
func FuzzDecoder(f *testing.F) {
	seeds := [][]byte{
		{0xdd, 0xff, 0xff, 0xff, 0xff},
		{0x94, 0x00, 0x01, 0xa1, 'm', 0xdb, 0xff, 0xff, 0xff, 0xff},
		{0x93, 0x02, 0xa1, 'n', 0x91, 0xc7, 0x01, 0x05, 0x00},
	}
	r, _ := AppendRequest(nil, 1, "echo", "hello", int64(-1), 1.5, []any{true, nil}, map[string]any{"k": []byte{1}})
	seeds = append(seeds, r)
	n, _ := AppendNotification(nil, "note", uint64(math.MaxUint64), float32(0.5))
	seeds = append(seeds, n)
	resp, _ := AppendResponse(nil, 9, "err", map[string]any{"a": int64(1)})
	seeds = append(seeds, append(r, resp...))
	for _, s := range seeds {
		f.Add(s)
	}
	lim := Limits{MaxMessageSize: 1 << 16, MaxContainerLen: 1 << 10, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(&chunkReader{data: data, n: 7}, lim)
		for range 64 {
			var m Message
			err := d.Next(&m)
			if err != nil {
				var fe *FrameError
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &fe) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			roundTrip(t, &m)
		}
	})
}

func roundTrip(t *testing.T, m *Message) {
	var enc []byte
	var err error
	switch m.Kind {
	case Request, Notification:
		var params any
		if Decode(m.Params, &params) != nil {
			return
		}
		args, ok := params.([]any)
		if !ok {
			return
		}
		if m.Kind == Request {
			enc, err = AppendRequest(nil, m.ID, m.Method, args...)
		} else {
			enc, err = AppendNotification(nil, m.Method, args...)
		}
	case Response:
		var e, res any
		if Decode(m.Error, &e) != nil || Decode(m.Result, &res) != nil {
			return
		}
		enc = append(enc, 0x94, 0x01)
		enc = appendUint(enc, uint64(m.ID))
		if enc, err = AppendValue(enc, e); err == nil {
			enc, err = AppendValue(enc, res)
		}
	}
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	var m2 Message
	if err := NewDecoder(bytes.NewReader(enc), Limits{}).Next(&m2); err != nil {
		t.Fatalf("re-decode % x: %v", enc, err)
	}
	if m2.Kind != m.Kind || m2.ID != m.ID || m2.Method != m.Method {
		t.Fatalf("envelope changed: %+v vs %+v", m, m2)
	}
	for _, pair := range [][2][]byte{{m.Params, m2.Params}, {m.Error, m2.Error}, {m.Result, m2.Result}} {
		if pair[0] == nil {
			continue
		}
		var a, b any
		if err := Decode(pair[0], &a); err != nil {
			t.Fatal(err)
		}
		if err := Decode(pair[1], &b); err != nil {
			t.Fatalf("re-decoded value: %v", err)
		}
		if !equalValue(a, b) {
			t.Fatalf("value changed: %#v vs %#v", a, b)
		}
	}
}

// equalValue is reflect.DeepEqual with NaN equal to NaN.
func equalValue(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !equalValue(v, w) {
				return false
			}
		}
		return true
	case map[any]any:
		y, ok := b.(map[any]any)
		if !ok || len(x) != len(y) {
			return false
		}
		// NaN keys never match one another: their values are compared as a
		// multiset, whatever order the maps iterate in.
		var nx, ny []any
		for k, v := range x {
			if isNaN(k) {
				nx = append(nx, v)
				continue
			}
			if w, ok := y[k]; !ok || !equalValue(v, w) {
				return false
			}
		}
		for k, w := range y {
			if isNaN(k) {
				ny = append(ny, w)
			}
		}
		return sameMultiset(nx, ny)
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case Ext:
		y, ok := b.(Ext)
		return ok && x.Type == y.Type && bytes.Equal(x.Data, y.Data)
	}
	return a == b
}

func isNaN(k any) bool {
	f, ok := k.(float64)
	return ok && math.IsNaN(f)
}

// sameMultiset reports whether a and b hold equal values (equalValue), each
// matched once, in any order.
func sameMultiset(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
next:
	for _, v := range a {
		for j, w := range b {
			if !used[j] && equalValue(v, w) {
				used[j] = true
				continue next
			}
		}
		return false
	}
	return true
}
