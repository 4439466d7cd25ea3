package gen

import (
	"fmt"
	"strings"
)

// protoFile renders <app>/<app>_proto.go: one struct per proto.
func (g *generator) protoFile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n// Package %s holds the %s service's protos and its typed client (NewClient).\n", Header, g.app, g.app)
	fmt.Fprintf(&b, "// Structs travel as msgpack maps keyed by the IDL field names.\npackage %s\n", g.app)
	for _, p := range g.spec.Protos {
		fmt.Fprintf(&b, "\n// %s is the IDL proto %q.\ntype %s struct {\n", p.GoName, p.Name, p.GoName)
		for _, f := range p.Fields {
			fmt.Fprintf(&b, "\t%s %s `msgpack:%q` // %s\n", f.GoName, g.goType(f.Type, ""), f.Name, f.Type)
		}
		b.WriteString("}\n")
	}
	return b.String()
}
