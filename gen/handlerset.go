package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// Handler is a function the user's code must define for a spec.
type Handler struct {
	Func string // the Go function name in package main
	What string // what it handles, for messages: `API "echo"`, `self group "event"`, ...
	File string // the create-once file svrkit gen writes its stub into when it is missing
}

// Handlers lists every function the user's handler files must define for spec, in a
// fixed order: the init hook, the APIs, the self handlers.
func Handlers(spec *idl.Spec) []Handler {
	app := spec.App
	hs := []Handler{{Func: "initProcess", What: "the init hook", File: app + "_init_handler.go"}}
	for _, a := range spec.Server.APIs {
		hs = append(hs, Handler{Func: a.GoName, What: fmt.Sprintf("API %q", a.Name), File: app + "_rpc_" + a.Name + "_handler.go"})
	}
	if s := spec.Self; s != nil {
		if s.DispatchType == "simple" {
			hs = append(hs, Handler{Func: "Self", What: "the simple self server", File: app + "_self_handler.go"})
		}
		for _, g := range s.Groups {
			hs = append(hs, Handler{Func: "Self" + g.GoName, What: fmt.Sprintf("self group %q", g.Name), File: app + "_self_" + g.Name + "_handler.go"})
		}
	}
	return hs
}

// DefinedFuncs returns the top-level function names declared in the given Go files
// (test files are skipped). ok is false when a file does not parse: then the list may
// lack names, and the compiler's error is the one to show.
func DefinedFuncs(files []string) (defined map[string]bool, ok bool) {
	defined, ok = map[string]bool{}, true
	fset := token.NewFileSet()
	for _, p := range files {
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			ok = false
			continue
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil {
				defined[fd.Name.Name] = true
			}
		}
	}
	return defined, ok
}

// UserGoFiles lists dir's hand-written Go files: every .go file that is not a test and
// does not start with the generated-code header.
func UserGoFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("gen: %w", err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		p := filepath.Join(dir, n)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
		if strings.HasPrefix(string(data), Header) {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}
