package router

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/transport"
)

// listArgs encodes a list of values with codec.AppendValue, as generated
// args structs do for values without a helper.
type listArgs struct{ vals []any }

func (a *listArgs) AppendParams(b []byte) (_ []byte, err error) {
	b = codec.AppendArrayHeader(b, len(a.vals))
	for _, v := range a.vals {
		if b, err = codec.AppendValue(b, v); err != nil {
			return b, err
		}
	}
	return b, nil
}

// TestSocketArgsEncoder: CallWith and NotifyWith put on the wire the params
// Call and Notify send for the same values, for none, one, several and many
// arguments; an encoding error fails the call unsent.
func TestSocketArgsEncoder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := transport.NewServer(transport.ServerOptions{})
	srv.Register("params", func(ctx context.Context, params []byte) (any, error) {
		return append([]byte(nil), params...), nil
	})
	notified := make(chan []byte, 1)
	srv.Register("note", func(ctx context.Context, params []byte) (any, error) {
		notified <- append([]byte(nil), params...)
		return nil, nil
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		ln.Close()
		<-done
	}()
	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: ln.Addr().String(), Weight: 100}}}, socketOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	type msg struct {
		Value string `msgpack:"value"`
	}
	many := make([]any, 20)
	for i := range many {
		many[i] = int64(i * 1000)
	}
	for _, args := range [][]any{nil, {msg{"testtest"}}, {"s", int64(-7), true, 1.5, []any{"x", nil}, map[string]any{"k": "v"}}, many} {
		// The params codec.AppendNotification writes: [2, "", params].
		note, err := codec.AppendNotification(nil, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		want := note[3:]
		var got []byte
		if err := c.Call(ctx, "params", &got, args, CallOptions{}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Call(%v) sent params %x, codec encodes %x", args, got, want)
		}
		for range 2 { // the second time on reused storage
			got, err := CallWith[[]byte](ctx, c, "params", listArgs{args}, CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("CallWith(%v) sent params %x, Call sent %x", args, got, want)
			}
		}
		if err := NotifyWith(ctx, c, "note", listArgs{args}, CallOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := <-notified; !bytes.Equal(got, want) {
			t.Errorf("NotifyWith(%v) sent params %x, Call sent %x", args, got, want)
		}
		if err := c.Notify(ctx, "note", args, CallOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := <-notified; !bytes.Equal(got, want) {
			t.Errorf("Notify(%v) sent params %x, Call sent %x", args, got, want)
		}
	}

	_, err = CallWith[any](ctx, c, "params", listArgs{[]any{func() {}}}, CallOptions{})
	if err == nil || !errors.Is(err, transport.ErrNotSent) {
		t.Errorf("CallWith with an unencodable argument: %v, want an error wrapping ErrNotSent", err)
	}
	err = c.Call(ctx, "params", nil, []any{"ok", func() {}}, CallOptions{})
	if err == nil || !errors.Is(err, transport.ErrNotSent) || !strings.Contains(err.Error(), "arg 1") {
		t.Errorf("Call with an unencodable argument: %v, want an error wrapping ErrNotSent naming arg 1", err)
	}
}

// pairArgs is shaped like a generated arguments struct.
type pairArgs struct {
	s string
	n int64
}

func (a *pairArgs) AppendParams(b []byte) ([]byte, error) {
	b = codec.AppendArrayHeader(b, 2)
	b = codec.AppendString(b, a.s)
	return codec.AppendInt(b, a.n), nil
}

// TestSocketCallWith: CallWith and NotifyWith send what Call and Notify send,
// decode into the reply type asked for, and keep nothing of one call in the
// next, whatever types the reused storage held before.
func TestSocketCallWith(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := transport.NewServer(transport.ServerOptions{})
	srv.Register("params", func(ctx context.Context, params []byte) (any, error) {
		return append([]byte(nil), params...), nil
	})
	srv.Register("first", func(ctx context.Context, params []byte) (any, error) {
		var s string
		var n int64
		err := codec.DecodeParams(params, nil, &s, &n)
		return s, err
	})
	srv.Register("none", func(ctx context.Context, params []byte) (any, error) { return nil, nil })
	notified := make(chan []byte, 1)
	srv.Register("note", func(ctx context.Context, params []byte) (any, error) {
		notified <- append([]byte(nil), params...)
		return nil, nil
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		ln.Close()
		<-done
	}()
	c, err := New(&Config{Mode: ModeHashring, Servers: []Server{{Addr: ln.Addr().String(), Weight: 100}}}, socketOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	var want []byte
	if err := c.Call(ctx, "params", &want, []any{"testtest", int64(300)}, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := CallWith[[]byte](ctx, c, "params", pairArgs{"testtest", 300}, CallOptions{})
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("CallWith params = %x, %v; want %x", got, err, want)
		}
		s, err := CallWith[string](ctx, c, "first", pairArgs{"x", 1}, CallOptions{})
		if err != nil || s != "x" {
			t.Errorf("CallWith[string] = %q, %v; want x", s, err)
		}
		a, err := CallWith[any](ctx, c, "first", pairArgs{"y", 1}, CallOptions{})
		if err != nil || a != "y" {
			t.Errorf("CallWith[any] = %#v, %v; want y", a, err)
		}
		a, err = CallWith[any](ctx, c, "none", NoArgs{}, CallOptions{})
		if err != nil || a != nil {
			t.Errorf("CallWith[any] none = %#v, %v; want nil (nothing kept from the last call)", a, err)
		}
		if err := NotifyWith(ctx, c, "note", pairArgs{"testtest", 300}, CallOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := <-notified; !bytes.Equal(got, want) {
			t.Errorf("NotifyWith sent params %x, Call sent %x", got, want)
		}
	}
}
