package gen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/svrkit/svrkit/gen/idl"
)

// The examples check in their generated files so that `go build ./...` builds them;
// this test fails when one is stale. Regenerate with:
//
//	go run ./gen/cmd/svrkit gen -f examples/<name>/svr.json -d examples/<name>
func TestExamplesUpToDate(t *testing.T) {
	if moduleRoot() == "" {
		t.Skip("not inside the svrkit module source tree (under bazel test only svr.json is visible)")
	}
	for _, name := range []string{"echo", "full"} {
		dir := filepath.Join("..", "examples", name)
		if _, err := os.Stat(filepath.Join(dir, "svr.json")); err != nil {
			t.Skipf("examples not in this tree (%v): nothing to check", err)
		}
		spec, err := idl.ParseFile(filepath.Join(dir, "svr.json"))
		if err != nil {
			t.Fatal(err)
		}
		files, err := Generate(spec, Options{ImportPath: "github.com/svrkit/svrkit/examples/" + name})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if f.User {
				continue
			}
			have, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
			if err != nil {
				t.Errorf("examples/%s/%s: %v (regenerate the example)", name, f.Path, err)
				continue
			}
			if !bytes.Equal(have, f.Data) {
				t.Errorf("examples/%s/%s is stale: regenerate it with go run ./gen/cmd/svrkit gen -f examples/%s/svr.json -d examples/%s", name, f.Path, name, name)
			}
		}
	}
}
