package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/examples/echo/api/echo"
	"github.com/svrkit/svrkit/router"
	"github.com/svrkit/svrkit/service"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

// echoApp is the seed's echo service as its generated echo_svr.go registers
// it (codec.DecodeParams into the generated proto struct echo.Echomsg, then
// the handler), except
// that the handler returns the whole struct (the same payload both ways, like
// the peers). "notify" counts one-way deliveries and "count" reports them;
// the counter is per process.
func echoApp() service.App {
	var delivered atomic.Int64
	return service.App{
		Name: "echo",
		Register: func(s *transport.Server, cfg *workers.Config) error {
			s.Register("echo", func(ctx context.Context, params []byte) (any, error) {
				var msg echo.Echomsg
				if err := codec.DecodeParams(params, []string{"msg"}, &msg); err != nil {
					return nil, err
				}
				return msg, nil
			})
			s.Register("notify", func(ctx context.Context, params []byte) (any, error) {
				var msg echo.Echomsg
				if err := codec.DecodeParams(params, []string{"msg"}, &msg); err != nil {
					return nil, err
				}
				delivered.Add(1)
				return nil, nil
			})
			s.Register("count", func(ctx context.Context, params []byte) (any, error) {
				return delivered.Load(), nil
			})
			return nil
		},
	}
}

// svrkitLog is the log file of the echo service in model, as svrConf configures it.
func svrkitLog(dir, model string) string { return filepath.Join(dir, "echo_"+model+".log") }

// svrConf writes an echo_svr.conf for model into dir and returns its path;
// with bc, the certificate and key files too and the keys naming them.
func svrConf(dir, model string, port, workerSum int, bc *benchCert) (string, error) {
	path := filepath.Join(dir, "echo_svr_"+model+".conf")
	conf := fmt.Sprintf(`[app]
name = echo
pid = %s
log = %s
stop_timeout = 5s

[rpc_server]
ip = 127.0.0.1
port = %d
worker_type = %s
worker_sum = %d
`, filepath.Join(dir, "echo_"+model+".pid"), svrkitLog(dir, model), port, model, workerSum)
	if bc != nil {
		cert, key := filepath.Join(dir, "bench.crt"), filepath.Join(dir, "bench.key")
		if err := os.WriteFile(cert, bc.certPEM, 0o600); err != nil {
			return "", err
		}
		if err := os.WriteFile(key, bc.keyPEM, 0o600); err != nil {
			return "", err
		}
		conf += "tls_cert = " + cert + "\ntls_key = " + key + "\n"
	}
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}

// startSvrkit starts the echo service in worker model ("thread" or
// "process"): in this process via service.Start (thread model, when inproc),
// otherwise as a real echo_svr child (this binary running service.Main).
func startSvrkit(ctx context.Context, e *env, model string, bc *benchCert) (*server, error) {
	if e.inproc && model == workers.Thread {
		path, err := svrConf(e.dir, model, 0, e.workerSum, bc)
		if err != nil {
			return nil, err
		}
		cfg, err := workers.LoadConfig(path)
		if err != nil {
			return nil, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		r, err := service.Start(ctx, echoApp(), cfg, ln)
		if err != nil {
			ln.Close()
			return nil, err
		}
		return &server{addr: r.Addr().String(), note: "in-process service.Start", stop: func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return r.Stop(sctx)
		}}, nil
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	path, err := svrConf(e.dir, model, port, e.workerSum, bc)
	if err != nil {
		return nil, err
	}
	// The master listens before its worker processes are up; it logs "started" once they all are.
	logPath := svrkitLog(e.dir, model)
	started := func() bool {
		b, _ := os.ReadFile(logPath)
		return bytes.Contains(b, []byte("msg=started"))
	}
	return spawn(ctx, e.place, "svrkit", []string{"-f", path}, false, fmt.Sprintf("127.0.0.1:%d", port), started)
}

// svrkitConn is one transport.Client connection.
type svrkitConn struct {
	c  *transport.Client
	in echo.Echomsg
}

func dialSvrkit(ctx context.Context, addr string, shared bool) (conn, error) {
	c, err := transport.Dial(ctx, addr, transport.ClientOptions{})
	if err != nil {
		return nil, err
	}
	return &svrkitConn{c: c, in: echo.Echomsg{Value: "testtest"}}, nil
}

func (c *svrkitConn) call(ctx context.Context) error {
	var out echo.Echomsg
	if err := c.c.Call(ctx, "echo", &out, c.in); err != nil {
		return err
	}
	if out.Value != "testtest" {
		return errors.New("svrkit: echo mismatch")
	}
	return nil
}

func (c *svrkitConn) notify(ctx context.Context) error { return c.c.Notify(ctx, "notify", c.in) }

func (c *svrkitConn) count(ctx context.Context) (n int64, err error) {
	err = c.c.Call(ctx, "count", &n)
	return n, err
}

func (c *svrkitConn) close() error { return c.c.Close() }

// genConn is the generated echo client (examples/echo/api/echo, what
// svrkit gen writes for the seed's svr.json: router.Client underneath, reply
// decoded generically) on a one-server hashring config. The echo IDL has no
// one-way API, so notify and count go through a router.Client of their own.
type genConn struct {
	gen *echo.Client
	rc  *router.Client
	in  echo.Echomsg
}

func dialGenerated(ctx context.Context, addr string, shared bool) (conn, error) {
	cfg := &router.Config{Mode: router.ModeHashring, Servers: []router.Server{{Name: "server0", Addr: addr, Weight: router.DefaultWeight}}}
	return dialGeneratedWith(cfg, router.Options{})
}

// dialGeneratedRegistry is dialGenerated with the server pushed by a
// registry, as the etcd and dnssrv packages push theirs: the steady-state
// call path of a client that follows a cluster (issue 14: within 5% of the
// static configuration).
func dialGeneratedRegistry(ctx context.Context, addr string, shared bool) (conn, error) {
	cfg := &router.Config{Mode: router.ModeHashring}
	return dialGeneratedWith(cfg, router.Options{Registry: pushed{addr}})
}

// pushed is a router.Registry with one member, pushed once.
type pushed struct{ addr string }

func (p pushed) Watch(ctx context.Context, update func(router.Snapshot)) error {
	update(router.Snapshot{Version: 1, Members: []router.Member{{Key: "bench/" + p.addr, Addr: p.addr}}})
	<-ctx.Done()
	return ctx.Err()
}

func dialGeneratedWith(cfg *router.Config, opts router.Options) (conn, error) {
	gen, err := echo.NewClientFromConfig(cfg, opts)
	if err != nil {
		return nil, err
	}
	rc, err := router.New(cfg, opts)
	if err != nil {
		gen.Close()
		return nil, err
	}
	return &genConn{gen: gen, rc: rc, in: echo.Echomsg{Value: "testtest"}}, nil
}

func (c *genConn) call(ctx context.Context) error {
	reply, err := c.gen.Echo(ctx, c.in)
	if err != nil {
		return err
	}
	if m, ok := reply.(map[string]any); !ok || m["value"] != "testtest" {
		return fmt.Errorf("generated client: echo mismatch: %#v", reply)
	}
	return nil
}

func (c *genConn) notify(ctx context.Context) error {
	return c.rc.Notify(ctx, "notify", []any{c.in}, router.CallOptions{})
}

func (c *genConn) count(ctx context.Context) (n int64, err error) {
	err = c.rc.Call(ctx, "count", &n, nil, router.CallOptions{})
	return n, err
}

func (c *genConn) close() error {
	c.gen.Close()
	return c.rc.Close()
}
