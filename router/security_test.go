package router

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svrkit/svrkit/internal/testcert"
	"github.com/svrkit/svrkit/transport"
)

// startTLSServer serves "whoami" over mutual TLS to callers with the token
// "tok": the server's certificate from ca, clients' certificates must chain
// to ca too.
func startTLSServer(t *testing.T, ca *testcert.CA) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := transport.NewServer(transport.ServerOptions{TLS: &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()},
		Middleware: []transport.Middleware{transport.TokenAuth([]string{"tok"})}})
	srv.Register("whoami", func(ctx context.Context, params []byte) (any, error) { return "tls", nil })
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String()
}

// TestClientTLSFromConf: [server] tls_ca, tls_cert, tls_key and
// tls_server_name (paths relative to the conf) make the router dial with
// mutual TLS; a file that cannot be used fails New naming the conf and key.
func TestClientTLSFromConf(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "ca")
	addr := startTLSServer(t, ca)
	host, port, _ := net.SplitHostPort(addr)
	ca.WriteFile(t, dir, "ca")
	ca.Client(t, "router").WriteFiles(t, dir, "client")
	os.WriteFile(filepath.Join(dir, "token"), []byte("# mine\ntok\n"), 0o600)
	conf := filepath.Join(dir, "a_cli.conf")
	text := fmt.Sprintf("[server]\nsum=1\nmode=hashring\ntls_ca=ca.crt\ntls_cert=client.crt\ntls_key=client.key\ntls_server_name=localhost\nauth_token_file=token\n[server0]\nip=%s\nport=%s\n", host, port)
	os.WriteFile(conf, []byte(text), 0o644)
	cfg, err := LoadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	want := Security{TLSCA: filepath.Join(dir, "ca.crt"), TLSCert: filepath.Join(dir, "client.crt"), TLSKey: filepath.Join(dir, "client.key"),
		TLSServerName: "localhost", AuthTokenFile: filepath.Join(dir, "token")}
	if cfg.Security != want {
		t.Fatalf("security = %+v, want %+v", cfg.Security, want)
	}
	c, err := New(cfg, socketOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var who string
	if err := c.Call(context.Background(), "whoami", &who, nil, CallOptions{}); err != nil || who != "tls" {
		t.Fatalf("whoami over mTLS with the token: %q %v", who, err)
	}

	// Without the client certificate the server refuses the handshake.
	cfg.Security.TLSCert, cfg.Security.TLSKey = "", ""
	c2, err := New(cfg, socketOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Call(context.Background(), "whoami", &who, nil, CallOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("whoami without a client certificate: %v", err)
	}

	for key, sec := range map[string]Security{
		"tls_ca":          {TLSCA: filepath.Join(dir, "missing.crt")},
		"auth_token_file": {AuthTokenFile: filepath.Join(dir, "missing-token")},
	} {
		cfg.Security = sec
		if _, err := New(cfg, socketOptions()); err == nil || !strings.Contains(err.Error(), conf+": [server] "+key) || !strings.Contains(err.Error(), "missing") {
			t.Errorf("%s: %v", key, err)
		}
	}
	for text, want := range map[string]string{
		"tls_cert=c.crt\n": "[server] tls_key: missing",
		"tls_key=c.key\n":  "[server] tls_cert: missing",
	} {
		if _, err := ParseConfig([]byte("[server]\nsum=1\nmode=hashring\n"+text+"[server0]\nip=h\nport=1\n"), "c.conf"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}
}
