package codec

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"strings"
	"testing"
)

// extRequest is [0, id, method, args, ext].
func extRequest(t testing.TB, id uint32, method string, x []byte, args ...any) []byte {
	b, err := AppendRequest(nil, id, method, args...)
	if err != nil {
		t.Fatal(err)
	}
	b[0] = 0x95
	return append(b, x...)
}

func TestExtendedEnvelope(t *testing.T) {
	x := AppendCallExt(nil, CallExt{HasTimeout: true, Timeout: 1500, Meta: map[string]string{"trace-id": "t1"}})
	stream := extRequest(t, 7, "echo", x, "hi")
	n, _ := AppendNotification(nil, "note", int64(1))
	n[0] = 0x94
	stream = append(stream, append(n, 0x80)...)
	plain, _ := AppendRequest(nil, 8, "echo", "plain")
	stream = append(stream, plain...)

	d := NewDecoder(bytes.NewReader(stream), Limits{})
	var m Message
	if err := d.Next(&m); err != nil {
		t.Fatal(err)
	}
	var s string
	if m.Kind != Request || m.ID != 7 || m.Method != "echo" || DecodeParams(m.Params, nil, &s) != nil || s != "hi" {
		t.Fatalf("extended request: %+v", m)
	}
	got, err := ParseCallExt(m.Ext)
	if err != nil || !got.HasTimeout || got.Timeout != 1500 || got.Meta["trace-id"] != "t1" || len(got.Meta) != 1 {
		t.Fatalf("ext: %+v %v", got, err)
	}
	if err := d.Next(&m); err != nil || m.Kind != Notification || m.Method != "note" || !bytes.Equal(m.Ext, []byte{0x80}) {
		t.Fatalf("extended notification: %+v %v", m, err)
	}
	if x, err := ParseCallExt(m.Ext); err != nil || x.HasTimeout || x.Meta != nil {
		t.Fatalf("empty ext: %+v %v", x, err)
	}
	if err := d.Next(&m); err != nil || m.Ext != nil || m.ID != 8 {
		t.Fatalf("plain request after extended ones: %+v %v", m, err)
	}
	// A huge "d" is clamped.
	if x, err := ParseCallExt(AppendCallExt(nil, CallExt{HasTimeout: true, Timeout: 1 << 62})); err != nil || x.Timeout != MaxTimeout {
		t.Fatalf("clamp: %+v %v", x, err)
	}
	// Trailing bytes after the ext map.
	if _, err := ParseCallExt([]byte{0x80, 0xc0}); err == nil || !strings.Contains(err.Error(), "1 bytes after the map") {
		t.Fatalf("trailing bytes: %v", err)
	}
}

// FuzzEnvelope feeds arbitrary streams to the Decoder and the extension
// parser: nothing panics; an accepted extension keeps the metadata limits
// and survives AppendCallExt -> ParseCallExt unchanged.
func FuzzEnvelope(f *testing.F) {
	f.Add(extRequest(f, 1, "echo", AppendCallExt(nil, CallExt{HasTimeout: true, Timeout: 200000}), "x"))
	f.Add(extRequest(f, 2, "echo", AppendCallExt(nil, CallExt{Meta: map[string]string{"trace-id": "abc", "svrkit-x": ""}}), "x"))
	f.Add(extRequest(f, 3, "m", []byte{0x82, 0xa1, 'd', 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xa1, 'z', 0x91, 0xc0}))
	f.Add(extRequest(f, 4, "m", []byte{0x81, 0xa1, 'm', 0x82, 0xa1, 'k', 0xa1, 'a', 0xa1, 'k', 0xa1, 'b'}))
	f.Add(extRequest(f, 5, "m", []byte{0x81, 0xa1, 'm', 0x81, 0xa1, 'K', 0xc4, 0x01, 'v'}))
	f.Add([]byte{0x94, 0x02, 0xa1, 'n', 0x90, 0x81, 0xa1, 'm', 0xc0})
	f.Add([]byte{0x95, 0x00, 0x01, 0xa1, 'm', 0x90, 0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x96, 0x00, 0x01, 0xa1, 'm', 0x90, 0x80, 0xc0})
	lim := Limits{MaxMessageSize: 1 << 16, MaxContainerLen: 1 << 10, MaxDepth: 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(&chunkReader{data: data, n: 5}, lim)
		for range 64 {
			var m Message
			if err := d.Next(&m); err != nil {
				var fe *FrameError
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &fe) {
					t.Fatalf("untyped error %v", err)
				}
				return
			}
			if m.Ext == nil {
				continue
			}
			if m.Kind != Request && m.Kind != Notification {
				t.Fatalf("extension on kind %d", m.Kind)
			}
			if _, err := skip(m.Params, 0); err != nil {
				t.Fatalf("params not one value: %v", err)
			}
			x, err := ParseCallExt(m.Ext)
			if err != nil {
				continue
			}
			size := 0
			for k, v := range x.Meta {
				size += len(k) + len(v)
				if !ValidMetaKey(k) || len(v) > MaxMetaValueLen {
					t.Fatalf("accepted metadata %q: %q", k, v)
				}
			}
			if len(x.Meta) > MaxMetaEntries || size > MaxMetaSize || x.Timeout > MaxTimeout {
				t.Fatalf("accepted beyond the limits: %+v", x)
			}
			y, err := ParseCallExt(AppendCallExt(nil, x))
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if len(x.Meta) == 0 {
				x.Meta = nil // an empty map is not sent
			}
			if x.HasTimeout != y.HasTimeout || x.Timeout != y.Timeout || !maps.Equal(x.Meta, y.Meta) {
				t.Fatalf("round trip: %+v -> %+v", x, y)
			}
		}
	})
}
