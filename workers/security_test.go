package workers

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/svrkit/svrkit/internal/testcert"
)

const secBase = "[app]\nname=a\npid=p\n[rpc_server]\nip=127.0.0.1\nport=1\nworker_type=thread\nworker_sum=1\n"

func TestSecurityKeys(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "ca")
	ca.WriteFile(t, dir, "ca")
	ca.Server(t).WriteFiles(t, dir, "server")
	os.WriteFile(filepath.Join(dir, "tokens"), []byte("# ops\ntok-1\ntok-2\n"), 0o600)
	conf := filepath.Join(dir, "a_svr.conf")
	c, err := ParseConfig([]byte(secBase+"tls_cert=server.crt\ntls_key="+filepath.Join(dir, "server.key")+"\ntls_client_ca=ca.crt\nauth_token_file=tokens\n"), conf)
	if err != nil {
		t.Fatal(err)
	}
	if c.RPC.TLSCert != filepath.Join(dir, "server.crt") || c.RPC.TLSClientCA != filepath.Join(dir, "ca.crt") || c.RPC.AuthTokenFile != filepath.Join(dir, "tokens") {
		t.Fatalf("paths not resolved next to the conf: %+v", c.RPC)
	}
	if err := c.Verify(); err != nil {
		t.Fatal(err)
	}
	cfg, err := c.ServerTLS()
	if err != nil || len(cfg.Certificates) != 1 || cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("ServerTLS: %+v %v", cfg, err)
	}
	if toks, err := c.AuthTokens(); err != nil || strings.Join(toks, ",") != "tok-1,tok-2" {
		t.Fatalf("AuthTokens: %q %v", toks, err)
	}

	plain, err := ParseConfig([]byte(secBase), conf)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := plain.ServerTLS(); cfg != nil || err != nil {
		t.Fatalf("no TLS keys: %v %v", cfg, err)
	}
	if toks, err := plain.AuthTokens(); toks != nil || err != nil {
		t.Fatalf("no token file: %v %v", toks, err)
	}

	// Unreadable files: errors name the conf file, the key and the file.
	bad, err := ParseConfig([]byte(secBase+"tls_cert=nope.crt\ntls_key=nope.key\nauth_token_file=no-tokens\n"), conf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.ServerTLS(); err == nil || !strings.Contains(err.Error(), conf+": [rpc_server] tls_cert") || !strings.Contains(err.Error(), "nope.crt") {
		t.Fatalf("ServerTLS: %v", err)
	}
	if _, err := bad.AuthTokens(); err == nil || !strings.Contains(err.Error(), conf+": [rpc_server] auth_token_file") || !strings.Contains(err.Error(), "no-tokens") {
		t.Fatalf("AuthTokens: %v", err)
	}

	for extra, want := range map[string]string{
		"tls_cert=a.crt\n":       "[rpc_server] tls_key: missing",
		"tls_key=a.key\n":        "[rpc_server] tls_cert: missing",
		"tls_client_ca=ca.crt\n": "[rpc_server] tls_client_ca: set without tls_cert",
	} {
		if _, err := ParseConfig([]byte(secBase+extra), conf); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", extra, err, want)
		}
	}
}
