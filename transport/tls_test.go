package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/internal/testcert"
)

// tlsServer starts the test server with TLS from ca's server certificate (or
// cert when given), logging to the returned buffer.
func tlsServer(t *testing.T, cfg *tls.Config, opts ServerOptions) (*testServer, *syncBuffer) {
	t.Helper()
	var logBuf syncBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	opts.TLS = cfg
	return startServer(t, opts), &logBuf
}

func serverTLS(leaf *testcert.Leaf) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
}

func dialTLS(t *testing.T, addr string, cfg *tls.Config) (*Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, ClientOptions{TLS: cfg})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// waitStat polls the server's counters until ok says yes (a signal the
// server gives no other way), failing after 10 s.
func waitStat(t *testing.T, s *Server, what string, ok func(ServerStats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(s.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: stats %+v", what, s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// wantLogged checks that the log has a handshake failure naming the peer and
// containing reason.
func wantLogged(t *testing.T, log *syncBuffer, peer, reason string) {
	t.Helper()
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "TLS handshake failed") && strings.Contains(line, peer) && strings.Contains(line, reason) {
			return
		}
	}
	t.Fatalf("no handshake failure logged for %s with %q:\n%s", peer, reason, log.String())
}

func TestTLSCalls(t *testing.T) {
	ca := testcert.NewCA(t, "test CA")
	ts, _ := tlsServer(t, serverTLS(ca.Server(t)), ServerOptions{})
	c, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	echoOK(t, c, "over TLS")
	done := make(chan error, 20)
	for i := range 20 {
		go func() {
			var n int64
			err := c.Call(context.Background(), "add", &n, i, 1)
			if err == nil && n != int64(i+1) {
				err = errors.New("wrong sum")
			}
			done <- err
		}()
	}
	for range 20 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// The caller-reads receiver works over TLS: a call with a short deadline
	// times out (the read deadline fires) and the connection goes on.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, "block", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("block: %v", err)
	}
	echoOK(t, c, "after a timed-out call")
	if st := ts.Stats(); st.TLSFailed != 0 || st.Conns != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMutualTLS(t *testing.T) {
	ca, other := testcert.NewCA(t, "test CA"), testcert.NewCA(t, "other CA")
	cfg := serverTLS(ca.Server(t))
	cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, ca.Pool()
	ts, log := tlsServer(t, cfg, ServerOptions{})

	good := ca.Client(t, "good")
	c, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{good.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	echoOK(t, c, "mTLS")

	stranger := other.Client(t, "stranger")
	for i, cert := range []*tls.Certificate{&stranger.TLS, nil} {
		// With TLS 1.3 the client's handshake ends before the server has checked
		// its certificate: the refusal arrives on the first call.
		// GetClientCertificate sends the stranger's certificate although the
		// server asks for ones from its CA.
		c, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool(), GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		}})
		if err == nil {
			err = c.Call(context.Background(), "echo", nil, "x")
		}
		// In TLS 1.3 the server checks the client's certificate after the
		// client's handshake is done: the client learns of the refusal from
		// the alert, or, when its hello's write meets the closed socket
		// first, as a broken connection (the server logs the reason).
		if err == nil || !strings.Contains(err.Error(), "certificate") && !errors.Is(err, ErrBroken) {
			t.Fatalf("client %d: want a certificate error, got %v", i, err)
		}
		waitStat(t, ts.Server, "the refused handshake", func(s ServerStats) bool { return s.TLSFailed == int64(i+1) })
	}
	wantLogged(t, log, "127.0.0.1", "certificate signed by unknown authority")
	wantLogged(t, log, "127.0.0.1", "didn't provide a certificate")
	echoOK(t, c, "still served")
}

func TestTLSExpiredCert(t *testing.T) {
	ca := testcert.NewCA(t, "test CA")
	ts, log := tlsServer(t, serverTLS(ca.Expired(t)), ServerOptions{})
	_, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool()})
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "TLS handshake with "+ts.addr) {
		t.Fatalf("want an expired-certificate error naming the server, got %v", err)
	}
	waitStat(t, ts.Server, "the refused handshake", func(s ServerStats) bool { return s.TLSFailed == 1 && s.Conns == 0 })
	wantLogged(t, log, "127.0.0.1", "bad certificate")
}

func TestTLSPlaintextClient(t *testing.T) {
	ca := testcert.NewCA(t, "test CA")
	ts, log := tlsServer(t, serverTLS(ca.Server(t)), ServerOptions{})
	nc := rawConn(t, ts.addr)
	if _, err := nc.Write(req(t, 1, "echo", nil, "plain")); err != nil {
		t.Fatal(err)
	}
	got := readClosed(t, nc)
	if len(got) > 0 && got[0] != 0x15 { // at most a TLS alert record
		t.Fatalf("plaintext client got % x", got)
	}
	waitStat(t, ts.Server, "the refused handshake", func(s ServerStats) bool { return s.TLSFailed == 1 && s.Conns == 0 })
	wantLogged(t, log, nc.LocalAddr().String(), "does not look like a TLS handshake")
	c, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	echoOK(t, c, "TLS after a plaintext client")
}

func TestTLSClientPlaintextServer(t *testing.T) {
	ca := testcert.NewCA(t, "test CA")
	ts := startServer(t, ServerOptions{})
	_, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool()})
	if err == nil || !strings.Contains(err.Error(), "TLS handshake with "+ts.addr) {
		t.Fatalf("want a handshake error, got %v", err)
	}
	echoOK(t, dial(t, ts.addr), "plaintext still served")
}

// TestTLSStalledHandshake: connections that send nothing or half a
// ClientHello are closed after HandshakeTimeout, count against MaxConns
// meanwhile, and do not stop the server from serving others.
func TestTLSStalledHandshake(t *testing.T) {
	ca := testcert.NewCA(t, "test CA")
	ts, log := tlsServer(t, serverTLS(ca.Server(t)), ServerOptions{HandshakeTimeout: 300 * time.Millisecond, MaxConns: 3})
	c, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	silent, half := rawConn(t, ts.addr), rawConn(t, ts.addr)
	// A record header announcing a 512-byte handshake message, and 4 bytes of it.
	if _, err := half.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc}); err != nil {
		t.Fatal(err)
	}
	waitStat(t, ts.Server, "three connections", func(s ServerStats) bool { return s.Conns == 3 })
	echoOK(t, c, "while two handshakes stall")
	// A fourth connection is refused at accept: the stalled ones count.
	if _, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool()}); err == nil {
		t.Fatal("a connection beyond max_conns got through")
	}
	waitStat(t, ts.Server, "the refusal", func(s ServerStats) bool { return s.Refused == 1 })
	for _, nc := range []net.Conn{silent, half} {
		if got := readClosed(t, nc); len(got) > 0 && got[0] != 0x15 {
			t.Fatalf("stalled client got % x", got)
		}
		wantLogged(t, log, nc.LocalAddr().String(), "i/o timeout")
	}
	waitStat(t, ts.Server, "the stalled connections gone", func(s ServerStats) bool { return s.Conns == 1 && s.TLSFailed == 2 })
	c2, err := dialTLS(t, ts.addr, &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	echoOK(t, c2, "after the stalled ones")
	echoOK(t, c, "first client still")
}

// TestTLSShutdownClosesHandshakes: Shutdown does not wait for a stalled
// handshake (HandshakeTimeout is far beyond Shutdown's deadline).
func TestTLSShutdownClosesHandshakes(t *testing.T) {
	ca := testcert.NewCA(t, "test CA")
	ts, _ := tlsServer(t, serverTLS(ca.Server(t)), ServerOptions{HandshakeTimeout: time.Hour})
	silent := rawConn(t, ts.addr)
	waitStat(t, ts.Server, "the stalled connection", func(s ServerStats) bool { return s.Conns == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	readClosed(t, silent)
}

// TestPythonTLSTokenClient: a plain Python client (ssl + msgpack) calls a
// TLS server that checks tokens.
func TestPythonTLSTokenClient(t *testing.T) {
	needPython(t)
	ca := testcert.NewCA(t, "test CA")
	caFile := ca.WriteFile(t, t.TempDir(), "ca")
	ts := startServer(t, ServerOptions{TLS: serverTLS(ca.Server(t)), Middleware: []Middleware{TokenAuth([]string{"py-token"})}})
	host, port, _ := strings.Cut(ts.addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, script(t, "py_secure_client.py"), host, port, caFile, "py-token").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("python client: %v\n%s", err, out)
	}
}
