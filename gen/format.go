package gen

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"strings"
)

// importsMarker stands where an emitter wants its import block; formatGo replaces it
// with the imports the file really uses.
const importsMarker = "//svrkit:imports\n"

// goImport is a package a generated file may use, by the name it is referred to.
type goImport struct {
	name  string // the identifier used in code
	path  string
	alias bool // write "name path"
	group int  // 0 std, 1 svrkit runtime, 2 the app package
}

// candidates is every import a generated file may need.
func (g *generator) candidates() []goImport {
	var c []goImport
	for _, p := range []string{"context", "errors", "fmt", "net", "strings", "testing", "time"} {
		c = append(c, goImport{name: p, path: p})
	}
	for _, p := range []string{"codec", "router", "service", "transport", "workers"} {
		c = append(c, goImport{name: p, path: g.rt(p), group: 1})
	}
	// Package main refers to the app package by g.pkg; the api/<app> dir is named like
	// the package, so an alias is only needed when g.pkg differs.
	c = append(c, goImport{name: g.pkg, path: g.appPath, alias: g.pkg != g.app, group: 2})
	return c
}

// formatGo puts the used imports at the marker and gofmts src.
func (g *generator) formatGo(name, src string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, strings.Replace(src, importsMarker, "", 1), 0)
	if err != nil {
		return nil, fmt.Errorf("gen: internal error: %s does not parse: %w\n%s", name, err, src)
	}
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	var groups [3][]string
	for _, imp := range g.candidates() {
		if !used[imp.name] {
			continue
		}
		line := fmt.Sprintf("\t%q\n", imp.path)
		if imp.alias {
			line = fmt.Sprintf("\t%s %q\n", imp.name, imp.path)
		}
		groups[imp.group] = append(groups[imp.group], line)
	}
	var block strings.Builder
	for _, lines := range groups {
		if len(lines) == 0 {
			continue
		}
		if block.Len() > 0 {
			block.WriteString("\n")
		}
		block.WriteString(strings.Join(lines, ""))
	}
	imports := ""
	if block.Len() > 0 {
		imports = "import (\n" + block.String() + ")\n"
	}
	out, err := format.Source([]byte(strings.Replace(src, importsMarker, imports, 1)))
	if err != nil {
		return nil, fmt.Errorf("gen: internal error: format %s: %w", name, err)
	}
	return out, nil
}
