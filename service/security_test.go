package service

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/internal/testcert"
	"github.com/svrkit/svrkit/transport"
)

// secure writes a server certificate from ca and a token file holding token
// into f's dir, and (once) the [rpc_server] keys naming them into its conf.
func (f *fakeSvr) secure(ca *testcert.CA, token string) {
	f.t.Helper()
	ca.Server(f.t).WriteFiles(f.t, f.dir, "server")
	if err := os.WriteFile(filepath.Join(f.dir, "tokens"), []byte("# accepted tokens\n"+token+"\n"), 0o600); err != nil {
		f.t.Fatal(err)
	}
	b, err := os.ReadFile(f.conf)
	if err != nil {
		f.t.Fatal(err)
	}
	if strings.Contains(string(b), "tls_cert=") {
		return
	}
	// The fake conf ends in [rpc_server] (no self section): the keys land there,
	// paths relative to the conf's directory.
	b = append(b, "tls_cert=server.crt\ntls_key=server.key\nauth_token_file=tokens\n"...)
	if err := os.WriteFile(f.conf, b, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// securePid calls "pid" over TLS trusting ca, sending token ("" = none); it
// returns the error text (of the dial or the call) and the serving pid.
func securePid(t *testing.T, addr string, ca *testcert.CA, token string) (string, int) {
	t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		return err.Error(), 0
	}
	md := map[string]string{}
	if token != "" {
		md[transport.AuthMetadataKey] = token
	}
	errMsg, res := extCallOn(t, nc, "pid", 0, md)
	pid, _ := res.(int64)
	return errMsg, int(pid)
}

// TestTLSAndTokensBothWorkerModels: in both worker models the server speaks
// only TLS and checks tokens from the conf's files; a graceful restart reads
// them again: the new certificate is served, the old token is refused and
// the new one accepted.
func TestTLSAndTokensBothWorkerModels(t *testing.T) {
	for _, model := range []string{"thread", "process"} {
		t.Run(model, func(t *testing.T) {
			f := newFakeSvr(t, model, 2, "")
			ca := testcert.NewCA(t, "ca-1")
			f.secure(ca, "token-1")
			pid := f.start()
			errMsg, servedBy := securePid(t, f.addr, ca, "token-1")
			if errMsg != "" || servedBy == 0 || (model == "process") != (servedBy != pid) {
				t.Fatalf("TLS call with the token: %q, served by %d (master %d)", errMsg, servedBy, pid)
			}
			for _, tok := range []string{"", "token-2"} {
				if errMsg, _ := securePid(t, f.addr, ca, tok); !strings.HasPrefix(errMsg, transport.UnauthenticatedMessage) {
					t.Fatalf("token %q: %q", tok, errMsg)
				}
			}
			if err := call(t, f.addr, "pid", nil); err == nil {
				t.Fatal("a plaintext call got through")
			}

			// Rotation: new certificate (from a new CA) and new token, then restart.
			ca2 := testcert.NewCA(t, "ca-2")
			f.secure(ca2, "token-2")
			out, errOut, code := f.run("-f", f.conf, "-s", "restart")
			m := startedRE.FindStringSubmatch(out)
			if code != 0 || m == nil {
				t.Fatalf("restart: %d %q %q\nlog:\n%s", code, out, errOut, f.log())
			}
			newPid, _ := strconv.Atoi(m[1])
			t.Cleanup(func() { f.stopAndCheck(newPid) })
			if errMsg, _ := securePid(t, f.addr, ca2, "token-2"); errMsg != "" {
				t.Fatalf("new token after the restart: %q", errMsg)
			}
			if errMsg, _ := securePid(t, f.addr, ca2, "token-1"); !strings.HasPrefix(errMsg, transport.UnauthenticatedMessage) {
				t.Fatalf("old token after the restart: %q", errMsg)
			}
			if errMsg, _ := securePid(t, f.addr, ca, "token-2"); !strings.Contains(errMsg, "certificate signed by unknown authority") {
				t.Fatalf("old CA after the restart: %q", errMsg)
			}
			if strings.Contains(f.log(), "neither TLS nor a token") {
				t.Errorf("warned about a secured loopback server:\n%s", f.log())
			}
			if !strings.Contains(f.log(), "TLS handshake failed") {
				t.Errorf("refused handshakes not logged:\n%s", f.log())
			}
		})
	}
}

// TestUnreadableTokenFile: a token file that cannot be read fails the start
// with an error naming the conf key and the file; on a graceful restart the
// new master fails the same way and the old one keeps serving.
func TestUnreadableTokenFile(t *testing.T) {
	for _, model := range []string{"thread", "process"} {
		t.Run(model, func(t *testing.T) {
			f := newFakeSvr(t, model, 1, "")
			ca := testcert.NewCA(t, "ca")
			f.secure(ca, "tok")
			tokens := filepath.Join(f.dir, "tokens")
			os.Rename(tokens, tokens+".away")
			out, errOut, code := f.run("-f", f.conf, "-d")
			if code == 0 || !strings.Contains(errOut, "[rpc_server] auth_token_file") || !strings.Contains(errOut, tokens) {
				t.Fatalf("start without the token file: %d %q %q", code, out, errOut)
			}
			os.Rename(tokens+".away", tokens)
			pid := f.start()
			os.Rename(tokens, tokens+".away")
			out, errOut, code = f.run("-f", f.conf, "-s", "restart")
			if code == 0 || !strings.Contains(errOut, "[rpc_server] auth_token_file") {
				t.Fatalf("restart without the token file: %d %q %q", code, out, errOut)
			}
			if errMsg, servedBy := securePid(t, f.addr, ca, "tok"); errMsg != "" || servedBy == 0 {
				t.Fatalf("old master after the failed restart: %q %d", errMsg, servedBy)
			}
			_ = pid
		})
	}
}

// TestInsecureWarning: a server on a non-loopback address with neither TLS
// nor a token logs a warning naming the address.
func TestInsecureWarning(t *testing.T) {
	f := newFakeSvr(t, "thread", 1, "")
	b, _ := os.ReadFile(f.conf)
	os.WriteFile(f.conf, []byte(strings.Replace(string(b), "ip=127.0.0.1", "ip=0.0.0.0", 1)), 0o644)
	f.start()
	_, port, _ := net.SplitHostPort(f.addr)
	for _, line := range strings.Split(f.log(), "\n") {
		if strings.Contains(line, "neither TLS nor a token") && strings.Contains(line, fmt.Sprintf(":%s", port)) && strings.Contains(line, "level=WARN") {
			return
		}
	}
	t.Fatalf("no warning naming the address:\n%s", f.log())
}
