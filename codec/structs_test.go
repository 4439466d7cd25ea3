package codec

import (
	"reflect"
	"testing"

	"github.com/shamaton/msgpack/v2"
)

type flatStruct struct {
	Value string `msgpack:"value"`
	N     int64  `msgpack:"n,omitempty"`
	Small int8
	U     uint16 `msgpack:"u"`
	F     float64
	B     bool   `msgpack:"b"`
	Skip  string `msgpack:"-"`
	Dup   string `msgpack:"value"` // shadowed by Value, as in shamaton/msgpack
}

// The struct fast path gives what shamaton/msgpack gives, and falls back to it
// for whatever it does not cover.
func TestStructFastPathMatchesShamaton(t *testing.T) {
	inputs := []any{
		map[string]any{"value": "x", "n": int64(-5), "Small": int64(7), "u": uint64(65535), "F": 1.5, "b": true},
		map[string]any{"value": "y", "unknown": []any{int64(1), "z"}, "Skip": "s"},
		map[string]any{"Small": int64(300)},                            // overflow: error from shamaton
		map[string]any{"u": int64(-1)},                                 // negative into unsigned
		map[string]any{"value": int64(3)},                              // wrong type
		map[string]any{"F": int64(2), "b": nil},                        // int into float, nil into bool
		map[string]any{"value": []byte("bin")},                         // bin into string
		map[any]any{int64(1): "x"},                                     // non-string key
		[]any{"a", int64(1), int64(2), uint64(3), 1.0, true, "s", "d"}, // array form
		nil,
	}
	for i, in := range inputs {
		raw, err := msgpack.MarshalAsMap(in)
		if err != nil {
			t.Fatal(err)
		}
		var fast, slow flatStruct
		if i < 2 && !decodeStructFast(raw, new(flatStruct)) {
			t.Errorf("input %d: fast path not taken", i)
		}
		errFast := decodeValue(raw, &fast)
		errSlow := msgpack.UnmarshalAsMap(raw, &slow)
		if (errFast == nil) != (errSlow == nil) {
			t.Errorf("input %d: fast err %v, shamaton err %v", i, errFast, errSlow)
		}
		if errSlow == nil && !reflect.DeepEqual(fast, slow) {
			t.Errorf("input %d: fast %+v, shamaton %+v", i, fast, slow)
		}
	}
	for _, v := range []any{
		flatStruct{Value: "v", N: 0, Small: -3, U: 9, F: -2.25, B: true, Skip: "gone"},
		&flatStruct{N: 1 << 40},
	} {
		if _, ok := appendStructFast(nil, v); !ok {
			t.Errorf("encode %+v: fast path not taken", v)
		}
		b, err := AppendValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		var got, want flatStruct
		if err := msgpack.UnmarshalAsMap(b, &got); err != nil {
			t.Fatal(err)
		}
		ref, _ := msgpack.MarshalAsMap(v)
		if err := msgpack.UnmarshalAsMap(ref, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("encode %+v: got %+v, want %+v", v, got, want)
		}
		var m, mref map[string]any
		msgpack.Unmarshal(b, &m)
		msgpack.Unmarshal(ref, &mref)
		if len(m) != len(mref) {
			t.Errorf("encode %+v: keys %v, shamaton %v", v, m, mref)
		}
	}
}

// BenchmarkCodecFlatStruct encodes and decodes an IDL-style struct (the echo
// service's echomsg) with the fast path and, for reference, with shamaton/msgpack.
func BenchmarkCodecFlatStruct(b *testing.B) {
	type echomsg struct {
		Value string `msgpack:"value"`
	}
	in := echomsg{Value: "testtest"}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		var out echomsg
		for i := 0; i < b.N; i++ {
			buf, _ = AppendValue(buf[:0], in)
			if err := decodeValue(buf, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shamaton", func(b *testing.B) {
		b.ReportAllocs()
		var out echomsg
		for i := 0; i < b.N; i++ {
			buf, _ := msgpack.MarshalAsMap(in)
			if err := msgpack.UnmarshalAsMap(buf, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzStructFastPath: on any well-formed value the fast path decodes what
// shamaton/msgpack decodes, and fails where it fails.
func FuzzStructFastPath(f *testing.F) {
	for _, in := range []any{
		map[string]any{"value": "x", "n": int64(-5), "Small": int64(7), "u": uint64(65535), "F": 1.5, "b": true},
		map[string]any{"value": "y", "unknown": []any{int64(1), "z"}},
		map[string]any{"u": int64(-1), "Small": int64(300)},
	} {
		b, _ := msgpack.MarshalAsMap(in)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || validate(data, Limits{MaxMessageSize: 1 << 16, MaxContainerLen: 1 << 10, MaxDepth: 16}) != nil {
			return
		}
		if end, err := skip(data, 0); err != nil || end != len(data) {
			return
		}
		var fast, slow flatStruct
		errFast := decodeValue(data, &fast)
		errSlow := msgpack.UnmarshalAsMap(data, &slow)
		if (errFast == nil) != (errSlow == nil) {
			t.Fatalf("fast err %v, shamaton err %v", errFast, errSlow)
		}
		if errSlow == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("fast %+v, shamaton %+v", fast, slow)
		}
	})
}
