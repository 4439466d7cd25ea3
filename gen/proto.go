package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// protoFile renders <app>/<app>_proto.go: one struct per proto.
func (g *generator) protoFile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n// Package %s holds the %s service's protos and its typed client (NewClient).\n", Header, g.app, g.app)
	fmt.Fprintf(&b, "// Structs travel as msgpack maps keyed by the IDL field names.\npackage %s\n\n%s", g.app, importsMarker)
	for _, p := range g.spec.Protos {
		fmt.Fprintf(&b, "\n// %s is the IDL proto %q.\ntype %s struct {\n", p.GoName, p.Name, p.GoName)
		for _, f := range p.Fields {
			fmt.Fprintf(&b, "\t%s %s `msgpack:%q` // %s\n", f.GoName, g.goType(f.Type, ""), f.Name, f.Type)
		}
		b.WriteString("}\n")
		if selfAppending(p) {
			b.WriteString(appendMsgpack(p))
		}
	}
	return b.String()
}

// selfAppending reports whether p gets an AppendMsgpack method (codec.Appender): it
// does when all its fields are strings, bools, ints and floats (a flat proto), the
// protos codec encodes through a cached plan of the same fields otherwise; the
// method writes the same bytes without reflection. Other protos keep the reflective
// encoding.
func selfAppending(p *idl.Proto) bool {
	if len(p.Fields) == 0 {
		return false
	}
	for _, f := range p.Fields {
		if f.GoName == "AppendMsgpack" || scalarAppend(f.Type.Kind) == "" {
			return false
		}
	}
	return true
}

// scalarAppend is the codec helper that appends a value of kind k, "" for kinds
// that are not a string, bool, int or float.
func scalarAppend(k idl.Kind) string {
	switch k {
	case idl.String:
		return "codec.AppendString"
	case idl.Bool:
		return "codec.AppendBool"
	case idl.Int:
		return "codec.AppendInt"
	case idl.Float:
		return "codec.AppendFloat64"
	}
	return ""
}

// appendMsgpack renders p's AppendMsgpack method.
func appendMsgpack(p *idl.Proto) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n// AppendMsgpack appends m as a msgpack map keyed by the IDL field names (codec.Appender):\n")
	fmt.Fprintf(&b, "// the bytes codec's reflective encoding writes, without reflection.\n")
	fmt.Fprintf(&b, "func (m %s) AppendMsgpack(b []byte) ([]byte, error) {\n", p.GoName)
	fmt.Fprintf(&b, "\tb = codec.AppendMapHeader(b, %d)\n", len(p.Fields))
	for _, f := range p.Fields {
		fmt.Fprintf(&b, "\tb = codec.AppendString(b, %q)\n", f.Name)
		fmt.Fprintf(&b, "\tb = %s(b, m.%s)\n", scalarAppend(f.Type.Kind), f.GoName)
	}
	b.WriteString("\treturn b, nil\n}\n")
	return b.String()
}
