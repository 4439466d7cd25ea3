package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// mainImports marks where a file's imports go (see formatGo).
func (g *generator) mainImports() string { return importsMarker }

// svrMain renders <app>_svr.go: main, the service description and API registration.
func (g *generator) svrMain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n// Command %s_svr runs the %s service: %s_svr -f %s_svr.conf [-d] [-s start|stop|restart|status].\npackage main\n\n",
		Header, g.app, g.app, g.app, g.app)
	b.WriteString(g.mainImports())
	fmt.Fprintf(&b, "\nfunc main() {\n\tservice.Main(app())\n}\n")
	fmt.Fprintf(&b, "\n// app describes the %s service to the svrkit runtime.\nfunc app() service.App {\n\treturn service.App{\n\t\tName: %q,\n\t\tRegister: register,\n\t\tInit: initProcess,\n\t\tSelf: selfHandlers(),\n\t}\n}\n", g.app, g.app)
	b.WriteString(g.selfTable())
	fmt.Fprintf(&b, "\n// register registers every rpc API of %s on s. Each wrapper decodes the positional\n// msgpack params into typed arguments and calls the handler in %s_rpc_handler.go.\n", g.app, g.app)
	b.WriteString("func register(s *transport.Server, cfg *workers.Config) error {\n")
	for _, api := range g.spec.Server.APIs {
		b.WriteString(g.registration(api))
	}
	b.WriteString("\treturn nil\n}\n")
	return b.String()
}

// selfTable renders selfHandlers: each self group's handler (in its own
// <app>_self_<group>_handler.go, or Self in <app>_self_handler.go for simple dispatch).
func (g *generator) selfTable() string {
	s := g.spec.Self
	if s == nil {
		return "\n// selfHandlers is empty: the IDL has no self_server.\nfunc selfHandlers() map[string]workers.SelfFunc {\n\treturn nil\n}\n"
	}
	var b strings.Builder
	if s.DispatchType == "simple" {
		fmt.Fprintf(&b, "\n// selfHandlers maps the simple self server to Self (%s_self_handler.go).\n", g.app)
		b.WriteString("func selfHandlers() map[string]workers.SelfFunc {\n\treturn map[string]workers.SelfFunc{\"simple\": Self}\n}\n")
		return b.String()
	}
	var files []string
	for _, grp := range s.Groups {
		files = append(files, g.app+"_self_"+grp.Name+"_handler.go")
	}
	fmt.Fprintf(&b, "\n// selfHandlers maps each custom self_server group to its handler, one file each\n// (%s).\n", strings.Join(files, ", "))
	b.WriteString("func selfHandlers() map[string]workers.SelfFunc {\n\treturn map[string]workers.SelfFunc{\n")
	for _, grp := range s.Groups {
		fmt.Fprintf(&b, "\t\t%q: Self%s,\n", grp.Name, grp.GoName)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

func (g *generator) registration(api *idl.API) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\ts.Register(%q, func(ctx context.Context, params []byte) (any, error) {\n", api.Name)
	var names, ptrs, wire []string
	for _, f := range api.Args {
		fmt.Fprintf(&b, "\t\tvar %s %s\n", f.GoName, g.goType(f.Type, g.pkg+"."))
		names = append(names, f.GoName)
		ptrs = append(ptrs, "&"+f.GoName)
		wire = append(wire, fmt.Sprintf("%q", f.Name))
	}
	namesExpr := "nil"
	if len(wire) > 0 {
		namesExpr = "[]string{" + strings.Join(wire, ", ") + "}"
	}
	dst := ""
	if len(ptrs) > 0 {
		dst = ", " + strings.Join(ptrs, ", ")
	}
	fmt.Fprintf(&b, "\t\tif err := codec.DecodeParams(params, %s%s); err != nil {\n\t\t\treturn nil, err\n\t\t}\n", namesExpr, dst)
	call := api.GoName + "(" + strings.Join(append([]string{"ctx"}, names...), ", ") + ")"
	if api.Ret.Kind == idl.RetNone {
		fmt.Fprintf(&b, "\t\treturn nil, %s\n", call)
	} else {
		fmt.Fprintf(&b, "\t\treturn %s\n", call)
	}
	b.WriteString("\t})\n")
	return b.String()
}
