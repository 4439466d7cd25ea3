package codec

import (
	"bytes"
	"math"
	"testing"
)

// genericSeeds are values of every shape Decode into *any gives, map keys
// repeated and colliding in Generic's memory, and maps Generic must leave to
// readAny (keys that are not strings).
func genericSeeds(t testing.TB) [][]byte {
	values := []any{
		nil, true, int64(-5), uint64(math.MaxUint64), 1.5, float32(0.25), "testtest", []byte{1, 2},
		Ext{Type: 3, Data: []byte{9}},
		map[string]any{"value": "testtest"},
		map[string]any{"a": int64(1), "b": []any{map[string]any{"a": "x", "value": nil}}, "": "empty"},
		[]any{map[string]any{"k": int64(1)}, map[string]any{"k": int64(2)}, map[string]any{"K": int64(3)}},
		map[any]any{int64(1): "one", "s": "two"},
		map[string]any{"outer": map[any]any{true: "t"}},
		map[string]any{string(bytes.Repeat([]byte("k"), 40)): "long key"},
	}
	var seeds [][]byte
	for _, v := range values {
		b, err := AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	// A bin map key decodes as a string key.
	seeds = append(seeds, []byte{0x81, 0xc4, 0x01, 'k', 0x01})
	// Truncated and trailing input.
	seeds = append(seeds, []byte{0x82, 0xa1, 'a', 0x01}, []byte{0x81, 0xa1, 'a', 0x01, 0x02})
	return seeds
}

// sameAsAny checks that Generic decodes raw as Decode into *any does.
func sameAsAny(t *testing.T, g *Generic, raw []byte) {
	t.Helper()
	var want any
	werr := Decode(raw, &want)
	g.V = nil
	gerr := Decode(raw, g)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%x: Generic error %v, *any error %v", raw, gerr, werr)
	}
	if werr != nil {
		if werr.Error() != gerr.Error() {
			t.Errorf("%x: Generic error %q, *any error %q", raw, gerr, werr)
		}
		return
	}
	// NaN-aware, and maps with NaN keys compared whatever their order.
	if !equalValue(g.V, want) {
		t.Errorf("%x: Generic decoded %#v, *any %#v", raw, g.V, want)
	}
}

// TestGenericSameAsAny: Generic gives Decode's *any results and errors, with
// one Generic reused over all of them.
func TestGenericSameAsAny(t *testing.T) {
	var g Generic
	for range 2 {
		for _, raw := range genericSeeds(t) {
			sameAsAny(t, &g, raw)
		}
	}
}

// TestGenericInternsKeys: decoding the same map again allocates nothing for
// its keys.
func TestGenericInternsKeys(t *testing.T) {
	raw, _ := AppendValue(nil, map[string]any{"value": int64(1)})
	var g Generic
	if err := Decode(raw, &g); err != nil {
		t.Fatal(err)
	}
	var any1 any
	withAny := testing.AllocsPerRun(100, func() { Decode(raw, &any1) })
	withGeneric := testing.AllocsPerRun(100, func() { Decode(raw, &g) })
	if withGeneric >= withAny {
		t.Errorf("Generic: %v allocations per decode, *any %v: want fewer", withGeneric, withAny)
	}
}

// FuzzGeneric: Generic and Decode into *any agree on any input.
func FuzzGeneric(f *testing.F) {
	for _, s := range genericSeeds(f) {
		f.Add(s)
	}
	var g Generic
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) == 0 {
			return
		}
		sameAsAny(t, &g, raw)
	})
}
