package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// rpcHandlers renders a user's rpc handler file: one stub per API in apis.
func (g *generator) rpcHandlers(apis []*idl.API) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", userHeader, g.mainImports())
	for _, api := range apis {
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

// initHandler renders the user's <app>_init_handler.go: the start-up hook.
func (g *generator) initHandler() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", userHeader, g.mainImports())
	b.WriteString(`
// initProcess runs once in every process of the service before it serves: open
// databases, load models, check your own conf sections here. service.RoleOf(ctx) says
// which role the process runs (an rpc worker, a self group's worker, or the thread
// model's master that runs both); cfg.Section("name") reads your own [name] section of
// the conf file. ctx is cancelled when the start is abandoned. An error fails the start:
// nothing is left running and "-d" reports it.
//
// To wrap every rpc call the process serves (auth, logging, metrics), append a
// transport.Middleware to cfg.Middleware here: it sees the method, the caller
// (transport.PeerFrom(ctx)), the caller's metadata (transport.MetadataFrom(ctx)) and
// the outcome, and refuses a call by returning an error.
func initProcess(ctx context.Context, cfg *workers.Config) error {
	return nil
}
`)
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
