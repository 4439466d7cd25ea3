package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/router"
	"github.com/svrkit/svrkit/transport"
)

// refuseMiddleware is what testApp's Init adds: it refuses a call whose
// metadata has "deny", naming the role of the process whose init added it.
func refuseMiddleware(role string) transport.Middleware {
	return func(method string, next transport.Handler) transport.Handler {
		return func(ctx context.Context, params []byte) (any, error) {
			if transport.MetadataFrom(ctx)["deny"] != "" {
				return nil, fmt.Errorf("%s refused by the middleware of the %s's init hook", method, role)
			}
			return next(ctx, params)
		}
	}
}

// callCtxHandler ("callctx") returns what its ctx carries: the metadata, whether
// it has a deadline, and the serving pid.
func callCtxHandler(ctx context.Context, params []byte) (any, error) {
	_, hasDeadline := ctx.Deadline()
	md := map[string]any{}
	for k, v := range transport.MetadataFrom(ctx) {
		md[k] = v
	}
	return map[string]any{"md": md, "deadline": hasDeadline, "pid": int64(os.Getpid())}, nil
}

// extCall calls method on addr as a svrkit client sending a per-call context
// would (hello, then [0, id, method, params, ext]); it returns the error
// string and the result.
func extCall(t *testing.T, addr, method string, timeout time.Duration, md map[string]string) (string, any) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return extCallOn(t, nc, method, timeout, md)
}

// extCallOn is extCall on an open connection, which it closes.
func extCallOn(t *testing.T, nc net.Conn, method string, timeout time.Duration, md map[string]string) (string, any) {
	t.Helper()
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	hello, _ := codec.AppendRequest(nil, 1, transport.HelloMethod, map[string]any{"v": int64(1)})
	req, _ := codec.AppendRequest(nil, 2, method)
	req[0] = 0x95 // a fifth element: the extension
	req = codec.AppendCallExt(req, codec.CallExt{HasTimeout: timeout > 0, Timeout: timeout.Microseconds(), Meta: md})
	if _, err := nc.Write(append(hello, req...)); err != nil {
		t.Fatal(err)
	}
	dec := codec.NewDecoder(nc, codec.Limits{})
	var errMsg, res any
	for {
		var m codec.Message
		if err := dec.Next(&m); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		if m.Kind != codec.Response {
			continue
		}
		if err := codec.Decode(m.Error, &errMsg); err != nil {
			t.Fatal(err)
		}
		if m.ID == 1 {
			if errMsg != nil {
				t.Fatalf("hello: %v", errMsg)
			}
			continue
		}
		if err := codec.Decode(m.Result, &res); err != nil {
			t.Fatal(err)
		}
		if errMsg == nil {
			return "", res
		}
		return fmt.Sprint(errMsg), res
	}
}

// TestCallContextBothWorkerModels: in the thread and the process model, a
// handler reads the caller's metadata and deadline, and the middleware the
// init hook added (in the process that serves) sees the metadata and refuses.
func TestCallContextBothWorkerModels(t *testing.T) {
	for _, tc := range []struct{ model, role string }{{"thread", RoleMaster}, {"process", RoleRPC}} {
		t.Run(tc.model, func(t *testing.T) {
			f := newFakeSvr(t, tc.model, 2, "")
			f.start()
			errMsg, res := extCall(t, f.addr, "callctx", time.Minute, map[string]string{"trace-id": "t-1"})
			got, _ := res.(map[string]any)
			if errMsg != "" || fmt.Sprint(got["md"]) != "map[trace-id:t-1]" || got["deadline"] != true {
				t.Fatalf("callctx: %q %v", errMsg, res)
			}
			errMsg, _ = extCall(t, f.addr, "echo", 0, map[string]string{"deny": "1"})
			if want := "echo refused by the middleware of the " + tc.role + "'s init hook"; errMsg != want {
				t.Fatalf("deny: %q, want %q", errMsg, want)
			}
			var s string // plain msgpack-rpc is unchanged
			if err := call(t, f.addr, "echo", &s, "plain"); err != nil || s != "plain" {
				t.Fatalf("plain echo: %q %v", s, err)
			}
		})
	}
}

// TestRouterCallContextBothWorkerModels: through the router, as a generated
// client calls, the caller's deadline and metadata reach the handler, and
// cancelling the caller's ctx cancels the handler's, in both worker models.
func TestRouterCallContextBothWorkerModels(t *testing.T) {
	for _, model := range []string{"thread", "process"} {
		t.Run(model, func(t *testing.T) {
			f := newFakeSvr(t, model, 2, "")
			f.start()
			c, err := router.New(&router.Config{Mode: router.ModeHashring, Servers: []router.Server{{Addr: f.addr, Weight: 1}}}, router.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(transport.WithMetadata(context.Background(), transport.Metadata{"trace-id": "t-2"}), time.Minute)
			defer cancel()
			var got map[string]any
			if err := c.Call(ctx, "callctx", &got, nil, router.CallOptions{}); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got["md"]) != "map[trace-id:t-2]" || got["deadline"] != true {
				t.Fatalf("callctx: %v", got)
			}

			wctx, wcancel := context.WithTimeout(context.Background(), time.Hour)
			done := make(chan error, 1)
			go func() { done <- c.Call(wctx, "waitctx", nil, nil, router.CallOptions{}) }()
			waitFor(t, "waitctx running", func() bool {
				_, err := os.Stat(filepath.Join(f.dir, "waitctx-started"))
				return err == nil
			})
			wcancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled call: %v", err)
			}
			var why []byte
			waitFor(t, "the handler's ctx cancelled", func() bool {
				why, _ = os.ReadFile(filepath.Join(f.dir, "waitctx-ended"))
				return len(why) > 0
			})
			if string(why) != "context canceled" {
				t.Fatalf("handler's ctx ended: %q", why)
			}
		})
	}
}
