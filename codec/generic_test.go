package codec

import (
	"reflect"
	"testing"
)

// Interface values inside structs, slices and maps decode to the same shapes as a
// top-level *any: int64, float64, map[string]any.
func TestDecodeNormalizesNestedGenericValues(t *testing.T) {
	type inner struct {
		Attrs map[string]any `msgpack:"attrs"`
	}
	type outer struct {
		Tags  []any            `msgpack:"tags"`
		In    inner            `msgpack:"in"`
		ByKey map[string]inner `msgpack:"by_key"`
		Self  []outer          `msgpack:"self"`
	}
	src := map[string]any{
		"tags":   []any{int64(2), "a", int64(-1), 1.5, uint64(1 << 63)},
		"in":     map[string]any{"attrs": map[string]any{"n": int64(1), "m": map[string]any{"x": []any{int64(3)}}}},
		"by_key": map[string]any{"k": map[string]any{"attrs": map[string]any{"v": int64(300)}}},
		"self":   []any{map[string]any{"tags": []any{int64(7)}}},
	}
	raw, err := AppendValue(nil, src)
	if err != nil {
		t.Fatal(err)
	}
	var got outer
	if err := Decode(raw, &got); err != nil {
		t.Fatal(err)
	}
	want := outer{
		Tags:  []any{int64(2), "a", int64(-1), 1.5, uint64(1 << 63)},
		In:    inner{Attrs: map[string]any{"n": int64(1), "m": map[string]any{"x": []any{int64(3)}}}},
		ByKey: map[string]inner{"k": {Attrs: map[string]any{"v": int64(300)}}},
		Self:  []outer{{Tags: []any{int64(7)}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}
