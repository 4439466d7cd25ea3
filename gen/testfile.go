package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// testFile renders <app>_test.go: start the service in-process, call every API once.
func (g *generator) testFile() string {
	var b strings.Builder
	q := g.pkg + "."
	fmt.Fprintf(&b, "%s\n\npackage main\n\n%s", Header, g.mainImports())
	fmt.Fprintf(&b, `
// TestAPIs starts the %[1]s service in this process and calls every rpc API once through
// the generated client with sample arguments. It checks that every call succeeds (no
// transport, decoding or handler error) and logs each reply (go test -v shows them); it
// asserts nothing about the values, so it keeps passing when you give the handlers real
// work. Check your handlers' results in a test file of your own, with startTestService.
func TestAPIs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli := startTestService(t)
`, g.app)
	for _, api := range g.spec.Server.APIs {
		b.WriteString(g.testCall(api))
	}
	fmt.Fprintf(&b, `}

// startTestService starts the %[1]s service in this process (rpc server on 127.0.0.1 at a
// free port, thread model, one of each self worker as a goroutine) and returns a client
// connected to it. Both are stopped when the test ends.
func startTestService(t testing.TB) *%[2]sClient {
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
	return cli
}
`, q)
	return b.String()
}

func (g *generator) testCall(api *idl.API) string {
	var b strings.Builder
	q := g.pkg + "."
	args := []string{"ctx"}
	for _, f := range api.Args {
		args = append(args, g.sample(f.Type, q))
	}
	call := "cli." + api.GoName + "(" + strings.Join(args, ", ") + ")"
	fmt.Fprintf(&b, "\n\tt.Run(%q, func(t *testing.T) {\n", api.Name)
	if api.Ret.Kind == idl.RetNone {
		fmt.Fprintf(&b, "\t\tif err := %s; err != nil {\n\t\t\tt.Fatalf(\"%s: %%v\", err)\n\t\t}\n\t})\n", call, api.Name)
		return b.String()
	}
	fmt.Fprintf(&b, "\t\tgot, err := %s\n\t\tif err != nil {\n\t\t\tt.Fatalf(\"%s: %%v\", err)\n\t\t}\n", call, api.Name)
	fmt.Fprintf(&b, "\t\tt.Logf(\"%s returned %%#v\", got)\n", api.Name)
	b.WriteString("\t})\n")
	return b.String()
}
