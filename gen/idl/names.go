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
	context errors fmt net strings time testing codec transport router workers service
	AppendParams`)

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

// mainImports are the package names the generated package main imports.
var mainImports = []string{"context", "errors", "fmt", "net", "strings", "time", "testing", "codec", "transport", "router",
	"workers", "service", "main"}

// mainFuncs are the names generated code declares or uses in package main besides the
// API and self handlers: functions, and the locals of the generated test.
var mainFuncs = strings.Fields(`app register selfHandlers initProcess init main TestAPIs
	checkReached startTestService startTestServer cli raw addr got t ln run cancel se bad prefix`)

// importName returns the name package main gives the app package: the app name
// itself, or with "pkg" (then "_") appended until it names nothing else in package
// main: a Go keyword or predeclared identifier, an imported package, a generated
// function or local, or an API or self handler.
func importName(app string, handlers map[string]bool) string {
	clash := func(n string) bool {
		return token.IsKeyword(n) || contains(predeclared, n) || contains(mainImports, n) ||
			contains(generatedLocals, n) || contains(mainFuncs, n) || handlers[n]
	}
	if !clash(app) {
		return app
	}
	name := app + "pkg"
	for clash(name) {
		name += "_"
	}
	return name
}

// ImportName is the name the generated package main uses for the app's package.
func (s *Spec) ImportName() string {
	if s.importName == "" {
		return s.App
	}
	return s.importName
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
