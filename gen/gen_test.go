package gen

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svrkit/svrkit/gen/idl"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden/edge/out")

// goldenImportPath is the import path golden outputs are generated for.
const goldenImportPath = "example.com/svc"

// goldenCases are the test IDLs: the seed's echo and examples/full (every type, worker
// model and dispatch type), whose generated files are checked in under examples/ and
// guarded by TestExamplesUpToDate, and edge (name clashes and renames) under
// testdata/golden, guarded by TestGolden.
var goldenCases = []string{"echo", "full", "edge"}

// caseIDL is the path of a golden case's IDL.
func caseIDL(name string) string {
	if name == "edge" {
		return filepath.Join("testdata", "golden", name, "svr.json")
	}
	return filepath.Join("..", "examples", name, "svr.json")
}

func generateCase(t *testing.T, name string) []File {
	t.Helper()
	spec, err := idl.ParseFile(caseIDL(name))
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate(spec, Options{ImportPath: goldenImportPath})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGolden compares every file generated for the edge case with
// testdata/golden/edge/out; run go test ./gen -run TestGolden -update to rewrite them.
func TestGolden(t *testing.T) {
	for _, name := range []string{"edge"} {
		t.Run(name, func(t *testing.T) {
			files := generateCase(t, name)
			dir := filepath.Join("testdata", "golden", name, "out")
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if _, err := Write(dir, files, WriteOptions{Force: true}); err != nil {
					t.Fatal(err)
				}
			}
			want := map[string]bool{}
			for _, f := range files {
				want[f.Path] = true
				golden, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Errorf("%v (run with -update)", err)
					continue
				}
				if !bytes.Equal(golden, f.Data) {
					t.Errorf("%s differs from its golden file (run with -update and review the diff):\n%s", f.Path, f.Data)
				}
			}
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					rel, _ := filepath.Rel(dir, p)
					if !want[filepath.ToSlash(rel)] {
						t.Errorf("golden file %s is no longer generated", rel)
					}
				}
				return nil
			})
		})
	}
}

func TestLayout(t *testing.T) {
	var got []string
	for _, f := range generateCase(t, "echo") {
		mark := ""
		if f.User {
			mark = " (user)"
		}
		got = append(got, f.Path+mark)
	}
	want := `api/echo/echo_cli.go
api/echo/echo_proto.go
echo
echo_cli.conf
echo_init_handler.go (user)
echo_rpc_handler.go (user)
echo_self_event_handler.go (user)
echo_self_value_handler.go (user)
echo_svr.conf
echo_svr.go
echo_test.go`
	if strings.Join(got, "\n") != want {
		t.Fatalf("layout:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	var simple []string
	for _, f := range generateCase(t, "full") {
		if f.User {
			simple = append(simple, f.Path)
		}
	}
	if strings.Join(simple, " ") != "full_init_handler.go full_rpc_handler.go full_self_handler.go" {
		t.Fatalf("full user files: %v", simple)
	}
}

// TestFixedOutputs checks the single source of truth build rules rely on: for every
// IDL shape, the generated files are exactly GeneratedFiles(app), and the user's
// files are exactly those ending in _handler.go.
func TestFixedOutputs(t *testing.T) {
	shapes, _ := filepath.Glob(filepath.Join("..", "bazel", "testdata", "shapes", "*", "svr.json"))
	if len(shapes) == 0 {
		t.Skip("bazel/testdata/shapes not reachable from here")
	}
	for _, p := range append(shapes, caseIDL("echo"), caseIDL("full"), caseIDL("edge")) {
		spec, err := idl.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files, err := Generate(spec, Options{ImportPath: "example.com/x"})
		if err != nil {
			t.Fatal(err)
		}
		var gen []string
		for _, f := range files {
			if f.User != strings.HasSuffix(f.Path, "_handler.go") {
				t.Errorf("%s: %s: user file %v, but the name says otherwise", p, f.Path, f.User)
			}
			if !f.User {
				gen = append(gen, f.Path)
			}
		}
		if got, want := strings.Join(gen, " "), strings.Join(GeneratedFiles(spec.App), " "); got != want {
			t.Errorf("%s: generated %s, want %s", p, got, want)
		}
	}
}

func TestHeadersAndConf(t *testing.T) {
	for _, name := range goldenCases {
		for _, f := range generateCase(t, name) {
			switch {
			case strings.HasSuffix(f.Path, ".conf"):
			case f.User:
				if bytes.Contains(f.Data, []byte("DO NOT EDIT")) {
					t.Errorf("user file %s says DO NOT EDIT", f.Path)
				}
			case f.Mode == 0o755:
				if !bytes.HasPrefix(f.Data, []byte("#!/bin/sh\n# "+Header[3:]+"\n")) || strings.Contains(f.Path, ".") {
					t.Errorf("script %s: mode %v, header %q", f.Path, f.Mode, f.Data[:60])
				}
			default:
				if !bytes.HasPrefix(f.Data, []byte(Header+"\n")) {
					t.Errorf("%s lacks the generated header", f.Path)
				}
			}
		}
	}
	// The seed's echo_svr.conf, byte for byte.
	want := "[app]\nname=echo\npid=echo.pid\n\n[rpc_server]\nip=0.0.0.0\nport=3000\nworker_type=thread\nworker_sum=4\n\n" +
		"[self_server]\ndispatch_type=custom\nworker_type=process_coroutine\ngroup_sum=2\n\n" +
		"[self_group0]\ngroup_name=event\nworker_sum=2\ncoroutine_sum=3\n\n[self_group1]\ngroup_name=value\nworker_sum=2\ncoroutine_sum=3\n\n"
	for _, f := range generateCase(t, "echo") {
		if f.Path == "echo_svr.conf" && string(f.Data) != want {
			t.Errorf("echo_svr.conf:\n%s\nwant:\n%s", f.Data, want)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, name := range goldenCases {
		a, b := generateCase(t, name), generateCase(t, name)
		if len(a) != len(b) {
			t.Fatal("different file counts")
		}
		for i := range a {
			if a[i].Path != b[i].Path || !bytes.Equal(a[i].Data, b[i].Data) {
				t.Fatalf("%s: two runs differ", a[i].Path)
			}
		}
	}
}

func TestWriteKeepsUserFiles(t *testing.T) {
	dir := t.TempDir()
	files := generateCase(t, "echo")
	var log bytes.Buffer
	if _, err := Write(dir, files, WriteOptions{Log: &log}); err != nil {
		t.Fatal(err)
	}
	if log.Len() != 0 {
		t.Fatalf("first write kept files: %s", log.String())
	}
	edited := []byte("package main\n\n// mine\n")
	handler := filepath.Join(dir, "echo_rpc_handler.go")
	generated := filepath.Join(dir, "echo_svr.go")
	os.WriteFile(handler, edited, 0o644)
	os.WriteFile(generated, []byte("junk"), 0o644)
	wrote, err := Write(dir, files, WriteOptions{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(handler); !bytes.Equal(got, edited) {
		t.Fatal("user handler was overwritten")
	}
	if got, _ := os.ReadFile(generated); bytes.Equal(got, []byte("junk")) {
		t.Fatal("generated file was not rewritten")
	}
	if !strings.Contains(log.String(), handler+": exists, kept") || strings.Count(log.String(), "exists, kept") != 4 {
		t.Fatalf("log = %q", log.String())
	}
	if len(wrote) != len(files)-4 {
		t.Fatalf("wrote %d files, want %d", len(wrote), len(files)-4)
	}
	if st, err := os.Stat(filepath.Join(dir, "echo")); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("script mode: %v %v", st, err)
	}
	if _, err := Write(dir, files, WriteOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(handler); bytes.Equal(got, edited) {
		t.Fatal("Force did not overwrite the user handler")
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(left) != 0 {
		t.Fatalf("temp files left: %v", left)
	}
}

func TestScriptIsPOSIX(t *testing.T) {
	sh := "dash"
	if _, err := exec.LookPath(sh); err != nil {
		sh = "sh"
	}
	if _, err := exec.LookPath(sh); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	var script []byte
	for _, f := range generateCase(t, "echo") {
		if f.Path == "echo" {
			script = f.Data
		}
	}
	p := filepath.Join(dir, "echo")
	os.WriteFile(p, script, 0o755)
	if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
		t.Fatalf("%s -n: %v\n%s", sh, err, out)
	}
	// A fake server binary records its arguments; the script must delegate and exit with its status.
	fake := filepath.Join(dir, "echo_svr")
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/calls\"\nexit ${FAKE_EXIT:-0}\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "echo_svr.conf"), []byte("[app]\n"), 0o644)
	conf := filepath.Join(dir, "echo_svr.conf")
	for _, c := range []struct {
		arg, want string
		exit      string
		code      int
	}{
		{"start", "-f " + conf + " -d", "", 0},
		{"stop", "-f " + conf + " -s stop", "", 0},
		{"restart", "-f " + conf + " -s restart", "", 0},
		{"status", "-f " + conf + " -s status", "3", 3},
		{"bogus", "", "", 2},
	} {
		os.Remove(filepath.Join(dir, "calls"))
		cmd := exec.Command(sh, p, c.arg)
		cmd.Env = append(os.Environ(), "FAKE_EXIT="+c.exit)
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code {
			t.Errorf("%s: exit %d, want %d (%v)", c.arg, code, c.code, err)
		}
		calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
		if strings.TrimSpace(string(calls)) != c.want {
			t.Errorf("%s: server called with %q, want %q", c.arg, calls, c.want)
		}
	}
	// Missing binary: a clear error and a non-zero exit.
	cmd := exec.Command(sh, p, "start")
	cmd.Env = append(os.Environ(), "SVRKIT_SVR_BIN="+filepath.Join(dir, "nope"))
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "missing or not executable") {
		t.Fatalf("missing binary: %v %s", err, out)
	}
}

func TestImportPathFor(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("// c\nmodule \"example.com/m\"\n\ngo 1.26\n"), 0o644)
	got, err := ImportPathFor(filepath.Join(dir, "a", "b"))
	if err != nil || got != "example.com/m/a/b" {
		t.Fatalf("ImportPathFor = %q, %v", got, err)
	}
	if got, err := ImportPathFor(dir); err != nil || got != "example.com/m" {
		t.Fatalf("ImportPathFor(root) = %q, %v", got, err)
	}
}

func TestGenerateErrors(t *testing.T) {
	spec, err := idl.ParseFile(caseIDL("echo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(spec, Options{}); err == nil || !strings.Contains(err.Error(), "ImportPath is empty") {
		t.Fatalf("no import path: %v", err)
	}
	if _, err := Generate(nil, Options{ImportPath: "x"}); err == nil {
		t.Fatal("nil spec accepted")
	}
}
