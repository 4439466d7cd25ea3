package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// goType is t's Go type; qual prefixes proto types ("" inside the app package, "echo."
// in package main).
func (g *generator) goType(t idl.Type, qual string) string {
	switch t.Kind {
	case idl.String:
		return "string"
	case idl.Bool:
		return "bool"
	case idl.Int:
		return "int64"
	case idl.Float:
		return "float64"
	case idl.Tuple:
		return "[]any"
	case idl.List:
		if t.Elem == nil {
			return "[]any"
		}
		return "[]" + g.goType(*t.Elem, qual)
	case idl.Dict:
		if t.Elem == nil {
			return "map[string]any"
		}
		return "map[string]" + g.goType(*t.Elem, qual)
	case idl.ProtoKind:
		return qual + idl.GoName(t.Proto)
	}
	panic(fmt.Sprintf("gen: unknown type kind %d", t.Kind))
}

// zero is a Go expression for t's zero value.
func (g *generator) zero(t idl.Type, qual string) string {
	switch t.Kind {
	case idl.String:
		return `""`
	case idl.Bool:
		return "false"
	case idl.Int, idl.Float:
		return "0"
	case idl.ProtoKind:
		return g.goType(t, qual) + "{}"
	}
	return "nil"
}

// sample is a Go expression for a non-zero test value of t. Typed containers of protos
// stay nil, so recursive protos (through list or dict) terminate.
func (g *generator) sample(t idl.Type, qual string) string {
	switch t.Kind {
	case idl.String:
		return `"testtest"`
	case idl.Bool:
		return "true"
	case idl.Int:
		return "int64(1)"
	case idl.Float:
		return "float64(1.5)"
	case idl.Tuple:
		return `[]any{"testtest", int64(1)}`
	case idl.List:
		if t.Elem == nil {
			return `[]any{"testtest"}`
		}
		if hasProto(*t.Elem) {
			return "nil"
		}
		return g.goType(t, qual) + "{" + g.sample(*t.Elem, qual) + "}"
	case idl.Dict:
		if t.Elem == nil {
			return `map[string]any{"key": "testtest"}`
		}
		if hasProto(*t.Elem) {
			return "nil"
		}
		return g.goType(t, qual) + `{"key": ` + g.sample(*t.Elem, qual) + "}"
	case idl.ProtoKind:
		p := g.spec.Proto(t.Proto)
		var parts []string
		for _, f := range p.Fields {
			parts = append(parts, f.GoName+": "+g.sample(f.Type, qual))
		}
		return g.goType(t, qual) + "{" + strings.Join(parts, ", ") + "}"
	}
	return "nil"
}

func hasProto(t idl.Type) bool {
	if t.Kind == idl.ProtoKind {
		return true
	}
	return t.Elem != nil && hasProto(*t.Elem)
}

func sameType(a, b idl.Type) bool { return a.String() == b.String() }

// echo describes what a generated handler stub returns: the first argument, or its
// first field when it is a proto (pysvrkit's echo returns msg.value). For a typed return
// it echoes only a value of the right type.
type echo struct {
	ok   bool     // the stub returns part of its input
	expr string   // in the handler, e.g. msg.Value
	typ  idl.Type // the echoed value's type
}

func (g *generator) echoOf(a *idl.API) echo {
	if a.Ret.Kind == idl.RetNone || len(a.Args) == 0 {
		return echo{}
	}
	arg := a.Args[0]
	cands := []echo{}
	if arg.Type.Kind == idl.ProtoKind {
		if p := g.spec.Proto(arg.Type.Proto); p != nil && len(p.Fields) > 0 {
			f := p.Fields[0]
			cands = append(cands, echo{ok: true, expr: arg.GoName + "." + f.GoName, typ: f.Type})
		}
	}
	whole := echo{ok: true, expr: arg.GoName, typ: arg.Type}
	if a.Ret.Kind == idl.RetAny {
		if len(cands) > 0 {
			return cands[0]
		}
		return whole
	}
	if sameType(arg.Type, a.Ret.Type) {
		return whole
	}
	if len(cands) > 0 && sameType(cands[0].typ, a.Ret.Type) {
		return cands[0]
	}
	return echo{}
}
