package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// connKind is one kind of connection the client and server suite runs over
// (forEachConn), as yamux's tests do: where a deadline-driven client would
// break, it breaks on one of these.
type connKind struct {
	name string
	// listen returns a listener and a dial to it.
	listen func(t testing.TB) (net.Listener, func() (io.ReadWriteCloser, error))
}

var connKinds = []connKind{
	{"pipe", listenPipe(false)},
	{"tcp", func(t testing.TB) (net.Listener, func() (io.ReadWriteCloser, error)) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return ln, func() (io.ReadWriteCloser, error) { return net.Dial("tcp", ln.Addr().String()) }
	}},
	{"unix", func(t testing.TB) (net.Listener, func() (io.ReadWriteCloser, error)) {
		path := filepath.Join(t.TempDir(), "s")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		return ln, func() (io.ReadWriteCloser, error) { return net.Dial("unix", path) }
	}},
	{"tls", listenTLS},
	// A plain io.ReadWriteCloser (no deadlines): the client reads on a goroutine.
	{"rwc", listenPipe(true)},
}

// forEachConn runs f once per connection kind, on a test server listening on it.
func forEachConn(t *testing.T, opts ServerOptions, f func(t *testing.T, ts *testServer)) {
	for _, k := range connKinds {
		t.Run(k.name, func(t *testing.T) {
			ln, dial := k.listen(t)
			f(t, startServerOn(t, opts, ln, dial))
		})
	}
}

// client returns a Client on a new connection to ts, closed at the end of the test.
func (ts *testServer) client(t testing.TB) *Client {
	t.Helper()
	conn, err := ts.dial()
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(conn, ClientOptions{})
	t.Cleanup(func() { c.Close() })
	return c
}

// plainRWC hides a connection's deadlines: only Read, Write and Close remain.
type plainRWC struct{ io.ReadWriteCloser }

// pipeListener accepts the server ends of net.Pipes.
type pipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func listenPipe(plain bool) func(t testing.TB) (net.Listener, func() (io.ReadWriteCloser, error)) {
	return func(t testing.TB) (net.Listener, func() (io.ReadWriteCloser, error)) {
		l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
		return l, func() (io.ReadWriteCloser, error) {
			cli, srv := net.Pipe()
			select {
			case l.conns <- srv:
			case <-l.done:
				return nil, net.ErrClosed
			}
			if plain {
				return plainRWC{cli}, nil
			}
			return cli, nil
		}
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// listenTLS listens on TCP with TLS, with a self-signed certificate for 127.0.0.1.
func listenTLS(t testing.TB) (net.Listener, func() (io.ReadWriteCloser, error)) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srvCfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	cliCfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
	return tls.NewListener(ln, srvCfg), func() (io.ReadWriteCloser, error) {
		return tls.Dial("tcp", ln.Addr().String(), cliCfg)
	}
}
