package codec

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// Test protos shaped as svrkit gen writes them.
type (
	Echomsg struct {
		Value string `msgpack:"value"`
	}
	Pos struct {
		X int64   `msgpack:"x"`
		Y float64 `msgpack:"y"`
	}
	Item struct {
		Name   string           `msgpack:"name"`
		On     bool             `msgpack:"on"`
		Tags   []any            `msgpack:"tags"`
		Attrs  map[string]any   `msgpack:"attrs"`
		Pos    Pos              `msgpack:"pos"`
		Kids   []Pos            `msgpack:"kids"`
		ByName map[string]Pos   `msgpack:"by_name"`
		Counts map[string]int64 `msgpack:"counts"`
		Matrix [][]float64      `msgpack:"matrix"`
	}
	Tree struct {
		Label    string          `msgpack:"label"`
		Children []Tree          `msgpack:"children"`
		Index    map[string]Tree `msgpack:"index"`
	}
	// numbers has a field of every numeric Go kind an IDL or a user may use.
	EchoInner struct {
		N     int64   `msgpack:"n"`
		Small int8    `msgpack:"small"`
		U     uint16  `msgpack:"u"`
		Big   uint64  `msgpack:"big"`
		I     int     `msgpack:"i"`
		F     float64 `msgpack:"f"`
		F32   float32 `msgpack:"f32"`
	}
)

// params encodes args as a params array.
func params(t *testing.T, args ...any) []byte {
	t.Helper()
	b := appendArrayLen(nil, len(args))
	for _, a := range args {
		var err error
		if b, err = AppendValue(b, a); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// packed is msgpack.dumps(v): v's bytes, sent as a str (packedStr) or bin.
func packed(t *testing.T, v any) []byte {
	t.Helper()
	b, err := AppendValue(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func packedStr(t *testing.T, v any) string { return string(packed(t, v)) }

// Item 3 of issue 18: a number in a struct field follows the rules of a
// top-level param: no float is truncated, nothing overflows, and the error
// names the field.
func TestStructFieldNumbersFollowParamRules(t *testing.T) {
	bad := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"n": 1.9}, "arg 0 (x).n: want int, got float 1.9"},
		{map[string]any{"n": -2.7}, "arg 0 (x).n: want int, got float -2.7"},
		{map[string]any{"n": 1e30}, "arg 0 (x).n: want int, got float 1e+30"},
		{map[string]any{"n": math.NaN()}, "arg 0 (x).n: want int, got float NaN"},
		{map[string]any{"n": math.Inf(-1)}, "arg 0 (x).n: want int, got float -Inf"},
		{map[string]any{"n": float32(2.5)}, "arg 0 (x).n: want int, got float 2.5"},
		{map[string]any{"n": uint64(math.MaxInt64) + 1}, "arg 0 (x).n: want int, got int 9223372036854775808 (out of int64 range)"},
		{map[string]any{"n": "5"}, "arg 0 (x).n: want int, got string"},
		{map[string]any{"small": int64(300)}, "arg 0 (x).small: want int, got int 300 (out of int8 range)"},
		{map[string]any{"small": 1.0}, "arg 0 (x).small: want int, got float 1"},
		{map[string]any{"u": int64(-1)}, "arg 0 (x).u: want int, got int -1 (out of uint16 range)"},
		{map[string]any{"u": int64(70000)}, "arg 0 (x).u: want int, got int 70000 (out of uint16 range)"},
		{map[string]any{"big": int64(-1)}, "arg 0 (x).big: want int, got int -1 (out of uint64 range)"},
		{map[string]any{"big": 2.0}, "arg 0 (x).big: want int, got float 2"},
		{map[string]any{"i": 0.5}, "arg 0 (x).i: want int, got float 0.5"},
		{map[string]any{"f32": 1e300}, "arg 0 (x).f32: want float, got float 1e+300 (out of float32 range)"},
		{map[string]any{"f": "1.5"}, "arg 0 (x).f: want float, got string"},
	}
	for _, c := range bad {
		var got EchoInner
		err := DecodeParams(params(t, c.in), []string{"x"}, &got)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v: error %v, want %q", c.in, err, c.want)
		}
	}
	good := []struct {
		in   map[string]any
		want EchoInner
	}{
		{map[string]any{"n": int64(-7), "small": int64(-128), "u": int64(65535), "i": int64(3)},
			EchoInner{N: -7, Small: -128, U: 65535, I: 3}},
		{map[string]any{"big": uint64(math.MaxUint64), "n": int64(math.MinInt64)},
			EchoInner{Big: math.MaxUint64, N: math.MinInt64}},
		{map[string]any{"f": int64(2), "f32": 0.5}, EchoInner{F: 2, F32: 0.5}},
		{map[string]any{"f": uint64(math.MaxUint64), "f32": math.Inf(1)}, EchoInner{F: math.MaxUint64, F32: float32(math.Inf(1))}},
		{map[string]any{"n": nil, "f": nil}, EchoInner{}},
	}
	for _, c := range good {
		var got EchoInner
		if err := DecodeParams(params(t, c.in), []string{"x"}, &got); err != nil || got != c.want {
			t.Errorf("%v: got %+v %v, want %+v", c.in, got, err, c.want)
		}
	}
	// The same rule, the same words, at the top level.
	var n int64
	if err := DecodeParams(params(t, 1.9), []string{"n"}, &n); err == nil || err.Error() != "arg 0 (n): want int, got float 1.9" {
		t.Errorf("top-level int from 1.9: %v", err)
	}
	// And inside lists and dicts of numbers.
	var it Item
	err := DecodeParams(params(t, map[string]any{"counts": map[string]any{"a": 1.5}}), []string{"item"}, &it)
	if err == nil || err.Error() != `arg 0 (item).counts["a"]: want int, got float 1.5` {
		t.Errorf("dict<string,int> holding 1.5: %v", err)
	}
	err = DecodeParams(params(t, map[string]any{"kids": []any{map[string]any{}, map[string]any{"x": 0.5}}}), []string{"item"}, &it)
	if err == nil || err.Error() != `arg 0 (item).kids[1].x: want int, got float 0.5` {
		t.Errorf("list<pos> holding x 0.5: %v", err)
	}
	// A result decoded by Decode names the path too.
	var r EchoInner
	if err := Decode(packed(t, map[string]any{"n": 1.9}), &r); err == nil || err.Error() != "codec: n: want int, got float 1.9" {
		t.Errorf("Decode: %v", err)
	}
}

// Item 10 of issue 18: decode errors say what was wanted and what came, in
// IDL terms, never in msgpack's internals.
func TestDecodeErrorsInIDLTerms(t *testing.T) {
	cases := []struct {
		arg  any
		dst  any
		want string
	}{
		{int64(5), new(string), "arg 0 (a): want string, got int"},
		{"x", new(int64), "arg 0 (a): want int, got string"},
		{[]any{}, new(bool), "arg 0 (a): want bool, got an array"},
		{map[string]any{}, new(float64), "arg 0 (a): want float, got a map"},
		{nil, new(string), "arg 0 (a): want string, got nil"},
		{Ext{Type: 1, Data: []byte{0}}, new(string), "arg 0 (a): want string, got ext"},
		{int64(5), new(Echomsg), "arg 0 (a): want a map of echomsg's fields, got int"},
		{true, new(Echomsg), "arg 0 (a): want a map of echomsg's fields, got bool"},
		{[]any{"a", "b"}, new(Echomsg), "arg 0 (a): want a map of echomsg's fields, got an array of 2 (echomsg has 1 field)"},
		{map[any]any{int64(1): "x"}, new(Echomsg), "arg 0 (a): want a map of echomsg's fields, got a map with an int key"},
		{map[string]any{"value": int64(3)}, new(Echomsg), "arg 0 (a).value: want string, got int"},
		{map[string]any{"value": []any{}}, new(Echomsg), "arg 0 (a).value: want string, got an array"},
		{map[string]any{"x": int64(1)}, new(EchoInner), ""},
		{map[string]any{"kids": map[string]any{}}, new(Item), "arg 0 (a).kids: want list, got a map"},
		{map[string]any{"by_name": []any{}}, new(Item), "arg 0 (a).by_name: want dict, got an array"},
		{map[string]any{"by_name": map[string]any{"p": int64(1)}}, new(Item), `arg 0 (a).by_name["p"]: want a map of pos's fields, got int`},
		{map[string]any{"attrs": map[any]any{true: int64(1)}}, new(Item), "arg 0 (a).attrs: want dict, got a map with a bool key"},
		{map[string]any{"matrix": []any{[]any{1.0, "x"}}}, new(Item), "arg 0 (a).matrix[0][1]: want float, got string"},
		{map[string]any{"on": int64(1)}, new(Item), "arg 0 (a).on: want bool, got int"},
		{map[string]any{"pos": "not packed"}, new(Item), "arg 0 (a).pos: want a map of pos's fields, got a string that is not a packed map"},
		{[]any{int64(1)}, new([]string), "arg 0 (a)[0]: want string, got int"},
		{map[string]any{"k": "v"}, new(map[string]int64), `arg 0 (a)["k"]: want int, got string`},
	}
	for _, c := range cases {
		err := DecodeParams(params(t, c.arg), []string{"a"}, c.dst)
		if c.want == "" {
			if err != nil {
				t.Errorf("%#v into %T: %v", c.arg, c.dst, err)
			}
			continue
		}
		if err == nil || err.Error() != c.want {
			t.Errorf("%#v into %T: error %v, want %q", c.arg, c.dst, err, c.want)
		}
	}
}

// Item 11 of issue 18: where a proto is expected, pysvrkit's two legacy forms
// (a str/bin holding a packed map; a positional array of the fields in IDL
// order) are accepted, recursively, and give what the map form gives.
func TestLegacyProtoForms(t *testing.T) {
	asMap := map[string]any{
		"name": "n", "on": true, "tags": []any{int64(1), "t"}, "attrs": map[string]any{"k": 1.5},
		"pos":     map[string]any{"x": int64(1), "y": 2.5},
		"kids":    []any{map[string]any{"x": int64(2)}, map[string]any{"x": int64(3), "y": 0.5}},
		"by_name": map[string]any{"a": map[string]any{"x": int64(4)}},
		"counts":  map[string]any{"c": int64(9)},
		"matrix":  []any{[]any{1.0, int64(2)}},
	}
	var want Item
	if err := DecodeParams(params(t, asMap), nil, &want); err != nil {
		t.Fatal(err)
	}
	if want.Pos.X != 1 || len(want.Kids) != 2 || want.ByName["a"].X != 4 {
		t.Fatalf("map form: %+v", want)
	}
	// Every proto position in a legacy form, mixed as an old client might.
	positional := []any{
		"n", true, []any{int64(1), "t"}, map[string]any{"k": 1.5},
		packedStr(t, map[string]any{"x": int64(1), "y": 2.5}),                      // packed in a str
		[]any{[]any{int64(2)}, packed(t, map[string]any{"x": int64(3), "y": 0.5})}, // positional, packed in a bin
		map[string]any{"a": []any{int64(4)}},
		map[string]any{"c": int64(9)},
		[]any{[]any{1.0, int64(2)}},
	}
	forms := map[string]any{
		"positional":        positional,
		"packed map":        packed(t, asMap),
		"packed map in str": packedStr(t, asMap),
	}
	for name, arg := range forms {
		var got Item
		if err := DecodeParams(params(t, arg), []string{"msg"}, &got); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}

	// The seed's echomsg, both ways; a short array leaves the rest zero.
	for _, arg := range []any{[]any{"testtest"}, packed(t, map[string]any{"value": "testtest"}), packedStr(t, map[string]any{"value": "testtest"})} {
		var m Echomsg
		if err := DecodeParams(params(t, arg), []string{"msg"}, &m); err != nil || m.Value != "testtest" {
			t.Errorf("%q: %+v %v", arg, m, err)
		}
	}
	var p Pos
	if err := DecodeParams(params(t, []any{int64(5)}), nil, &p); err != nil || p != (Pos{X: 5}) {
		t.Errorf("short positional pos: %+v %v", p, err)
	}

	// Recursive protos: a tree whose children are packed, holding positional children.
	leaf := []any{"leaf", nil, nil}
	mid := packed(t, map[string]any{"label": "mid", "children": []any{leaf}, "index": map[string]any{"l": leaf}})
	var tr Tree
	if err := DecodeParams(params(t, []any{"root", []any{mid}}), nil, &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Label != "root" || tr.Children[0].Label != "mid" || tr.Children[0].Children[0].Label != "leaf" || tr.Children[0].Index["l"].Label != "leaf" {
		t.Errorf("tree: %+v", tr)
	}

	// Errors inside a legacy form name the path and are in IDL terms.
	for arg, wantErr := range map[string]string{
		packedStr(t, map[string]any{"x": 1.5}): "arg 0 (p).x: want int, got float 1.5",
		packedStr(t, []any{int64(1)}):          "arg 0 (p): want a map of pos's fields, got a string that is not a packed map",
		"":                                     "arg 0 (p): want a map of pos's fields, got a string that is not a packed map",
		"\x81\xa1x":                            "arg 0 (p): want a map of pos's fields, got a packed map that is not valid within the limits: malformed msgpack: value truncated",
		"\x81\xa1x\x01\x02":                    "arg 0 (p): want a map of pos's fields, got a packed map that is not valid within the limits: malformed msgpack: 1 trailing bytes after the value",
		packedStr(t, map[string]any{"x": "\x80"}):   "arg 0 (p).x: want int, got string",
		packedStr(t, map[string]any{"y": []any{}}):  "arg 0 (p).y: want float, got an array",
		packedStr(t, map[string]any{"x": int64(1)}): "",
	} {
		var p Pos
		err := DecodeParams(params(t, arg), []string{"p"}, &p)
		if wantErr == "" {
			if err != nil || p.X != 1 {
				t.Errorf("%q: %+v %v", arg, p, err)
			}
			continue
		}
		if err == nil || err.Error() != wantErr {
			t.Errorf("%q: error %v, want %q", arg, err, wantErr)
		}
	}
}

// The bytes of a packed proto are held to the message's limits: nesting
// counts from the top of the message, containers are bounded, and packing
// inside packing cannot recurse without end.
func TestLegacyProtoLimits(t *testing.T) {
	// A chain of trees, each packed into its parent's children.
	chain := func(n int) []byte {
		b := packed(t, map[string]any{"label": "leaf"})
		for range n {
			b = packed(t, map[string]any{"label": "x", "children": []any{b}})
		}
		return b
	}
	var tr Tree
	if err := DecodeParams(params(t, chain(20)), nil, &tr); err != nil {
		t.Fatalf("a chain of 20 packed trees: %v", err)
	}
	err := DecodeParams(params(t, chain(40)), []string{"t"}, &tr)
	if err == nil || !strings.Contains(err.Error(), "nest") || !strings.HasPrefix(err.Error(), "arg 0 (t).children[0].children[0]") {
		t.Errorf("a chain of 40 packed trees: %v", err)
	}
	// Deep nesting inside one packed map.
	deep := []any{}
	for range 70 {
		deep = []any{deep}
	}
	err = DecodeParams(params(t, packed(t, map[string]any{"tags": deep})), []string{"it"}, new(Item))
	if err == nil || !strings.Contains(err.Error(), "nesting exceeds MaxDepth") {
		t.Errorf("packed map 70 deep: %v", err)
	}
	// A container longer than the limit, declared in a few bytes.
	huge := []byte{0xdf, 0x7f, 0xff, 0xff, 0xff}
	err = DecodeParams(params(t, huge), []string{"it"}, new(Item))
	if err == nil || !strings.Contains(err.Error(), "container exceeds MaxContainerLen") {
		t.Errorf("packed map claiming 2^31 pairs: %v", err)
	}
	// Within one Decoder message, the whole thing is one message under its limits.
	msg, _ := AppendRequest(nil, 1, "walk", Raw(params(t, chain(20))[1:]))
	var m Message
	if err := NewDecoder(strings.NewReader(string(msg)), Limits{}).Next(&m); err != nil {
		t.Fatal(err)
	}
	if err := DecodeParams(m.Params, nil, &tr); err != nil {
		t.Errorf("from a message: %v", err)
	}
}

// nil in a field or element leaves its zero value (pysvrkit's clients send
// None for an unset nested proto); a top-level scalar param refuses it.
func TestNilLeavesZero(t *testing.T) {
	it := Item{Name: "old", On: true, Pos: Pos{X: 1}, Kids: []Pos{{}}, ByName: map[string]Pos{"a": {}}}
	in := map[string]any{"name": nil, "on": nil, "pos": nil, "kids": nil, "by_name": nil, "tags": []any{nil}}
	if err := Decode(packed(t, in), &it); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(it, Item{Tags: []any{nil}}) {
		t.Errorf("got %+v", it)
	}
	var m Echomsg
	if err := DecodeParams(params(t, nil), nil, &m); err != nil || m != (Echomsg{}) {
		t.Errorf("nil proto param: %+v %v", m, err)
	}
	for _, dst := range []any{new(bool), new(int64), new(float64), new(string), new(int8), new(uint32)} {
		if err := DecodeParams(params(t, nil), []string{"p"}, dst); err == nil || !strings.HasSuffix(err.Error(), ", got nil") {
			t.Errorf("nil into %T: %v", dst, err)
		}
	}
}
