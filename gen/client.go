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
	if len(id) > 1 {
		return nil, fmt.Errorf("%s: NewClient: at most one id, got %%d", len(id))
	}
	cfg, err := router.LoadConfig(confPath)
	if err != nil {
		return nil, fmt.Errorf("%s: NewClient: %%w", err)
	}
	var opts router.Options
	if len(id) == 1 {
		opts.HasID, opts.ID = true, id[0]
	}
	return NewClientFromConfig(cfg, opts)
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
func (c *Client) Close() error {
	return c.rc.Close()
}
`, Header, a, importsMarker, a, a, a, a, a, a)
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
	args := "nil"
	if len(names) > 0 {
		args = "[]any{" + strings.Join(names, ", ") + "}"
	}
	opt := "router.CallOptions{}"
	if api.Idempotent {
		opt = "router.CallOptions{Idempotent: true}"
	}
	switch api.Ret.Kind {
	case idl.RetNone:
		fmt.Fprintf(&b, "\n// %s sends the one-way notification %q: no reply; nil means it was sent.\n", api.GoName, api.Name)
		fmt.Fprintf(&b, "func (c *Client) %s(%s) error {\n\treturn c.rc.Notify(ctx, %q, %s, %s)\n}\n", api.GoName, decl, api.Name, args, opt)
	case idl.RetAny:
		fmt.Fprintf(&b, "\n// %s calls %q and returns its result decoded generically (string, bool, int64,\n// float64, []any, map[string]any or nil).\n", api.GoName, api.Name)
		fmt.Fprintf(&b, "func (c *Client) %s(%s) (any, error) {\n\tvar reply any\n", api.GoName, decl)
		fmt.Fprintf(&b, "\tif err := c.rc.Call(ctx, %q, &reply, %s, %s); err != nil {\n\t\treturn nil, err\n\t}\n\treturn reply, nil\n}\n", api.Name, args, opt)
	case idl.RetTyped:
		t := g.goType(api.Ret.Type, "")
		fmt.Fprintf(&b, "\n// %s calls %q and returns its %s result.\n", api.GoName, api.Name, api.Ret.Type)
		fmt.Fprintf(&b, "func (c *Client) %s(%s) (%s, error) {\n\tvar reply %s\n", api.GoName, decl, t, t)
		fmt.Fprintf(&b, "\tif err := c.rc.Call(ctx, %q, &reply, %s, %s); err != nil {\n\t\treturn reply, err\n\t}\n\treturn reply, nil\n}\n", api.Name, args, opt)
	}
	return b.String()
}
