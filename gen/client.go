package gen

import (
	"fmt"
	"strings"

	"github.com/svrkit/svrkit/gen/idl"
)

// clientFile renders <app>/<app>_cli.go: the typed client.
func (g *generator) clientFile() string {
	var b strings.Builder
	a := g.app
	fmt.Fprintf(&b, `%s

package %s

%s
// Client calls the %s service through the router (hashring or sharding, as in
// %s_cli.conf). It is safe for concurrent use.
type Client struct {
	rc *router.Client
}

// NewClient reads the client config %s_cli.conf at confPath and returns a client, like
// pysvrkit's Client(conf, id). The optional id is the sharding id (sharding mode) or the
// hash ring key (hashring mode); without it a hashring client picks a random key.
func NewClient(confPath string, id ...int64) (*Client, error) {
	rc, err := router.Open(confPath, id...)
	if err != nil {
		return nil, fmt.Errorf("%s: NewClient: %%w", err)
	}
	return &Client{rc: rc}, nil
}

// NewClientFromConfig returns a client for an already loaded config.
func NewClientFromConfig(cfg *router.Config, opts router.Options) (*Client, error) {
	rc, err := router.New(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: NewClientFromConfig: %%w", err)
	}
	return &Client{rc: rc}, nil
}

// Close closes the client's connections.
func (c *Client) Close() error { return c.rc.Close() }
`, Header, a, importsMarker, a, a, a, a, a)
	for _, api := range g.spec.Server.APIs {
		b.WriteString(g.clientMethod(api))
	}
	return b.String()
}

func (g *generator) params(api *idl.API, qual string) (decl string, names []string) {
	parts := []string{"ctx context.Context"}
	for _, f := range api.Args {
		parts = append(parts, f.GoName+" "+g.goType(f.Type, qual))
		names = append(names, f.GoName)
	}
	return strings.Join(parts, ", "), names
}

func (g *generator) clientMethod(api *idl.API) string {
	var b strings.Builder
	decl, names := g.params(api, "")
	// The arguments travel in a struct of their own that encodes itself
	// (transport.Args); router.CallWith and NotifyWith reuse its storage and the reply's.
	args := "router.NoArgs{}"
	if len(names) > 0 {
		fields := make([]string, len(names))
		for i, n := range names {
			fields[i] = n + ": " + n
		}
		args = argsType(api) + "{" + strings.Join(fields, ", ") + "}"
	}
	opt := "router.CallOptions{}"
	if api.Idempotent {
		opt = "router.CallOptions{Idempotent: true}"
	}
	switch api.Ret.Kind {
	case idl.RetNone:
		fmt.Fprintf(&b, "\n// %s sends the one-way notification %q: no reply; nil means it was sent.\n", api.GoName, api.Name)
		fmt.Fprintf(&b, "func (c *Client) %s(%s) error {\n\treturn router.NotifyWith(ctx, c.rc, %q, %s, %s)\n}\n", api.GoName, decl, api.Name, args, opt)
	case idl.RetAny:
		fmt.Fprintf(&b, "\n// %s calls %q and returns its result decoded generically (string, bool, int64,\n// float64, []any, map[string]any or nil).\n", api.GoName, api.Name)
		fmt.Fprintf(&b, "func (c *Client) %s(%s) (any, error) {\n", api.GoName, decl)
		fmt.Fprintf(&b, "\treply, err := router.CallWith[any](ctx, c.rc, %q, %s, %s)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\treturn reply, nil\n}\n", api.Name, args, opt)
	case idl.RetTyped:
		t := g.goType(api.Ret.Type, "")
		fmt.Fprintf(&b, "\n// %s calls %q and returns its %s result.\n", api.GoName, api.Name, api.Ret.Type)
		fmt.Fprintf(&b, "func (c *Client) %s(%s) (%s, error) {\n", api.GoName, decl, t)
		fmt.Fprintf(&b, "\treturn router.CallWith[%s](ctx, c.rc, %q, %s, %s)\n}\n", t, api.Name, args, opt)
	}
	if len(names) > 0 {
		b.WriteString(g.argsStruct(api))
	}
	return b.String()
}

// argsType names the struct holding api's arguments: echoArgs for "echo".
func argsType(api *idl.API) string { return idl.ArgsType(api.GoName) }

// argsStruct renders api's arguments struct and its transport.Args method. Strings,
// bools, ints, floats and flat protos (selfAppending) append themselves; other
// values go through codec.AppendValue, as a []any of them would.
func (g *generator) argsStruct(api *idl.API) string {
	var b strings.Builder
	t := argsType(api)
	fmt.Fprintf(&b, "\n// %s holds the arguments of %q; it encodes them (transport.Args).\ntype %s struct {\n", t, api.Name, t)
	for _, f := range api.Args {
		fmt.Fprintf(&b, "\t%s %s\n", f.GoName, g.goType(f.Type, ""))
	}
	b.WriteString("}\n")
	var body strings.Builder
	fmt.Fprintf(&body, "\tb = codec.AppendArrayHeader(b, %d)\n", len(api.Args))
	fallible, ret := false, "\treturn b, nil\n"
	for i, f := range api.Args {
		selfAppends := f.Type.Kind == idl.ProtoKind && selfAppending(g.proto(f.Type.Proto))
		switch {
		case scalarAppend(f.Type.Kind) != "":
			fmt.Fprintf(&body, "\tb = %s(b, a.%s)\n", scalarAppend(f.Type.Kind), f.GoName)
		case selfAppends && i == len(api.Args)-1:
			ret = fmt.Sprintf("\treturn a.%s.AppendMsgpack(b)\n", f.GoName)
		case selfAppends:
			fallible = true
			fmt.Fprintf(&body, "\tif b, err = a.%s.AppendMsgpack(b); err != nil {\n\t\treturn b, err\n\t}\n", f.GoName)
		default:
			fallible = true
			fmt.Fprintf(&body, "\tif b, err = codec.AppendValue(b, a.%s); err != nil {\n\t\treturn b, fmt.Errorf(\"argument %s: %%w\", err)\n\t}\n", f.GoName, f.Name)
		}
	}
	results := "([]byte, error)"
	if fallible {
		results = "(_ []byte, err error)"
	}
	fmt.Fprintf(&b, "\n// AppendParams appends the params array.\nfunc (a *%s) AppendParams(b []byte) %s {\n%s%s}\n", t, results, body.String(), ret)
	return b.String()
}

// proto returns the proto named name (validated specs have it).
func (g *generator) proto(name string) *idl.Proto {
	for _, p := range g.spec.Protos {
		if p.Name == name {
			return p
		}
	}
	panic("gen: unknown proto " + name)
}
