package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

type callCtxInfo struct {
	MD     map[string]string `msgpack:"md"`
	LeftMS *int64            `msgpack:"left_ms"`
}

// TestClientCallContext: over every connection kind, a Client sends its
// caller's deadline and metadata, cancels the server's ctx of a call its
// caller gave up, and sends a plain request for a ctx with none of these.
func TestClientCallContext(t *testing.T) {
	forEachConn(t, ServerOptions{}, func(t *testing.T, ts *testServer) {
		c := ts.client(t)

		var got callCtxInfo
		if err := c.Call(context.Background(), "callctx", &got); err != nil || got.MD != nil || got.LeftMS != nil {
			t.Fatalf("background ctx: %+v %v", got, err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ctx = WithMetadata(WithMetadata(ctx, Metadata{"trace-id": "t1", "user": "a"}), Metadata{"user": "b"})
		got = callCtxInfo{}
		if err := c.Call(ctx, "callctx", &got); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.MD) != "map[trace-id:t1 user:b]" || got.LeftMS == nil || *got.LeftMS <= 0 || *got.LeftMS > 60000 {
			t.Fatalf("deadline and metadata: %+v (left %v)", got, got.LeftMS)
		}

		// Cancelling the caller's ctx cancels the handler's (a ctx with a
		// deadline: one that can only be cancelled is sent plain).
		cctx, ccancel := context.WithTimeout(context.Background(), time.Hour)
		done := make(chan error, 1)
		go func() { done <- c.Call(cctx, "block", nil) }()
		<-ts.blocked
		ccancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
		if err := <-ts.unblocked; err != context.Canceled {
			t.Fatalf("handler's ctx ended with %v, want Canceled", err)
		}

		// The server's deadline answer satisfies errors.Is and ctx has ended.
		dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		err := c.Call(dctx, "block", nil)
		if !errors.Is(err, context.DeadlineExceeded) || dctx.Err() == nil {
			t.Fatalf("deadline: %v, ctx %v", err, dctx.Err())
		}
		dcancel()
		<-ts.unblocked
		echoOK(t, c, "after")
	})
}

// TestClientRefusesBadMetadata: metadata a server would refuse, or with a
// key of svrkit's own, fails the call before it is sent.
func TestClientRefusesBadMetadata(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	c := ts.client(t)
	for md, want := range map[string]Metadata{
		"reserved":  {"svrkit-x": "1"},
		"want 1 to": {"Upper": "1"},
		"value of":  {"k": strings.Repeat("v", codec.MaxMetaValueLen+1)},
	} {
		ctx := WithMetadata(context.Background(), want)
		err := c.Call(ctx, "echo", nil, "x")
		if !errors.Is(err, ErrNotSent) || !strings.Contains(err.Error(), md) {
			t.Errorf("%v: %v, want not sent, %q", want, err, md)
		}
	}
	echoOK(t, c, "still usable")
}

// TestClientPlainServer: against a plain msgpack-rpc server, which answers
// the hello "method not found", a Client sends plain requests only, even
// for a ctx with a deadline and metadata.
func TestClientPlainServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer nc.Close()
		dec := codec.NewDecoder(nc, codec.Limits{})
		for {
			var m codec.Message
			if err := dec.Next(&m); err != nil {
				served <- nil
				return
			}
			if m.Ext != nil {
				served <- fmt.Errorf("extended %s sent to a plain server", m.Method)
				return
			}
			errMsg, res := "", any(m.Method)
			if m.Method == HelloMethod {
				errMsg, res = "'"+m.Method+"' method not found", nil
			}
			b, _ := codec.AppendResponse(nil, m.ID, errMsg, res)
			if _, err := nc.Write(b); err != nil {
				served <- err
				return
			}
		}
	}()
	c, err := Dial(context.Background(), ln.Addr().String(), ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(WithMetadata(context.Background(), Metadata{"k": "v"}), time.Minute)
	defer cancel()
	for range 3 {
		var s string
		if err := c.Call(ctx, "m", &s); err != nil || s != "m" {
			t.Fatalf("call: %q %v", s, err)
		}
	}
	c.Close()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
