package transport

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func authServer(t *testing.T) *testServer {
	return startServer(t, ServerOptions{Middleware: []Middleware{TokenAuth([]string{"s3cret", "next-token"})}})
}

func TestTokenAuth(t *testing.T) {
	ts := authServer(t)
	e := newExtConn(t, ts.addr, true)
	id := uint32(0)
	call := func(md map[string]string) reply {
		id++
		if md == nil {
			return e.call(id, "echo", nil, "x")
		}
		return e.call(id, "echo", ext(0, md), "x")
	}
	for _, tok := range []string{"s3cret", "next-token"} {
		if r := call(map[string]string{AuthMetadataKey: tok}); r.err != "" || r.result != "x" {
			t.Fatalf("token %q: %+v", tok, r)
		}
	}
	for _, md := range []map[string]string{nil, {}, {"other": "s3cret"}, {AuthMetadataKey: "wrong"}, {AuthMetadataKey: "s3cret "}, {AuthMetadataKey: ""}} {
		r := call(md)
		if !strings.HasPrefix(r.err, UnauthenticatedMessage+": ") {
			t.Fatalf("metadata %v: %+v", md, r)
		}
		if r := call(map[string]string{AuthMetadataKey: "s3cret"}); r.err != "" {
			t.Fatalf("a valid token after a refusal: %+v", r) // resets the count: the connection stays
		}
	}
	// MaxAuthFailures refusals in a row: the last says so and the connection closes.
	for i := 1; i <= MaxAuthFailures; i++ {
		r := call(map[string]string{AuthMetadataKey: "guess"})
		if i < MaxAuthFailures && r.err != UnauthenticatedMessage+": token not accepted" ||
			i == MaxAuthFailures && !strings.Contains(r.err, "closing the connection") {
			t.Fatalf("refusal %d: %+v", i, r)
		}
	}
	readClosed(t, e.nc)
	// Other connections are not affected.
	e2 := newExtConn(t, ts.addr, true)
	if r := e2.call(1, "echo", ext(0, map[string]string{AuthMetadataKey: "s3cret"}), "y"); r.err != "" || r.result != "y" {
		t.Fatalf("second connection: %+v", r)
	}
}

// TestTokenAuthPlainClient: a client that sends no metadata is refused and,
// after MaxAuthFailures calls, disconnected; the protocol's own methods
// (ping) are not checked.
func TestTokenAuthPlainClient(t *testing.T) {
	ts := authServer(t)
	c := dial(t, ts.addr)
	if err := c.Call(context.Background(), PingMethod, nil); err != nil {
		t.Fatalf("ping: %v", err)
	}
	for i := 1; i <= MaxAuthFailures; i++ {
		var se *ServerError
		err := c.Call(context.Background(), "echo", nil, "x")
		if !errors.As(err, &se) || !strings.HasPrefix(se.Message, UnauthenticatedMessage) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	<-c.Done()
	if err := c.Call(context.Background(), "echo", nil, "x"); err == nil {
		t.Fatal("call after the server closed the connection")
	}
}
