package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/svrkit/svrkit/workers"
)

// conn is one client of a contender. call and count may be used by many
// goroutines at once when the conn was dialled shared.
type conn interface {
	call(ctx context.Context) error           // one echo round trip, reply checked
	notify(ctx context.Context) error         // one one-way message (errUnsupported if none)
	count(ctx context.Context) (int64, error) // one-way messages delivered so far (server side)
	close() error
}

// contender is one system under test.
type contender struct {
	name  string
	start func(ctx context.Context, e *env) (*server, error)
	// dial returns a client; shared means several goroutines will use it.
	dial func(ctx context.Context, addr string, shared bool) (conn, error)
	// idle opens one connection that the server has fully set up.
	idle func(addr string) (net.Conn, error)
}

// simpleServers are the peers' servers, by child kind.
var simpleServers = map[string]func(ln net.Listener) (stop func()){
	"raw":    serveRaw,
	"grpc":   serveGRPC,
	"netrpc": serveNetRPC,
}

func startSimple(kind string) func(ctx context.Context, e *env) (*server, error) {
	return func(ctx context.Context, e *env) (*server, error) {
		if !e.inproc {
			return spawn(ctx, e.place, kind, []string{"127.0.0.1:0"}, true, "", nil)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		stop := simpleServers[kind](ln)
		return &server{addr: ln.Addr().String(), note: "in-process", stop: func() error { stop(); return nil }}, nil
	}
}

// serveSimpleChild runs a peer server as a child: listen on os.Args[1],
// print the address, serve until SIGTERM.
func serveSimpleChild(kind string) int {
	serve, ok := simpleServers[kind]
	if !ok || len(os.Args) < 2 {
		fmt.Fprintf(os.Stderr, "bench child: unknown server kind %q or no address\n", kind)
		return 2
	}
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	stop := serve(ln)
	fmt.Println(ln.Addr().String())
	<-ctx.Done()
	stop()
	return 0
}

func plainIdle(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, 5*time.Second) }

// pickContenders lists the contenders; withTLS adds "svrkit <model> TLS" for
// each model (the same service with [rpc_server] tls_cert and tls_key).
func pickContenders(peers, models string, withRouter, withTLS bool) ([]contender, error) {
	var cs []contender
	for _, p := range splitList(peers) {
		switch p {
		case "raw":
			cs = append(cs, contender{name: "raw TCP", start: startSimple("raw"), dial: dialRaw, idle: plainIdle})
		case "grpc":
			cs = append(cs, contender{name: "gRPC-Go", start: startSimple("grpc"), dial: dialGRPC, idle: grpcIdle})
		case "netrpc":
			cs = append(cs, contender{name: "net/rpc", start: startSimple("netrpc"), dial: dialNetRPC, idle: plainIdle})
		default:
			return nil, fmt.Errorf("-peers: unknown %q (allowed: raw, grpc, netrpc)", p)
		}
	}
	ms := splitList(models)
	if len(ms) == 0 && len(cs) == 0 {
		return nil, fmt.Errorf("-models, -peers: nothing to run (need a model: thread, process, or a peer)")
	}
	for _, m := range ms {
		if m != workers.Thread && m != workers.Process {
			return nil, fmt.Errorf("-models: unknown %q (allowed: thread, process)", m)
		}
		cs = append(cs, contender{name: "svrkit " + m, start: svrkitStarter(m, nil), dial: dialSvrkit, idle: plainIdle})
	}
	if withTLS && len(ms) > 0 {
		bc, err := newBenchCert()
		if err != nil {
			return nil, fmt.Errorf("-tls: %w", err)
		}
		for _, m := range ms {
			cs = append(cs, contender{name: "svrkit " + m + " TLS", start: svrkitStarter(m, bc), dial: dialSvrkitTLS(bc)})
		}
	}
	if withRouter && len(ms) > 0 {
		cs = append(cs,
			contender{name: "svrkit " + ms[0] + " +echo client", start: svrkitStarter(ms[0], nil), dial: dialGenerated, idle: nil},
			contender{name: "svrkit " + ms[0] + " +echo client, registry", start: svrkitStarter(ms[0], nil), dial: dialGeneratedRegistry, idle: nil})
	}
	return cs, nil
}

// svrkitStarter starts the svrkit echo service in model; over TLS with bc's
// certificate when bc is not nil.
func svrkitStarter(model string, bc *benchCert) func(ctx context.Context, e *env) (*server, error) {
	return func(ctx context.Context, e *env) (*server, error) { return startSvrkit(ctx, e, model, bc) }
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
