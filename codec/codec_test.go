package codec

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

// chunkReader returns its data n bytes per Read, to exercise partial messages.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(r.n, len(p), len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

type point struct {
	X    int64             `msgpack:"x"`
	Name string            `msgpack:"name"`
	Tags []string          `msgpack:"tags"`
	Sub  *point            `msgpack:"sub"`
	Meta map[string]string `msgpack:"meta"`
}

func mustAppend(t testing.TB) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

func TestRoundTripStreamChunks(t *testing.T) {
	must := mustAppend(t)
	var stream []byte
	big := strings.Repeat("x", 100000)
	stream = must(AppendRequest(stream, 7, "echo", "hello", int64(-5), 2.5, true, nil))
	stream = must(AppendNotification(stream, "note", big))
	stream = must(AppendResponse(stream, 7, "", point{X: 1, Name: "p", Tags: []string{"a"}}))
	stream = must(AppendResponse(stream, 8, "boom", nil))
	for _, chunk := range []int{1, 3, 7, 64, 1 << 20} {
		d := NewDecoder(&chunkReader{data: stream, n: chunk}, Limits{})
		var m Message
		if err := d.Next(&m); err != nil {
			t.Fatalf("chunk %d: %v", chunk, err)
		}
		if m.Kind != Request || m.ID != 7 || m.Method != "echo" {
			t.Fatalf("chunk %d: bad request %+v", chunk, m)
		}
		var s string
		var i int64
		var f float64
		var bl bool
		var nl any
		if err := DecodeParams(m.Params, nil, &s, &i, &f, &bl, &nl); err != nil {
			t.Fatal(err)
		}
		if s != "hello" || i != -5 || f != 2.5 || !bl || nl != nil {
			t.Fatalf("params %q %d %v %v %v", s, i, f, bl, nl)
		}
		if err := d.Next(&m); err != nil || m.Kind != Notification || m.Method != "note" {
			t.Fatalf("chunk %d: notification %+v %v", chunk, m, err)
		}
		if err := DecodeParams(m.Params, []string{"v"}, &s); err != nil || s != big {
			t.Fatalf("big param: %v", err)
		}
		if err := d.Next(&m); err != nil || m.Kind != Response || !bytes.Equal(m.Error, []byte{0xc0}) {
			t.Fatalf("response %+v %v", m, err)
		}
		var p point
		if err := Decode(m.Result, &p); err != nil || p.X != 1 || p.Name != "p" || p.Tags[0] != "a" {
			t.Fatalf("struct result %+v %v", p, err)
		}
		var g any
		if err := Decode(m.Result, &g); err != nil {
			t.Fatal(err)
		}
		gm, ok := g.(map[string]any)
		if !ok || gm["x"] != int64(1) || gm["name"] != "p" {
			t.Fatalf("struct travels as a map keyed by tag name: %#v", g)
		}
		if err := d.Next(&m); err != nil || m.ID != 8 {
			t.Fatal(err)
		}
		var e string
		if err := Decode(m.Error, &e); err != nil || e != "boom" {
			t.Fatalf("error field %q %v", e, err)
		}
		if err := d.Next(&m); err != io.EOF {
			t.Fatalf("want io.EOF, got %v", err)
		}
	}
}

func TestUnexpectedEOF(t *testing.T) {
	b, _ := AppendRequest(nil, 1, "echo", "hello")
	d := NewDecoder(bytes.NewReader(b[:len(b)-2]), Limits{})
	var m Message
	if err := d.Next(&m); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v", err)
	}
}

func frameErr(t *testing.T, input []byte, lim Limits, want error) {
	t.Helper()
	d := NewDecoder(bytes.NewReader(input), lim)
	var m Message
	err := d.Next(&m)
	var fe *FrameError
	if !errors.As(err, &fe) || !errors.Is(err, want) {
		t.Fatalf("input % x: want FrameError %v, got %v", input[:min(len(input), 16)], want, err)
	}
	if err2 := d.Next(&m); err2 != err {
		t.Fatalf("frame error is not sticky: %v", err2)
	}
}

func TestHostileHeaders(t *testing.T) {
	// The 5-byte hazard: array32 claiming 4 Gi elements.
	frameErr(t, []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, Limits{}, ErrBadEnvelope)
	// Inside a valid envelope.
	frameErr(t, []byte{0x94, 0x00, 0x01, 0xa1, 'm', 0xdd, 0xff, 0xff, 0xff, 0xff}, Limits{}, ErrContainerTooLong)
	frameErr(t, []byte{0x94, 0x00, 0x01, 0xa1, 'm', 0xdb, 0xff, 0xff, 0xff, 0xff}, Limits{}, ErrTooLarge)
	frameErr(t, []byte{0x94, 0x00, 0x01, 0xa1, 'm', 0xc6, 0xff, 0xff, 0xff, 0xff}, Limits{}, ErrTooLarge)
	frameErr(t, []byte{0x94, 0x00, 0x01, 0xa1, 'm', 0xdf, 0x00, 0x10, 0x00, 0x00}, Limits{MaxMessageSize: 1000}, ErrTooLarge)
	frameErr(t, []byte{0x94, 0x00, 0x01, 0xa1, 'm', 0xc1}, Limits{}, ErrMalformed)
	frameErr(t, []byte("GET / HTTP/1.1\r\n\r\n"), Limits{}, ErrBadEnvelope)
	frameErr(t, []byte{0x92, 0x00, 0x01}, Limits{}, ErrBadEnvelope)
	frameErr(t, []byte{0x94, 0x05, 0x01, 0xa1, 'm', 0x90}, Limits{}, ErrBadEnvelope)
	frameErr(t, []byte{0x94, 0x00, 0xd0, 0xff, 0xa1, 'm', 0x90}, Limits{}, ErrBadEnvelope)
	frameErr(t, []byte{0x94, 0x00, 0x01, 0x01, 0x90}, Limits{}, ErrBadEnvelope)
	// Deep nesting.
	deep := []byte{0x94, 0x00, 0x01, 0xa1, 'm'}
	for range 100 {
		deep = append(deep, 0x91)
	}
	deep = append(deep, 0xc0)
	frameErr(t, deep, Limits{}, ErrTooDeep)
	// Oversized but well-formed message.
	big, _ := AppendRequest(nil, 1, "m", strings.Repeat("a", 2000))
	frameErr(t, big, Limits{MaxMessageSize: 1024}, ErrTooLarge)
}

func TestHugeClaimCostsNothing(t *testing.T) {
	in := []byte{0x94, 0x00, 0x01, 0xa1, 'm', 0xdd, 0x00, 0x0f, 0xff, 0xff}
	allocs := testing.AllocsPerRun(10, func() {
		d := NewDecoder(bytes.NewReader(in), Limits{})
		var m Message
		_ = d.Next(&m)
	})
	// NewDecoder's buffer and the error; never the claimed size.
	if allocs > 10 {
		t.Fatalf("%v allocs", allocs)
	}
}

func TestDecodeParamsErrors(t *testing.T) {
	b, _ := AppendRequest(nil, 1, "echo", "a", "b")
	var m Message
	if err := NewDecoder(bytes.NewReader(b), Limits{}).Next(&m); err != nil {
		t.Fatal(err)
	}
	var s string
	err := DecodeParams(m.Params, []string{"value"}, &s)
	var pc *ParamCountError
	if !errors.As(err, &pc) || err.Error() != "expects 1 params, got 2" {
		t.Fatalf("got %v", err)
	}
	var i int64
	err = DecodeParams(m.Params, []string{"value", "count"}, &s, &i)
	var ae *ArgError
	if !errors.As(err, &ae) || ae.Index != 1 || ae.Name != "count" || err.Error() != "arg 1 (count): want int, got string" {
		t.Fatalf("got %v", err)
	}
	var p point
	b, _ = AppendRequest(nil, 1, "f", "notastruct")
	_ = NewDecoder(bytes.NewReader(b), Limits{}).Next(&m)
	err = DecodeParams(m.Params, []string{"pt"}, &p)
	if !errors.As(err, &ae) || ae.Name != "pt" {
		t.Fatalf("got %v", err)
	}
}

func TestBinAsString(t *testing.T) {
	raw := []byte{0xc4, 0x02, 'h', 'i'}
	var s string
	if err := Decode(raw, &s); err != nil || s != "hi" {
		t.Fatalf("%q %v", s, err)
	}
	type S struct {
		V string `msgpack:"v"`
	}
	var st S
	if err := Decode([]byte{0x81, 0xa1, 'v', 0xc4, 0x01, 'z'}, &st); err != nil || st.V != "z" {
		t.Fatalf("%+v %v", st, err)
	}
}

func TestGenericValues(t *testing.T) {
	in := map[string]any{
		"s": "x", "i": int64(-3), "u": uint64(math.MaxUint64), "f": 1.5, "b": []byte{1},
		"l": []any{int64(1), "two", nil, true}, "m": map[string]any{"k": false},
	}
	b, err := AppendValue(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := Decode(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("got %#v", out)
	}
	// Struct encoded by shamaton decodes to a map keyed by tag names.
	b, _ = AppendValue(nil, &point{X: 2, Sub: &point{Name: "in"}})
	var p point
	if err := Decode(b, &p); err != nil || p.Sub == nil || p.Sub.Name != "in" {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestManyMessagesOneRead(t *testing.T) {
	var stream []byte
	for i := range 1000 {
		stream, _ = AppendRequest(stream, uint32(i), "m", i)
	}
	d := NewDecoder(bytes.NewReader(stream), Limits{})
	var m Message
	for i := range 1000 {
		if err := d.Next(&m); err != nil || m.ID != uint32(i) {
			t.Fatalf("%d: %v", i, err)
		}
	}
}

func TestDecodeHostileBytes(t *testing.T) {
	for _, in := range [][]byte{
		{0xdd, 0xff, 0xff, 0xff, 0xff},
		{0xdb, 0xff, 0xff, 0xff, 0xff},
		{0xc6, 0xff, 0xff, 0xff, 0xff},
		{0xdf, 0x7f, 0xff, 0xff, 0xff},
		{0x91},
		{0xc1},
		{0x90, 0x90},
	} {
		var v any
		if err := Decode(in, &v); err == nil {
			t.Errorf("% x: no error", in)
		}
		if err := DecodeParams(in, nil, &v); err == nil {
			t.Errorf("% x: DecodeParams: no error", in)
		}
	}
}

func TestReady(t *testing.T) {
	a, _ := AppendRequest(nil, 1, "echo", "x")
	b, _ := AppendRequest(nil, 2, "echo", "y")
	stream := append(a, b[:3]...)
	d := NewDecoder(bytes.NewReader(stream), Limits{})
	if d.Ready() {
		t.Fatal("ready before reading")
	}
	var m Message
	if err := d.Next(&m); err != nil || m.ID != 1 {
		t.Fatal(err)
	}
	if d.Buffered() != 3 || d.Ready() {
		t.Fatalf("partial message: buffered %d, ready %v", d.Buffered(), d.Ready())
	}
	d2 := NewDecoder(bytes.NewReader(append(append([]byte{}, a...), b...)), Limits{})
	_ = d2.Next(&m)
	if !d2.Ready() {
		t.Fatal("complete message buffered but not ready")
	}
	if err := d2.Next(&m); err != nil || m.ID != 2 {
		t.Fatalf("after Ready: %d %v", m.ID, err)
	}
}
