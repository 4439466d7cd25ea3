package idl

import (
	"go/token"
	"strings"
)

// GoName converts an IDL name to an exported Go identifier: the parts between '_' and '-'
// are capitalised and joined (echomsg -> Echomsg, user_id -> UserId, a-b -> AB).
// Names are validated first, so the result is never empty and starts with a letter.
func GoName(name string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return r == '_' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

// predeclared are Go's predeclared identifiers; shadowing them in generated code is legal
// but confusing, so local names avoid them.
var predeclared = strings.Fields(`any bool byte comparable complex64 complex128 error float32 float64
	int int8 int16 int32 int64 rune string uint uint8 uint16 uint32 uint64 uintptr
	true false iota nil append cap clear close complex copy delete imag len make max min new
	panic print println real recover`)

// generatedLocals are the identifiers the generated code uses in the scopes that also
// hold API arguments (handlers, client methods, register wrappers): imported package
// names, receivers, locals and parameters.
var generatedLocals = strings.Fields(`ctx c s cfg params reply err
	context fmt net time testing codec transport router workers service
	NumArgs AppendArgs`)

// ArgsType names the client's struct of an API's arguments (see gen): echoArgs for
// the API whose GoName is Echo. Argument names avoid it.
func ArgsType(apiGoName string) string {
	return strings.ToLower(apiGoName[:1]) + apiGoName[1:] + "Args"
}

// localName returns name itself, or name with '_' appended until it is not a Go keyword,
// predeclared identifier, generated local, the app package name, or taken.
func localName(name, app string, taken func(string) bool) string {
	for {
		if !token.IsKeyword(name) && !contains(predeclared, name) && !contains(generatedLocals, name) &&
			name != app && !taken(name) {
			return name
		}
		name += "_"
	}
}

// reservedPkgTypes are exported names the generated client package declares itself.
var reservedPkgTypes = []string{"Client", "NewClient", "NewClientFromConfig"}

// reservedMethods are the generated Client's own methods.
var reservedMethods = []string{"Close"}

// mainImports are the package names the generated main package imports; an app with one
// of these names is imported under the alias <app>pkg.
var mainImports = []string{"context", "net", "time", "testing", "codec", "transport", "router",
	"workers", "service", "main"}

// ImportName is the name the generated package main uses for the app's package.
func (s *Spec) ImportName() string {
	if contains(mainImports, s.App) {
		return s.App + "pkg"
	}
	return s.App
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func isKeyword(s string) bool { return token.IsKeyword(s) }
