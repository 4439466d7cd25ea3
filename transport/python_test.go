package transport

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const python = "/usr/bin/python3"

// needPython skips unless Debian's python3 with python3-msgpack is present;
// with SVRKIT_REQUIRE_PYTHON=1 (set by .ci/run) it fails instead.
func needPython(t *testing.T) {
	t.Helper()
	if err := exec.Command(python, "-c", "import msgpack").Run(); err != nil {
		if os.Getenv("SVRKIT_REQUIRE_PYTHON") == "1" {
			t.Fatalf("SVRKIT_REQUIRE_PYTHON=1 but %s with msgpack is missing (apt-get install -y python3-msgpack): %v", python, err)
		}
		t.Skipf("cross-language test needs %s with msgpack (apt-get install -y python3-msgpack): %v", python, err)
	}
}

func script(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPythonClientCallsGoServer(t *testing.T) {
	needPython(t)
	ts := startServer(t, ServerOptions{})
	host, port, _ := strings.Cut(ts.addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, script(t, "py_client.py"), host, port).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	deadline := time.Now().Add(5 * time.Second)
	for ts.notes.Load() != 10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := ts.notes.Load(); n != 10 {
		t.Fatalf("%d of 10 python notifications handled", n)
	}
}

// TestGoClientCallsPythonServer: a svrkit client calls a plain Python
// msgpack-rpc server with a ctx carrying a deadline and metadata: the server
// answers the hello "method not found" and gets plain requests only.
func TestGoClientCallsPythonServer(t *testing.T) {
	needPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = WithMetadata(ctx, Metadata{"trace-id": "to-python"})
	cmd := exec.CommandContext(ctx, python, script(t, "py_server.py"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("python server did not print its port: %v", err)
	}
	c, err := Dial(ctx, "127.0.0.1:"+strings.TrimSpace(port), ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var s string
	if err := c.Call(ctx, "echo", &s, "héllo"); err != nil || s != "héllo" {
		t.Fatalf("echo: %q %v", s, err)
	}
	var n int64
	if err := c.Call(ctx, "add", &n, 40, 2); err != nil || n != 42 {
		t.Fatalf("add: %d %v", n, err)
	}
	var p pt
	if err := c.Call(ctx, "point", &p, "py"); err != nil || p.Name != "py" || p.N != 7 || p.Tags[0] != "py" {
		t.Fatalf("point: %+v %v", p, err)
	}
	var e any
	if err := c.Call(ctx, "echo", &e, pt{Name: "go", N: 1}); err != nil {
		t.Fatal(err)
	} else if m, ok := e.(map[string]any); !ok || m["name"] != "go" || m["n"] != int64(1) {
		t.Fatalf("struct did not travel as a map keyed by field name: %#v", e)
	}
	var se *ServerError
	if err := c.Call(ctx, "fail", nil, "no way"); !errors.As(err, &se) || se.Message != "no way" {
		t.Fatalf("fail: %v", err)
	}
	for i := range 5 {
		if err := c.Notify(ctx, "note", i); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got int64
			if err := c.Call(ctx, "add", &got, i, 1); err != nil || got != int64(i+1) {
				t.Errorf("concurrent add %d: %d %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	if err := c.Call(ctx, "notes", &n); err != nil || n != 5 {
		t.Fatalf("notes: %d %v", n, err)
	}
}
