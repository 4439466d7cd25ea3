package secfiles

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/svrkit/svrkit/internal/testcert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tokens")
	os.WriteFile(p, []byte("# comment\n\n  first  \nsecond\n\t\n#third\n"), 0o600)
	got, err := Tokens(p)
	if err != nil || !slices.Equal(got, []string{"first", "second"}) {
		t.Fatalf("Tokens: %q %v", got, err)
	}
	if tok, err := Token(p); tok != "first" || err != nil {
		t.Fatalf("Token: %q %v", tok, err)
	}
	for name, content := range map[string]string{"empty": "# only a comment\n\n", "long": strings.Repeat("x", 5000)} {
		q := filepath.Join(dir, name)
		os.WriteFile(q, []byte(content), 0o600)
		if _, err := Tokens(q); err == nil || !strings.Contains(err.Error(), q) {
			t.Fatalf("%s: want an error naming the file, got %v", name, err)
		}
	}
	missing := filepath.Join(dir, "missing")
	if _, err := Tokens(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing: %v", err)
	}
	unreadable := filepath.Join(dir, "unreadable")
	os.Mkdir(unreadable, 0o700) // a directory: open works, read fails, even as root
	if _, err := Tokens(unreadable); err == nil || !strings.Contains(err.Error(), unreadable) {
		t.Fatalf("unreadable: %v", err)
	}
}

func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.NewCA(t, "ca")
	caFile := ca.WriteFile(t, dir, "ca")
	cert, key := ca.Server(t).WriteFiles(t, dir, "server")
	cfg, err := ServerTLS(cert, key, caFile)
	if err != nil || len(cfg.Certificates) != 1 || cfg.ClientCAs == nil {
		t.Fatalf("ServerTLS: %+v %v", cfg, err)
	}
	if cfg, err = ClientTLS(caFile, cert, key, "localhost"); err != nil || cfg.RootCAs == nil || cfg.ServerName != "localhost" || len(cfg.Certificates) != 1 {
		t.Fatalf("ClientTLS: %+v %v", cfg, err)
	}
	for _, f := range []func() error{
		func() error { _, err := ServerTLS(cert, filepath.Join(dir, "nokey"), ""); return err },
		func() error { _, err := ServerTLS(cert, key, key); return err },
		func() error { _, err := ClientTLS(filepath.Join(dir, "noca"), "", "", ""); return err },
	} {
		if err := f(); err == nil || !strings.Contains(err.Error(), dir) {
			t.Fatalf("want an error naming the file, got %v", err)
		}
	}
}
