package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// testFile renders <app>_test.go: start the service in-process, reach every API once.
func (g *generator) testFile() string {
	var b strings.Builder
	q := g.pkg + "."
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", Header, g.mainImports())
	fmt.Fprintf(&b, `
// TestAPIs starts the %[1]s service in this process and calls every rpc API once over a
// real connection with well-typed sample arguments: through the generated client, and
// notifications (ret false) as requests, so that the server's reply shows they arrived.
// It checks that every API is registered and reachable, and nothing about what the
// handlers do: a handler's own error reply counts as reachable, so it passes for any
// correct implementation. Test behaviour in files of your own, with startTestService.
func TestAPIs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
%[2]s`, g.app, g.testClients())
	for _, api := range g.spec.Server.APIs {
		b.WriteString(g.testCall(api))
	}
	fmt.Fprintf(&b, `}

// checkReached fails t unless err shows that api's handler ran: no error, or the
// handler's own error reply. An API that is not registered, arguments the server
// could not decode, and transport errors fail.
func checkReached(t *testing.T, api string, args []string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *transport.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("%%s: %%v", api, err)
	}
	if se.Message == "'"+api+"' method not found" {
		t.Fatalf("%%s is not registered: %%v", api, err)
	}
	bad := []string{fmt.Sprintf("expects %%d params, got ", len(args))}
	for i, a := range args {
		bad = append(bad, fmt.Sprintf("arg %%d (%%s): ", i, a))
	}
	for _, prefix := range bad {
		if strings.HasPrefix(se.Message, prefix) {
			t.Fatalf("%%s: the server could not decode the arguments: %%v", api, err)
		}
	}
	t.Logf("%%s: reached; the handler returned an error: %%v", api, err)
}

// startTestService starts the %[1]s service in this process (rpc server on 127.0.0.1 at a
// free port, thread model, one of each self worker as a goroutine) and returns a client
// connected to it. Both are stopped when the test ends.
func startTestService(t testing.TB) *%[2]sClient {
	t.Helper()
	cli, _ := startTestServer(t)
	return cli
}

// startTestServer is startTestService that also returns the server's address.
func startTestServer(t testing.TB) (*%[2]sClient, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &workers.Config{
		App: workers.AppConfig{Name: %[1]q, StopTimeout: 5 * time.Second},
		RPC: workers.RPCConfig{IP: "127.0.0.1", WorkerType: workers.Thread, WorkerSum: 4},
`, g.app, q)
	if s := g.spec.Self; s != nil {
		fmt.Fprintf(&b, "\t\tSelf: &workers.SelfConfig{DispatchType: %q, WorkerType: workers.Thread, Groups: []workers.GroupConfig{\n", s.DispatchType)
		if s.DispatchType == "simple" {
			b.WriteString("\t\t\t{Name: \"simple\", WorkerSum: 1, CoroutineSum: 1},\n")
		} else {
			for _, grp := range s.Groups {
				fmt.Fprintf(&b, "\t\t\t{Name: %q, WorkerSum: 1, CoroutineSum: 1},\n", grp.Name)
			}
		}
		b.WriteString("\t\t}},\n")
	}
	fmt.Fprintf(&b, `	}
	run, err := service.Start(context.Background(), app(), cfg, ln)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := run.Stop(ctx); err != nil {
			t.Errorf("stop: %%v", err)
		}
	})
	cli, err := %sNewClientFromConfig(&router.Config{
		Mode:    "hashring",
		Servers: []router.Server{{Addr: ln.Addr().String(), Weight: 100}},
	}, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli, ln.Addr().String()
}
`, q)
	return b.String()
}

// testClients starts the service in TestAPIs, with the generated client when some API
// returns a value and a raw transport client when some API is a notification.
func (g *generator) testClients() string {
	calls, notes := false, false
	for _, a := range g.spec.Server.APIs {
		if a.Ret.Kind == idl.RetNone {
			notes = true
		} else {
			calls = true
		}
	}
	cli, addr := "_", "_"
	if calls {
		cli = "cli"
	}
	if notes {
		addr = "addr"
	}
	s := fmt.Sprintf("\t%s, %s := startTestServer(t)\n", cli, addr)
	if cli == "_" && addr == "_" {
		s = "\tstartTestServer(t)\n"
	}
	if notes {
		s += "\traw, err := transport.Dial(ctx, addr, transport.ClientOptions{})\n\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n\tdefer raw.Close()\n"
	}
	return s
}

func (g *generator) testCall(api *idl.API) string {
	var b strings.Builder
	q := g.pkg + "."
	var samples, names []string
	for _, f := range api.Args {
		samples = append(samples, g.sample(f.Type, q))
		names = append(names, fmt.Sprintf("%q", f.Name))
	}
	namesExpr := "nil"
	if len(names) > 0 {
		namesExpr = "[]string{" + strings.Join(names, ", ") + "}"
	}
	fmt.Fprintf(&b, "\n\tt.Run(%q, func(t *testing.T) {\n", api.Name)
	if api.Ret.Kind == idl.RetNone {
		call := "raw.Call(" + strings.Join(append([]string{"ctx", fmt.Sprintf("%q", api.Name), "nil"}, samples...), ", ") + ")"
		fmt.Fprintf(&b, "\t\terr := %s\n\t\tcheckReached(t, %q, %s, err)\n\t})\n", call, api.Name, namesExpr)
		return b.String()
	}
	call := "cli." + api.GoName + "(" + strings.Join(append([]string{"ctx"}, samples...), ", ") + ")"
	fmt.Fprintf(&b, "\t\tgot, err := %s\n\t\tcheckReached(t, %q, %s, err)\n", call, api.Name, namesExpr)
	fmt.Fprintf(&b, "\t\tt.Logf(\"%s returned %%#v\", got)\n", api.Name)
	b.WriteString("\t})\n")
	return b.String()
}
