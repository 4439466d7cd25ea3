package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/gen"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

const echoIDL = `{"app": "echo",
 "protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}]}],
 "rpc_client": {"mode": "hashring"},
 "rpc_server": {"ip": "0.0.0.0", "port": 3000, "worker_type": "thread", "worker_sum": 4,
  "apis": [{"name": "echo", "args": [{"name": "msg", "type": "echomsg"}], "ret": true}]}}`

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"gen"}, {"gen", "-f", "x.json"}, {"check"}, {"gen", "-nope"}} {
		if code, _, stderr := runCLI(args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestGenAndKeep(t *testing.T) {
	dir := t.TempDir()
	idlPath := filepath.Join(dir, "svr.json")
	os.WriteFile(idlPath, []byte(echoIDL), 0o644)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI("gen", "-f", idlPath, "-d", out, "-importpath", "example.com/echo")
	if code != 0 || !strings.Contains(stdout, "wrote "+filepath.Join(out, "echo_svr.go")) {
		t.Fatalf("gen: %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "api", "echo", "echo_cli.go")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI("gen", "-f", idlPath, "-d", out, "-importpath", "example.com/echo")
	if code != 0 || strings.Contains(stdout, "_handler.go") {
		t.Fatalf("regen wrote a handler: %d %q %q", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("gen", "-force", "-f", idlPath, "-d", out, "-importpath", "example.com/echo")
	if code != 0 || strings.Contains(stderr, "kept") || !strings.Contains(stdout, "echo_rpc_handler.go") {
		t.Fatalf("force: %d %q", code, stderr)
	}
	if code, stdout, _ := runCLI("check", "-f", idlPath); code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("check: %d %s", code, stdout)
	}
}

func TestDerivedImportPath(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/m\n"), 0o644)
	idlPath := filepath.Join(dir, "svr.json")
	os.WriteFile(idlPath, []byte(echoIDL), 0o644)
	if code, _, stderr := runCLI("gen", "-f", idlPath, "-d", filepath.Join(dir, "svc")); code != 0 {
		t.Fatalf("gen: %s", stderr)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "svc", "echo_svr.go"))
	if !strings.Contains(string(data), `"example.com/m/svc/api/echo"`) {
		t.Fatalf("import path not derived:\n%s", data)
	}
	noMod := t.TempDir()
	if _, err := gen.ImportPathFor(noMod); err == nil {
		return // a go.mod above the temp dir
	}
	// No module: a create-once go.mod names the module after the app.
	if code, _, stderr := runCLI("gen", "-f", idlPath, "-d", filepath.Join(noMod, "svc"), "-svrkit", "/nonexistent"); code != 1 || !strings.Contains(stderr, "pass -importpath") || !strings.Contains(stderr, "-svrkit") {
		t.Fatalf("no go.mod, no checkout: exit %d %s", code, stderr)
	}
	if checkoutDir() == "" {
		return // built with -trimpath (bazel): the checkout is unknown
	}
	if code, _, stderr := runCLI("gen", "-f", idlPath, "-d", filepath.Join(noMod, "svc")); code != 0 {
		t.Fatalf("no go.mod: exit %d %s", code, stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(noMod, "svc", "go.mod")); !strings.Contains(string(data), "module echo\n") {
		t.Fatalf("go.mod:\n%s", data)
	}
}

func TestBadIDLReportsAllErrors(t *testing.T) {
	dir := t.TempDir()
	idlPath := filepath.Join(dir, "svr.json")
	bad := strings.Replace(strings.Replace(echoIDL, `"port": 3000`, `"port": 0`, 1), `"type": "echomsg"`, `"type": "echomsgg"`, 1)
	os.WriteFile(idlPath, []byte(bad), 0o644)
	code, _, stderr := runCLI("gen", "-f", idlPath, "-d", filepath.Join(dir, "out"), "-importpath", "x/y")
	if code != 1 || !strings.Contains(stderr, idlPath+":4:42: rpc_server.port: bad value 0") || !strings.Contains(stderr, `unknown type "echomsgg"`) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Fatal("wrote output despite errors")
	}
	if code, _, stderr := runCLI("check", "-f", filepath.Join(dir, "missing.json")); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Fatalf("missing file: %d %s", code, stderr)
	}
}

func TestGeneratedOnlyQuiet(t *testing.T) {
	dir := t.TempDir()
	idlPath := filepath.Join(dir, "svr.json")
	os.WriteFile(idlPath, []byte(echoIDL), 0o644)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI("gen", "-generated-only", "-quiet", "-f", idlPath, "-d", out, "-importpath", "example.com/echo")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "echo_rpc_handler.go")); err == nil {
		t.Fatal("user handler written with -generated-only")
	}
	if _, err := os.Stat(filepath.Join(out, "echo_svr.go")); err != nil {
		t.Fatal(err)
	}
}

// TestGenAddsStubsForNewAPIs is issue 18 item 5: after the IDL gains an API and a self
// group, gen again writes one new stub file for each, leaves the user's files alone,
// and the Bazel check (-handlers) names what is missing and the command.
func TestGenAddsStubsForNewAPIs(t *testing.T) {
	dir := t.TempDir()
	idlPath := filepath.Join(dir, "svr.json")
	self := `, "self_server": {"dispatch_type": "custom", "worker_type": "thread", "groups": [{"group_name": "a", "worker_sum": 1}]}}`
	os.WriteFile(idlPath, []byte(strings.TrimSuffix(echoIDL, "}")+self), 0o644)
	out := filepath.Join(dir, "out")
	if code, _, stderr := runCLI("gen", "-f", idlPath, "-d", out, "-importpath", "example.com/echo"); code != 0 {
		t.Fatal(stderr)
	}
	handler := filepath.Join(out, "echo_rpc_handler.go")
	edited := []byte("package main\n\nimport (\n\t\"context\"\n\n\t\"example.com/echo/api/echo\"\n)\n\n// mine\nfunc Echo(ctx context.Context, msg echo.Echomsg) (any, error) { return msg.Value, nil }\n")
	os.WriteFile(handler, edited, 0o644)
	grown := strings.Replace(strings.TrimSuffix(echoIDL, "}"),
		`"ret": true}]`, `"ret": true}, {"name": "hello", "args": [], "ret": false}]`, 1) +
		strings.Replace(self, `"worker_sum": 1}]`, `"worker_sum": 1}, {"group_name": "b", "worker_sum": 1}]`, 1)
	os.WriteFile(idlPath, []byte(grown), 0o644)
	code, stdout, stderr := runCLI("gen", "-f", idlPath, "-d", out, "-importpath", "example.com/echo")
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, f := range []string{"echo_rpc_hello_handler.go", "echo_self_b_handler.go"} {
		if !strings.Contains(stdout, "wrote "+filepath.Join(out, f)) {
			t.Errorf("no stub %s:\n%s", f, stdout)
		}
	}
	for _, f := range []string{"echo_rpc_handler.go", "echo_self_a_handler.go", "echo_init_handler.go"} {
		if strings.Contains(stdout, f) {
			t.Errorf("rewrote %s:\n%s", f, stdout)
		}
	}
	if got, _ := os.ReadFile(handler); string(got) != string(edited) {
		t.Fatal("user handler changed")
	}
	// The build rule's check: the old srcs lack Hello and SelfB.
	code, _, stderr = runCLI("gen", "-f", idlPath, "-d", filepath.Join(dir, "bazel"), "-importpath", "example.com/echo",
		"-generated-only", "-quiet", "-handlers", handler, filepath.Join(out, "echo_init_handler.go"), filepath.Join(out, "echo_self_a_handler.go"))
	for _, want := range []string{`API "hello" has no handler: func Hello`, `self group "b" has no handler: func SelfB`, "echo_rpc_hello_handler.go", "run `svrkit gen -f " + idlPath} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("-handlers: exit %d, want %q in:\n%s", code, want, stderr)
		}
	}
	if strings.Contains(stderr, "SelfA") || strings.Contains(stderr, "initProcess") {
		t.Errorf("-handlers reports a defined handler:\n%s", stderr)
	}
}

// TestAppMismatch is issue 18 item 2: one clear error when the rule's name is not the
// IDL's app.
func TestAppMismatch(t *testing.T) {
	dir := t.TempDir()
	idlPath := filepath.Join(dir, "svr.json")
	os.WriteFile(idlPath, []byte(echoIDL), 0o644)
	code, _, stderr := runCLI("gen", "-f", idlPath, "-d", filepath.Join(dir, "out"), "-importpath", "x", "-generated-only", "-app", "hello")
	want := `the IDL's app is "echo", but the build rule expects "hello": set name = "echo" in svrkit_service, or app = "echo"`
	if code != 1 || !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Fatal("wrote output despite the mismatch")
	}
}

// TestEmptyDirFlow is issue 18 item 14, the seed's flow from an empty directory:
// svrkit gen -f svr.json -d ., then exactly the commands gen prints, give a daemon that
// ./echo start runs, a passing go test, and a clean ./echo stop. (The conf's port and
// pidfile are moved off the seed's defaults so that parallel runs do not collide.)
func TestEmptyDirFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping go mod tidy and go build")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	if checkoutDir() == "" {
		t.Skip("svrkit checkout unknown (built with -trimpath or under bazel)")
	}
	if _, err := os.Stat(filepath.Join(checkoutDir(), "go.mod")); err != nil {
		t.Skip("svrkit checkout not readable here (e.g. under bazel test)")
	}
	dir := t.TempDir()
	if _, err := gen.ImportPathFor(dir); err == nil {
		t.Skip("a go.mod above the temp directory")
	}
	t.Chdir(dir)
	os.WriteFile("svr.json", []byte(echoIDL), 0o644)
	code, stdout, stderr := runCLI("gen", "-f", "svr.json", "-d", ".")
	if code != 0 {
		t.Fatalf("gen: %d\n%s", code, stderr)
	}
	_, next, ok := strings.Cut(stdout, "next, in .:\n")
	if !ok {
		t.Fatalf("gen printed no next steps:\n%s", stdout)
	}
	cmds := strings.Split(strings.TrimSpace(strings.SplitN(next, "\nthen ", 2)[0]), "\n")
	if len(cmds) > 2 {
		t.Fatalf("gen printed %d commands, want at most 2: %q", len(cmds), cmds)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sh := func(line string) string {
		t.Helper()
		f := strings.Fields(line)
		if f[0] == "go" {
			f[0] = goBin
		}
		cmd := exec.CommandContext(ctx, f[0], f[1:]...)
		cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			log, _ := os.ReadFile("echo.log")
			t.Fatalf("%s: %v\n%s\nlog:\n%s", line, err, out, log)
		}
		return string(out)
	}
	for _, c := range cmds {
		sh(c)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	for _, conf := range []string{"echo_svr.conf", "echo_cli.conf"} {
		data, _ := os.ReadFile(conf)
		data = []byte(strings.NewReplacer("port=3000", "port="+port, "pid=/tmp/echo.pid", "pid="+filepath.Join(dir, "echo.pid")+"\nlog="+filepath.Join(dir, "echo.log")).Replace(string(data)))
		os.WriteFile(conf, data, 0o644)
	}
	sh("./echo start")
	stopped := false
	defer func() {
		if !stopped {
			exec.Command("./echo", "stop").Run()
		}
	}()
	if out := sh("go test -count=1 ."); !strings.Contains(out, "ok") {
		t.Fatalf("go test:\n%s", out)
	}
	sh("./echo stop")
	stopped = true
	if _, err := os.Stat(filepath.Join(dir, "echo.pid")); err == nil {
		t.Fatal("pidfile left after stop")
	}
	if err := exec.Command("./echo", "status").Run(); err == nil {
		t.Fatal("status after stop says running")
	}
}

// TestRemovesStaleSelfTable: a custom-dispatch <app>_self_handler.go written by an
// earlier svrkit (generated header) is removed, since <app>_svr.go declares the table
// now; a user's file of that name is kept.
func TestRemovesStaleSelfTable(t *testing.T) {
	dir := t.TempDir()
	idlPath := filepath.Join(dir, "svr.json")
	os.WriteFile(idlPath, []byte(strings.TrimSuffix(echoIDL, "}")+`, "self_server": {"dispatch_type": "custom", "worker_type": "thread", "groups": [{"group_name": "a", "worker_sum": 1}]}}`), 0o644)
	stale := filepath.Join(dir, "echo_self_handler.go")
	os.WriteFile(stale, []byte(gen.Header+"\n\npackage main\n"), 0o644)
	if code, stdout, stderr := runCLI("gen", "-f", idlPath, "-d", dir, "-importpath", "example.com/echo"); code != 0 || !strings.Contains(stdout, "removed "+stale) {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Fatal("stale generated file kept")
	}
	os.WriteFile(stale, []byte("package main\n// mine\n"), 0o644)
	if code, _, stderr := runCLI("gen", "-f", idlPath, "-d", dir, "-importpath", "example.com/echo"); code != 0 {
		t.Fatal(stderr)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Fatal("user file removed")
	}
}

// TestBrokenUserFileNoStubs: when a Go file in the output directory does not parse, gen
// cannot tell which handlers it declares, so it writes no stubs (and says so), and the
// build rule's -handlers check leaves the error to the compiler.
func TestBrokenUserFileNoStubs(t *testing.T) {
	dir := t.TempDir()
	idlPath := filepath.Join(dir, "svr.json")
	os.WriteFile(idlPath, []byte(echoIDL), 0o644)
	broken := filepath.Join(dir, "echo_rpc_handler.go")
	os.WriteFile(broken, []byte("package main\n\nfunc Echo(\n"), 0o644)
	code, stdout, stderr := runCLI("gen", "-f", idlPath, "-d", dir, "-importpath", "example.com/echo")
	if code != 0 || !strings.Contains(stderr, "does not parse") || strings.Contains(stdout, "_handler.go") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, _, stderr = runCLI("gen", "-f", idlPath, "-d", filepath.Join(dir, "bazel"), "-importpath", "example.com/echo", "-generated-only", "-handlers", broken)
	if code != 0 || stderr != "" {
		t.Fatalf("-handlers with a broken file: exit %d\n%s", code, stderr)
	}
}
