package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// rpcHandlers renders the user's <app>_rpc_handler.go: one stub per API.
func (g *generator) rpcHandlers() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", userHeader, g.mainImports())
	for _, api := range g.spec.Server.APIs {
		b.WriteString(g.handlerStub(api))
	}
	return b.String()
}

func (g *generator) handlerStub(api *idl.API) string {
	var b strings.Builder
	decl, _ := g.params(api, g.pkg+".")
	qual := g.pkg + "."
	e := g.echoOf(api)
	switch api.Ret.Kind {
	case idl.RetNone:
		fmt.Fprintf(&b, "\n// %s handles the one-way notification %q; the caller gets no reply.\n", api.GoName, api.Name)
		fmt.Fprintf(&b, "func %s(%s) error {\n\treturn nil\n}\n", api.GoName, decl)
	case idl.RetAny:
		fmt.Fprintf(&b, "\n// %s handles the rpc %q. The result is sent back as msgpack; a non-nil error\n// becomes the response's error string.\n", api.GoName, api.Name)
		ret := "nil"
		if e.ok {
			ret = e.expr
		}
		fmt.Fprintf(&b, "func %s(%s) (any, error) {\n\treturn %s, nil\n}\n", api.GoName, decl, ret)
	case idl.RetTyped:
		fmt.Fprintf(&b, "\n// %s handles the rpc %q, which returns %s. A non-nil error becomes the\n// response's error string.\n", api.GoName, api.Name, api.Ret.Type)
		ret := g.zero(api.Ret.Type, qual)
		if e.ok {
			ret = e.expr
		}
		fmt.Fprintf(&b, "func %s(%s) (%s, error) {\n\treturn %s, nil\n}\n", api.GoName, decl, g.goType(api.Ret.Type, qual), ret)
	}
	return b.String()
}

// selfBody is the body of a self handler stub: log once (w.Log carries the group, worker
// and coroutine), wait for stop.
const selfBody = `	w.Log.Info("self worker running; edit this handler to give it work")
	<-ctx.Done()
	return nil
`

// simpleSelf renders the user's <app>_self_handler.go for dispatch_type simple.
func (g *generator) simpleSelf() string {
	s := g.spec.Self
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", userHeader, g.mainImports())
	fmt.Fprintf(&b, "\n// Self is one worker of the simple self server (%s workers", s.WorkerType)
	if s.WorkerType == "process_coroutine" {
		fmt.Fprintf(&b, ": %d processes x %d goroutines", s.WorkerSum, s.CoroutineSum)
	} else {
		fmt.Fprintf(&b, ", %d of them", s.WorkerSum)
	}
	b.WriteString("), all doing the same job.\n// It must return soon after ctx is done. Returning nil ends this worker for good;\n// an error (or a panic) restarts it after a backoff.\n")
	fmt.Fprintf(&b, "func Self(ctx context.Context, w workers.Worker) error {\n%s}\n", selfBody)
	return b.String()
}

// customSelf renders the generated <app>_self_handler.go for dispatch_type custom.
func (g *generator) customSelf() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", Header, g.mainImports())
	b.WriteString("\n// selfHandlers maps each custom self_server group to its handler, one file each\n// (")
	var files []string
	for _, grp := range g.spec.Self.Groups {
		files = append(files, g.app+"_self_"+grp.Name+"_handler.go")
	}
	b.WriteString(strings.Join(files, ", "))
	b.WriteString(").\nfunc selfHandlers() map[string]workers.SelfFunc {\n\treturn map[string]workers.SelfFunc{\n")
	for _, grp := range g.spec.Self.Groups {
		fmt.Fprintf(&b, "\t\t%q: Self%s,\n", grp.Name, grp.GoName)
	}
	b.WriteString("\t}\n}\n")
	return b.String()
}

// groupSelf renders the user's <app>_self_<group>_handler.go.
func (g *generator) groupSelf(grp *idl.Group) string {
	s := g.spec.Self
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", userHeader, g.mainImports())
	fmt.Fprintf(&b, "\n// Self%s is one worker of the self server group %q (%s workers", grp.GoName, grp.Name, s.WorkerType)
	if s.WorkerType == "process_coroutine" {
		fmt.Fprintf(&b, ": %d processes x %d goroutines", grp.WorkerSum, grp.CoroutineSum)
	} else {
		fmt.Fprintf(&b, ", %d of them", grp.WorkerSum)
	}
	b.WriteString(").\n// It must return soon after ctx is done. Returning nil ends this worker for good;\n// an error (or a panic) restarts it after a backoff.\n")
	fmt.Fprintf(&b, "func Self%s(ctx context.Context, w workers.Worker) error {\n%s}\n", grp.GoName, selfBody)
	return b.String()
}
