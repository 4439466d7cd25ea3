package transport

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// Protos as svrkit gen writes them for an IDL with echomsg, point, item and tree.
type (
	legacyEchomsg struct {
		Value string `msgpack:"value"`
	}
	legacyPoint struct {
		X int64   `msgpack:"x"`
		Y float64 `msgpack:"y"`
	}
	legacyItem struct {
		Name   string                 `msgpack:"name"`
		Tags   []any                  `msgpack:"tags"`
		Pos    legacyPoint            `msgpack:"pos"`
		Kids   []legacyPoint          `msgpack:"kids"`
		ByName map[string]legacyPoint `msgpack:"by_name"`
	}
	legacyTree struct {
		Label    string                `msgpack:"label"`
		Children []legacyTree          `msgpack:"children"`
		Index    map[string]legacyTree `msgpack:"index"`
	}
	legacyInner struct {
		N int64 `msgpack:"n"`
	}
)

// register1 registers method taking one argument of type T (named name) and
// returning it, as a generated wrapper does.
func register1[T any](s *Server, method, name string, seen func(T)) {
	s.Register(method, func(ctx context.Context, params []byte) (any, error) {
		var v T
		if err := codec.DecodeParams(params, []string{name}, &v); err != nil {
			return nil, err
		}
		if seen != nil {
			seen(v)
		}
		return v, nil
	})
}

// Item 11 of issue 18: a plain Python msgpack client sends protos in
// pysvrkit's two legacy forms (a str/bin holding msgpack.dumps of the map,
// and a positional array of the fields in IDL order), nested in protos,
// lists and dicts, over a real socket; the server decodes them as the map
// form and replies with maps. Bad values get errors in IDL terms.
func TestPythonLegacyProtoForms(t *testing.T) {
	needPython(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(ServerOptions{})
	var logged atomic.Int64
	register1[legacyEchomsg](s, "echo", "msg", nil)
	register1[legacyInner](s, "echo_inner", "x", nil)
	register1[legacyItem](s, "put", "item", nil)
	register1[legacyTree](s, "walk", "t", nil)
	register1[legacyPoint](s, "log_point", "p", func(p legacyPoint) {
		if p.X == 7 && p.Y == 0.5 {
			logged.Add(1)
		}
	})
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	defer func() {
		s.Close()
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	}()
	host, port, _ := strings.Cut(ln.Addr().String(), ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, script(t, "py_legacy_client.py"), host, port).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python legacy client: %v\n%s", err, out)
	}
	// The client's last call answered after its two notifications were read;
	// they run concurrently, so wait for them.
	deadline := time.Now().Add(5 * time.Second)
	for logged.Load() != 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := logged.Load(); n != 2 {
		t.Fatalf("%d of 2 legacy-form notifications decoded", n)
	}
}
