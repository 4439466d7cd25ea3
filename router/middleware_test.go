package router

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// TestMiddleware: a client middleware chain, [0] outermost, sees each call's
// method, kind and outcome, adds metadata the handler reads, can refuse a
// call; the caller's deadline reaches the handler, not the router's own
// CallTimeout.
func TestMiddleware(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := transport.NewServer(transport.ServerOptions{})
	srv.Register("md", func(ctx context.Context, params []byte) (any, error) {
		left := int64(-1)
		if dl, ok := ctx.Deadline(); ok {
			left = time.Until(dl).Milliseconds()
		}
		md := transport.MetadataFrom(ctx)
		return map[string]any{"order": md["order"], "left": left}, nil
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() { srv.Close(); <-done }()

	var seen []string
	tag := func(name string) Middleware {
		return func(next Invoker) Invoker {
			return func(ctx context.Context, method string, args transport.Args, reply any) error {
				order := transport.OutgoingMetadata(ctx)["order"]
				ctx = transport.WithMetadata(ctx, transport.Metadata{"order": order + name})
				err := next(ctx, method, args, reply)
				kind := "call"
				if IsNotification(ctx) {
					kind = "notify"
				}
				seen = append(seen, name+":"+kind+":"+method+":"+errText(err))
				return err
			}
		}
	}
	refuse := func(next Invoker) Invoker {
		return func(ctx context.Context, method string, args transport.Args, reply any) error {
			if method == "forbidden" {
				return errors.New("refused by middleware")
			}
			return next(ctx, method, args, reply)
		}
	}
	opts := socketOptions()
	opts.CallTimeout = 500 * time.Millisecond
	opts.Middleware = []Middleware{tag("a"), tag("b"), refuse}
	c, err := New(hashringConfig(ln.Addr().String()), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	var got struct {
		Order string `msgpack:"order"`
		Left  int64  `msgpack:"left"`
	}
	if err := c.Call(ctx, "md", &got, nil, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	if got.Order != "ab" || got.Left < 59*60*1000 {
		t.Fatalf("handler saw order %q, %d ms left; want \"ab\" and the caller's hour", got.Order, got.Left)
	}
	if err := c.Call(ctx, "forbidden", nil, nil, CallOptions{}); err == nil || err.Error() != "refused by middleware" {
		t.Fatalf("forbidden: %v", err)
	}
	if err := c.Notify(ctx, "md", nil, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "b:call:md:ok a:call:md:ok b:call:forbidden:refused by middleware a:call:forbidden:refused by middleware b:notify:md:ok a:notify:md:ok"
	if s := strings.Join(seen, " "); s != want {
		t.Fatalf("middleware saw\n%s\nwant\n%s", s, want)
	}
}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
