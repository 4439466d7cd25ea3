// Package idl parses and validates svrkit's JSON IDL (pysvrkit's svr.json) into a Spec.
//
// Parse reports every problem at once as an ErrorList; each Error names the file, the
// line and column, the JSON path, the bad value and what is allowed. docs/IDL.md is the
// reference for the format, the type mapping and the error rules.
package idl

import "strings"

// Spec is a validated IDL file. Every name in it is a valid identifier and every
// derived Go name is unique where it must be.
type Spec struct {
	File     string
	App      string // app name: package name, file prefix, binary <app>_svr
	Protos   []*Proto
	Client   Client
	Server   Server
	Self     *Self     // nil when self_server is absent
	Warnings ErrorList // problems that do not stop generation

	importName string // see ImportName
}

// Proto is a message struct.
type Proto struct {
	Name   string // IDL name, e.g. echomsg
	GoName string // exported Go type name, e.g. Echomsg
	Fields []*Field
}

// Field is a proto field or an API argument.
type Field struct {
	Name string // IDL name: the msgpack map key of a proto field, the argument name in errors
	// GoName is the exported struct field name for a proto field (Value), and a local
	// parameter name for an API argument (msg; renamed with a trailing _ when it would
	// clash with a Go keyword, a predeclared identifier or a name the generated code uses).
	GoName string
	Type   Type
}

// Client is rpc_client.
type Client struct {
	Mode string // hashring | sharding
}

// Server is rpc_server.
type Server struct {
	IP         string
	Port       int
	WorkerType string // thread | process
	WorkerSum  int
	APIs       []*API
}

// API is one rpc method.
type API struct {
	Name       string // method name on the wire
	GoName     string // exported Go name: handler func and client method
	Args       []*Field
	Ret        Ret
	Idempotent bool // extension: the client may retry it on any failure

	path string // JSON path, for errors found after the API was read
	off  int
}

// RetKind says what an API returns.
type RetKind int

const (
	RetNone  RetKind = iota // "ret": false — a one-way notification
	RetAny                  // "ret": true — a value decoded generically (any)
	RetTyped                // "ret": "<type>" (extension) — a value of Ret.Type
)

// Ret is an API's return.
type Ret struct {
	Kind RetKind
	Type Type // RetTyped only
}

// Self is self_server.
type Self struct {
	DispatchType string // simple | custom
	WorkerType   string // thread | process | process_coroutine
	WorkerSum    int    // simple only
	CoroutineSum int    // simple + process_coroutine only
	Groups       []*Group
}

// Group is one custom self_server group.
type Group struct {
	Name         string // group_name
	GoName       string // exported Go suffix: handler Self<GoName>
	WorkerSum    int
	CoroutineSum int // process_coroutine only
}

// Kind is the kind of an IDL type.
type Kind int

const (
	String Kind = iota + 1
	Bool
	Int
	Float
	List
	Tuple
	Dict
	ProtoKind
)

// Type is an IDL field type. Elem is set only for the typed container extension
// (list<T>, dict<string,T>); plain list, tuple and dict hold any values.
type Type struct {
	Kind  Kind
	Elem  *Type  // List, Dict: element type; nil = any
	Proto string // ProtoKind: the IDL proto name
}

// String returns the IDL spelling of t.
func (t Type) String() string {
	switch t.Kind {
	case String:
		return "string"
	case Bool:
		return "bool"
	case Int:
		return "int"
	case Float:
		return "float"
	case Tuple:
		return "tuple"
	case List:
		if t.Elem != nil {
			return "list<" + t.Elem.String() + ">"
		}
		return "list"
	case Dict:
		if t.Elem != nil {
			return "dict<string," + t.Elem.String() + ">"
		}
		return "dict"
	case ProtoKind:
		return t.Proto
	}
	return "?"
}

// protosIn appends every proto name t mentions (at any depth) to dst.
func (t Type) protosIn(dst []string) []string {
	if t.Kind == ProtoKind {
		dst = append(dst, t.Proto)
	}
	if t.Elem != nil {
		dst = t.Elem.protosIn(dst)
	}
	return dst
}

// Proto returns the proto named name, or nil.
func (s *Spec) Proto(name string) *Proto {
	for _, p := range s.Protos {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// builtinTypes lists the IDL's scalar and container type names.
var builtinTypes = []string{"string", "bool", "int", "float", "list", "tuple", "dict"}

func isBuiltin(name string) bool {
	for _, b := range builtinTypes {
		if b == name {
			return true
		}
	}
	return false
}

func allowedTypes(protos []string) string {
	s := "string, bool, int, float, list, tuple, dict, list<T>, dict<string,T>"
	if len(protos) > 0 {
		s += ", or a proto: " + strings.Join(protos, ", ")
	} else {
		s += " (no protos are declared)"
	}
	return s
}
