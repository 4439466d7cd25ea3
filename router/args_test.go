package router

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/transport"
)

// testArgs encodes a list of values with codec.AppendValue, as generated
// args structs do for values without a helper.
type testArgs []any

func (a testArgs) NumArgs() int { return len(a) }

func (a testArgs) AppendArgs(b []byte) (_ []byte, err error) {
	for _, v := range a {
		if b, err = codec.AppendValue(b, v); err != nil {
			return b, err
		}
	}
	return b, nil
}

// TestSocketCallArgs: CallArgs and NotifyArgs put on the wire the params
// Call and Notify send for the same values, for none, one, several and more
// arguments than an argList holds; an encoding error fails the call unsent.
func TestSocketCallArgs(t *testing.T) {
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
	many := make([]any, maxPooledArgs+3)
	for i := range many {
		many[i] = int64(i * 1000)
	}
	for _, args := range [][]any{nil, {msg{"testtest"}}, {"s", int64(-7), true, 1.5, []any{"x", nil}, map[string]any{"k": "v"}}, many} {
		var want, got []byte
		if err := c.Call(ctx, "params", &want, args, CallOptions{}); err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second time on a reused argList
			if err := c.CallArgs(ctx, "params", &got, testArgs(args), CallOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("CallArgs(%v) sent params %x, Call sent %x", args, got, want)
			}
		}
		if err := c.NotifyArgs(ctx, "note", testArgs(args), CallOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := <-notified; !bytes.Equal(got, want) {
			t.Errorf("NotifyArgs(%v) sent params %x, Call sent %x", args, got, want)
		}
	}

	err = c.CallArgs(ctx, "params", nil, testArgs{func() {}}, CallOptions{})
	if err == nil || !errors.Is(err, transport.ErrNotSent) {
		t.Errorf("CallArgs with an unencodable argument: %v, want an error wrapping ErrNotSent", err)
	}
}
