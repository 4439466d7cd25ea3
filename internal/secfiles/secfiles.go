// Package secfiles loads the files the conf files name for security: TLS
// certificates and keys into a *tls.Config, and token files into a list of
// accepted tokens. Errors name the file.
package secfiles

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/svrkit/svrkit/codec"
)

// MaxTokenFile bounds a token file's size.
const MaxTokenFile = 1 << 20

// ServerTLS returns the server's TLS configuration: the certificate chain in
// certFile with the key in keyFile, and, when clientCA is not "", mutual TLS:
// every client must present a certificate signed by a CA in clientCA.
func ServerTLS(certFile, keyFile, clientCA string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		if cfg.ClientCAs, err = pool(clientCA); err != nil {
			return nil, err
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientTLS returns a client's TLS configuration: servers are verified
// against the CAs in caFile ("" means the system's), the client presents the
// certificate in certFile with keyFile when given (mutual TLS), and
// serverName, when not "", is the name the server's certificate must carry
// (else the host of the address dialled).
func ClientTLS(caFile, certFile, keyFile, serverName string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: serverName, MinVersion: tls.VersionTLS12}
	var err error
	if caFile != "" {
		if cfg.RootCAs, err = pool(caFile); err != nil {
			return nil, err
		}
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load certificate %s and key %s: %w", certFile, keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func pool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("CA file %s: no PEM certificate in it", file)
	}
	return p, nil
}

// Tokens reads a token file: one token per line, surrounding spaces trimmed,
// blank lines and lines starting with # ignored. A file that cannot be read,
// is larger than MaxTokenFile, holds no token or a token longer than
// codec.MaxMetaValueLen (it could never be sent) is an error.
func Tokens(file string) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read token file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxTokenFile+1))
	if err != nil {
		return nil, fmt.Errorf("read token file %s: %w", file, err)
	}
	if len(data) > MaxTokenFile {
		return nil, fmt.Errorf("token file %s: larger than %d bytes", file, MaxTokenFile)
	}
	var tokens []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, MaxTokenFile+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if len(line) > codec.MaxMetaValueLen {
			return nil, fmt.Errorf("token file %s: line %d: token of %d bytes, at most %d", file, n, len(line), codec.MaxMetaValueLen)
		}
		tokens = append(tokens, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token file %s: %w", file, err)
	}
	if len(tokens) == 0 {
		return nil, errors.New("token file " + file + ": no token in it (one per line; blank and # lines are ignored)")
	}
	return tokens, nil
}

// Token returns the first token of a token file (what a client sends).
func Token(file string) (string, error) {
	t, err := Tokens(file)
	if err != nil {
		return "", err
	}
	return t[0], nil
}
