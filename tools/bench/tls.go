package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"time"

	"github.com/svrkit/svrkit/examples/echo/api/echo"
	"github.com/svrkit/svrkit/transport"
)

// benchCert is a throw-away self-signed certificate for 127.0.0.1 (ECDSA
// P-256): the TLS contenders' server certificate and the client's only root.
type benchCert struct {
	certPEM, keyPEM []byte
	client          *tls.Config
}

func newBenchCert() (*benchCert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "svrkit bench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &benchCert{
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		client:  &tls.Config{RootCAs: pool},
	}, nil
}

// dialSvrkitTLS is dialSvrkit over TLS trusting bc.
func dialSvrkitTLS(bc *benchCert) func(ctx context.Context, addr string, shared bool) (conn, error) {
	return func(ctx context.Context, addr string, shared bool) (conn, error) {
		c, err := transport.Dial(ctx, addr, transport.ClientOptions{TLS: bc.client})
		if err != nil {
			return nil, err
		}
		return &svrkitConn{c: c, in: echo.Echomsg{Value: "testtest"}}, nil
	}
}
