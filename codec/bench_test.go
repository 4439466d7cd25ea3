package codec

import "testing"

// repeatReader serves the same message forever, many copies per Read.
type repeatReader struct {
	msg []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], r.msg[r.off:])
		n += k
		r.off = (r.off + k) % len(r.msg)
	}
	return n, nil
}

func BenchmarkCodecEncodeRequest(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	arg := any("hello world")
	for i := 0; i < b.N; i++ {
		buf, _ = AppendRequest(buf[:0], uint32(i), "echo", arg)
	}
}

func BenchmarkCodecDecodeRequest(b *testing.B) {
	b.ReportAllocs()
	msg, _ := AppendRequest(nil, 1, "echo", "hello world")
	d := NewDecoder(&repeatReader{msg: msg}, Limits{})
	var m Message
	var s string
	for i := 0; i < b.N; i++ {
		if err := d.Next(&m); err != nil {
			b.Fatal(err)
		}
		if err := DecodeParams(m.Params, nil, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodecEcho is the whole codec path of one echo call: the client
// encodes the request, the server decodes it and its param and encodes the
// response, the client decodes the response and its result. Its 2 allocations
// are the two decoded strings handed to user code.
func BenchmarkCodecEcho(b *testing.B) {
	b.ReportAllocs()
	req := &repeatReader{}
	resp := &repeatReader{}
	var reqBuf, respBuf []byte
	req.msg, _ = AppendRequest(nil, 1, "echo", "hello world")
	resp.msg, _ = AppendResponse(nil, 1, "", "hello world")
	sd := NewDecoder(req, Limits{})
	cd := NewDecoder(resp, Limits{})
	var m Message
	var param, reply string
	arg := any("hello world")
	for i := 0; i < b.N; i++ {
		reqBuf, _ = AppendRequest(reqBuf[:0], 1, "echo", arg)
		if err := sd.Next(&m); err != nil {
			b.Fatal(err)
		}
		if err := DecodeParams(m.Params, nil, &param); err != nil {
			b.Fatal(err)
		}
		// The handler's result, boxed once outside the loop like the request's
		// argument: boxing a handler's return value into any is the handler's
		// allocation, not the codec's.
		respBuf, _ = AppendResponse(respBuf[:0], m.ID, "", arg)
		if err := cd.Next(&m); err != nil {
			b.Fatal(err)
		}
		if err := Decode(m.Result, &reply); err != nil {
			b.Fatal(err)
		}
	}
	_ = reqBuf
	_ = respBuf
}

func BenchmarkCodecStructResult(b *testing.B) {
	b.ReportAllocs()
	p := point{X: 1, Name: "n", Tags: []string{"a", "b"}}
	var buf []byte
	var out point
	for i := 0; i < b.N; i++ {
		buf, _ = AppendResponse(buf[:0], 1, "", &p)
		if err := Decode(buf[4:], &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCodecNestedStruct decodes a proto with nested protos, a list and a
// dict of protos and generic values (examples/full's everything, abridged).
func BenchmarkCodecNestedStruct(b *testing.B) {
	type pt struct {
		X int64   `msgpack:"x"`
		Y float64 `msgpack:"y"`
	}
	type everything struct {
		S      string           `msgpack:"s"`
		I      int64            `msgpack:"i"`
		L      []any            `msgpack:"l"`
		P      pt               `msgpack:"p"`
		Pts    []pt             `msgpack:"pts"`
		Counts map[string]int64 `msgpack:"counts"`
		ByName map[string]pt    `msgpack:"by_name"`
	}
	in := everything{S: "s", I: 7, L: []any{int64(1), "two"}, P: pt{1, 2},
		Pts: []pt{{3, 4}, {5, 6}}, Counts: map[string]int64{"a": 1}, ByName: map[string]pt{"b": {7, 8}}}
	raw, err := AppendValue(nil, in)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var out everything
		if err := Decode(raw, &out); err != nil {
			b.Fatal(err)
		}
	}
}
