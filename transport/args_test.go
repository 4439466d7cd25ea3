package transport

import (
	"bytes"
	"strings"
	"testing"

	"github.com/svrkit/svrkit/codec"
)

// TestArgsWireBytes: a request or notification encoded through Args (an
// ArgList, or an Args of its own) is byte for byte what codec.AppendRequest
// and codec.AppendNotification write for the same arguments.
func TestArgsWireBytes(t *testing.T) {
	type msg struct {
		Value string `msgpack:"value"`
	}
	many := make([]any, 20)
	for i := range many {
		many[i] = int64(i * 1000)
	}
	for _, args := range [][]any{nil, {"testtest"}, {msg{"x"}}, {"s", int64(-7), true, 1.5, []any{"x", nil}, map[string]any{"k": "v"}}, many} {
		wantReq, err := codec.AppendRequest(nil, 7, "m", args...)
		if err != nil {
			t.Fatal(err)
		}
		wantNote, _ := codec.AppendNotification(nil, "m", args...)
		l := ArgList(args)
		for _, tc := range []struct {
			name string
			args Args
			list []any
		}{{"list", nil, args}, {"ArgList", &l, nil}, {"own Args", &stringsArgs{args}, nil}} {
			req, err := appendRequest(nil, 7, "m", tc.args, tc.list)
			if err != nil || !bytes.Equal(req, wantReq) {
				t.Errorf("%s %v: request %x, %v; want %x", tc.name, args, req, err, wantReq)
			}
			note, err := appendNotification(nil, "m", tc.args, tc.list)
			if err != nil || !bytes.Equal(note, wantNote) {
				t.Errorf("%s %v: notification %x, %v; want %x", tc.name, args, note, err, wantNote)
			}
		}
	}
	_, err := appendRequest(nil, 1, "m", nil, []any{"ok", func() {}})
	if err == nil || !strings.Contains(err.Error(), "arg 1") {
		t.Errorf("unencodable argument: %v, want an error naming arg 1", err)
	}
}

// stringsArgs is an Args of its own, shaped like a generated arguments struct.
type stringsArgs struct{ vals []any }

func (a *stringsArgs) AppendParams(b []byte) (_ []byte, err error) {
	b = codec.AppendArrayHeader(b, len(a.vals))
	for _, v := range a.vals {
		if b, err = codec.AppendValue(b, v); err != nil {
			return b, err
		}
	}
	return b, nil
}
