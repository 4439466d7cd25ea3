package codec

import (
	"bytes"
	"math"
	"testing"
)

// flatMsg encodes itself as a generated flat proto does.
type flatMsg struct {
	Name  string  `msgpack:"name"`
	N     int64   `msgpack:"n"`
	OK    bool    `msgpack:"ok"`
	Ratio float64 `msgpack:"ratio"`
}

func (m flatMsg) AppendMsgpack(b []byte) ([]byte, error) {
	b = AppendMapHeader(b, 4)
	b = AppendString(b, "name")
	b = AppendString(b, m.Name)
	b = AppendString(b, "n")
	b = AppendInt(b, m.N)
	b = AppendString(b, "ok")
	b = AppendBool(b, m.OK)
	b = AppendString(b, "ratio")
	b = AppendFloat64(b, m.Ratio)
	return b, nil
}

// reflectOnly has flatMsg's fields but no AppendMsgpack: the reflective path.
type reflectOnly struct {
	Name  string  `msgpack:"name"`
	N     int64   `msgpack:"n"`
	OK    bool    `msgpack:"ok"`
	Ratio float64 `msgpack:"ratio"`
}

// TestAppenderSameBytes: an Appender written with the exported helpers gives
// the bytes the reflective encoding gives, by value, by pointer and as an
// argument; a nil pointer to one is nil.
func TestAppenderSameBytes(t *testing.T) {
	for _, m := range []flatMsg{
		{},
		{Name: "testtest", N: 1, OK: true, Ratio: 1.5},
		{Name: string(bytes.Repeat([]byte("x"), 300)), N: -1 << 40, Ratio: math.Inf(-1)},
		{N: math.MaxInt64},
		{N: -33},
	} {
		want, err := AppendValue(nil, reflectOnly(m))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []any{m, &m} {
			got, err := AppendValue(nil, v)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("AppendValue(%T %+v) = %x, %v; want %x", v, m, got, err, want)
			}
		}
		wantReq, _ := AppendRequest(nil, 7, "m", reflectOnly(m), "s")
		gotReq, err := AppendRequest(nil, 7, "m", m, "s")
		if err != nil || !bytes.Equal(gotReq, wantReq) {
			t.Errorf("AppendRequest with %+v = %x, %v; want %x", m, gotReq, err, wantReq)
		}
	}
	got, err := AppendValue(nil, (*flatMsg)(nil))
	if err != nil || !bytes.Equal(got, []byte{0xc0}) {
		t.Errorf("nil *flatMsg = %x, %v; want c0", got, err)
	}
}

// TestAppendHelpers: the helpers write what AppendValue writes for the same
// Go value, at every size boundary.
func TestAppendHelpers(t *testing.T) {
	for _, i := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		want, _ := AppendValue(nil, i)
		if got := AppendInt(nil, i); !bytes.Equal(got, want) {
			t.Errorf("AppendInt(%d) = %x, want %x", i, got, want)
		}
		if i >= 0 {
			if got := AppendUint(nil, uint64(i)); !bytes.Equal(got, want) {
				t.Errorf("AppendUint(%d) = %x, want %x", i, got, want)
			}
		}
	}
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		s := string(bytes.Repeat([]byte("a"), n))
		want, _ := AppendValue(nil, s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("AppendString(len %d) differs", n)
		}
	}
	for _, n := range []int{0, 15, 16, 65535, 65536} {
		if got, want := AppendArrayHeader(nil, n), appendArrayLen(nil, n); !bytes.Equal(got, want) {
			t.Errorf("AppendArrayHeader(%d) = %x, want %x", n, got, want)
		}
		if got, want := AppendMapHeader(nil, n), appendMapLen(nil, n); !bytes.Equal(got, want) {
			t.Errorf("AppendMapHeader(%d) = %x, want %x", n, got, want)
		}
	}
	for _, v := range []bool{false, true} {
		want, _ := AppendValue(nil, v)
		if got := AppendBool(nil, v); !bytes.Equal(got, want) {
			t.Errorf("AppendBool(%v) = %x, want %x", v, got, want)
		}
	}
	for _, f := range []float64{0, -1.5, math.MaxFloat64, math.NaN()} {
		want, _ := AppendValue(nil, f)
		if got := AppendFloat64(nil, f); !bytes.Equal(got, want) {
			t.Errorf("AppendFloat64(%v) = %x, want %x", f, got, want)
		}
	}
}
