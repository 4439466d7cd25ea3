package gen

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/gen/idl"
)

// moduleRoot finds the svrkit module's root (the go.mod declaring DefaultRuntime) above
// the working directory, or "" (for example under Bazel's sandbox).
func moduleRoot() string {
	d, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && modulePath(data) == DefaultRuntime {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// buildDir skips t unless generated code can be built here (not -short, go in PATH,
// inside the svrkit module's source tree) and returns the go command, the module root
// and a temporary directory inside the module, removed when t ends.
func buildDir(t *testing.T) (goBin, root, tmp string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping go build of generated code")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	root = moduleRoot()
	if root == "" {
		t.Skip("not inside the svrkit module source tree (e.g. under bazel test)")
	}
	tmp, err = os.MkdirTemp(filepath.Join(root, "gen"), "buildtest_tmp_")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	return goBin, root, tmp
}

// TestGeneratedBuildsAndRuns generates each golden IDL into a directory inside the
// module (so the runtime imports resolve), then runs go build, go vet and the generated
// test, which starts the service in-process and calls every API.
func TestGeneratedBuildsAndRuns(t *testing.T) {
	goBin, root, tmp := buildDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var runEnv func(dir string, env []string, args ...string) (string, error)
	run := func(dir string, args ...string) (string, error) {
		return runEnv(dir, nil, args...)
	}
	runEnv = func(dir string, env []string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off"), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(root, "build", "./codec", "./transport", "./router", "./workers", "./service"); err != nil {
		t.Skipf("runtime packages do not build yet, so generated code cannot either:\n%s", out)
	}
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			spec, err := idl.ParseFile(caseIDL(name))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(tmp, name)
			rel, _ := filepath.Rel(root, dir)
			files, err := Generate(spec, Options{ImportPath: DefaultRuntime + "/" + filepath.ToSlash(rel)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Write(dir, files, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if name == "echo" {
				src := strings.Replace(daemonCallTest, "IMPORT", DefaultRuntime+"/"+filepath.ToSlash(rel)+"/api/echo", 1)
				if err := os.WriteFile(filepath.Join(dir, "daemon_call_test.go"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, args := range [][]string{
				{"build", "-o", filepath.Join(dir, name+"_svr"), "."},
				{"vet", "./..."},
				{"test", "-count=1", "-v", "."},
			} {
				out, err := run(dir, args...)
				if err != nil {
					t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
				}
				if args[0] == "test" {
					t.Logf("generated test:\n%s", out)
				}
			}
			if name == "echo" {
				runDaemon(t, ctx, dir, files, func(env ...string) (string, error) {
					return runEnv(dir, env, "test", "-count=1", "-run", "TestDaemonCall", "-v", ".")
				})
				// Issue 18 item 4: a correct handler may answer with its own error (a
				// missing key); the generated test still passes, and says so.
				if err := os.WriteFile(filepath.Join(dir, "echo_rpc_handler.go"), []byte(strings.Replace(erroringEcho, "IMPORT", DefaultRuntime+"/"+filepath.ToSlash(rel)+"/api/echo", 1)), 0o644); err != nil {
					t.Fatal(err)
				}
				out, err := run(dir, "test", "-count=1", "-run", "TestAPIs", "-v", ".")
				if err != nil || !strings.Contains(out, "reached; the handler returned an error") {
					t.Fatalf("generated test with a handler that returns an error: %v\n%s", err, out)
				}
			}
		})
	}
}

// erroringEcho is an echo handler whose every call is the handler's own error.
const erroringEcho = `package main

import (
	"context"
	"errors"

	"IMPORT"
)

func Echo(ctx context.Context, msg echo.Echomsg) (any, error) {
	return nil, errors.New("no such key: " + msg.Value)
}
`

// daemonCallTest is added to the generated echo package: it calls a running daemon
// through the generated client and the cli conf named by $SVRKIT_TEST_CLI_CONF.
const daemonCallTest = `package main

import (
	"context"
	"os"
	"testing"
	"time"

	"IMPORT"
)

func TestDaemonCall(t *testing.T) {
	conf := os.Getenv("SVRKIT_TEST_CLI_CONF")
	if conf == "" {
		t.Skip("SVRKIT_TEST_CLI_CONF not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := echo.NewClient(conf, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	got, err := cli.Echo(ctx, echo.Echomsg{Value: "over the wire"})
	if err != nil || got != "over the wire" {
		t.Fatalf("Echo = %#v, %v", got, err)
	}
}
`

// runDaemon starts the built echo_svr through the generated control script (detached,
// process_coroutine self workers), calls echo through the generated client and
// echo_cli.conf, and stops it.
func runDaemon(t *testing.T, ctx context.Context, dir string, files []File, goTest func(env ...string) (string, error)) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := map[string]string{}
	for _, f := range files {
		conf[f.Path] = string(f.Data)
	}
	svr := strings.NewReplacer("ip=0.0.0.0", "ip=127.0.0.1", "port=3000", "port="+port,
		"pid=echo.pid", "pid="+filepath.Join(dir, "echo.pid")+"\nlog="+filepath.Join(dir, "echo.log")).Replace(conf["echo_svr.conf"])
	cli := strings.ReplaceAll(conf["echo_cli.conf"], "port=3000", "port="+port)
	if err := os.WriteFile(filepath.Join(dir, "echo_svr.conf"), []byte(svr), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "echo_cli.conf"), []byte(cli), 0o644); err != nil {
		t.Fatal(err)
	}
	script := func(arg string) (string, int) {
		cmd := exec.CommandContext(ctx, "sh", filepath.Join(dir, "echo"), arg)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatalf("echo %s: %v", arg, err)
		}
		return string(out), 0
	}
	if out, code := script("start"); code != 0 {
		log, _ := os.ReadFile(filepath.Join(dir, "echo.log"))
		t.Fatalf("echo start: exit %d\n%s\nlog:\n%s", code, out, log)
	}
	defer func() {
		if out, code := script("stop"); code != 0 {
			t.Errorf("echo stop: exit %d\n%s", code, out)
		}
		if out, code := script("status"); code != 3 {
			t.Errorf("echo status after stop: exit %d, want 3\n%s", code, out)
		}
	}()
	if out, code := script("status"); code != 0 || !strings.Contains(out, "running") {
		t.Errorf("echo status: exit %d\n%s", code, out)
	}
	out, err := goTest("SVRKIT_TEST_CLI_CONF=" + filepath.Join(dir, "echo_cli.conf"))
	if err != nil || !strings.Contains(out, "--- PASS: TestDaemonCall") {
		t.Fatalf("calling the daemon: %v\n%s", err, out)
	}
	t.Logf("daemon call:\n%s", out)
}

// nameIDL is an IDL whose app is app, with an API echo, a proto echomsg and a custom
// self group a.
func nameIDL(app string) string {
	return `{"app": "` + app + `",
 "protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}]}],
 "rpc_client": {"mode": "hashring"},
 "rpc_server": {"ip": "0.0.0.0", "port": 3000, "worker_type": "thread", "worker_sum": 1,
  "apis": [{"name": "echo", "args": [{"name": "msg", "type": "echomsg"}], "ret": true},
           {"name": "note", "args": [{"name": "ctx", "type": "int"}], "ret": false}]},
 "self_server": {"dispatch_type": "custom", "worker_type": "thread", "groups": [{"group_name": "a", "worker_sum": 1}]}}`
}

// TestAppNames is issue 18 item 6: check accepts exactly the app names gen turns into
// compiling code. A representative of every class of accepted name is generated and
// compiled (go vet type-checks the generated test too); every refused name gets a
// located error.
func TestAppNames(t *testing.T) {
	accepted := []string{
		"any", "error", "string", "byte", "nil", "true", "len", // predeclared identifiers
		"init",                                                  // a name Go reserves for functions
		"fmt", "context", "errors", "strings", "net", "testing", // imported package names
		"codec", "transport", "router", "workers", "service",
		"ctx", "err", "cli", "app", "register", "cfg", // generated locals and functions
		"Echo", "SelfA", "Echomsg", "echomsg", // an API's handler, a self handler, a proto's Go and IDL name
		"Upper", "my_app", "x1_", // upper case, underscores
		strings.Repeat("n", idl.MaxNameLen), // maximum length
	}
	refused := map[string]string{
		"func":                                "Go keyword",
		"main":                                `"main"`,
		"api":                                 "share the name",
		"svc_test":                            "test package",
		strings.Repeat("n", idl.MaxNameLen+1): "at most",
		"1x":                                  "bad name",
		"a-b":                                 "bad name",
	}
	for name, want := range refused {
		_, err := idl.Parse([]byte(nameIDL(name)), "svr.json")
		if err == nil || !strings.Contains(err.Error(), "svr.json:1:9: app: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("app %.20q: error %v, want a located error with %q", name, err, want)
		}
	}
	goBin, root, tmp := buildDir(t)
	for i, name := range accepted {
		spec, err := idl.Parse([]byte(nameIDL(name)), "svr.json")
		if err != nil {
			t.Errorf("app %q refused: %v", name, err)
			continue
		}
		rel, _ := filepath.Rel(root, filepath.Join(tmp, fmt.Sprint("n", i)))
		files, err := Generate(spec, Options{ImportPath: DefaultRuntime + "/" + filepath.ToSlash(rel)})
		if err != nil {
			t.Fatalf("app %q: %v", name, err)
		}
		if _, err := Write(filepath.Join(root, rel), files, WriteOptions{}); err != nil {
			t.Fatalf("app %q: %v", name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "vet", "./...")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generated code for the accepted app names does not compile: %v\n%s", err, out)
	}
}

// TestWriteChecksBeforeWriting: a target that cannot be written (a directory where a
// file goes) stops Write before it writes anything.
func TestWriteChecksBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	files := []File{{Path: "a.go", Data: []byte("a"), Mode: 0o644}, {Path: "z/b.go", Data: []byte("b"), Mode: 0o644}}
	if err := os.WriteFile(filepath.Join(dir, "z"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(dir, files, WriteOptions{}); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Fatalf("Write = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.go")); err == nil {
		t.Fatal("Write wrote a.go before failing on z/b.go")
	}
}
