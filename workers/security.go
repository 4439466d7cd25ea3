package workers

import (
	"crypto/tls"
	"fmt"

	"github.com/svrkit/svrkit/internal/secfiles"
)

// ServerTLS reads [rpc_server] tls_cert, tls_key and tls_client_ca into the
// rpc server's TLS configuration (mutual TLS when tls_client_ca is set); nil
// when tls_cert is unset (plaintext). Errors name the conf file, section and
// key, and the file that could not be used.
func (c *Config) ServerTLS() (*tls.Config, error) {
	r := c.RPC
	if r.TLSCert == "" {
		return nil, nil
	}
	cfg, err := secfiles.ServerTLS(r.TLSCert, r.TLSKey, r.TLSClientCA)
	if err != nil {
		return nil, fmt.Errorf("workers: %s: [rpc_server] tls_cert, tls_key, tls_client_ca: %w", c.Path, err)
	}
	return cfg, nil
}

// AuthTokens reads [rpc_server] auth_token_file: the tokens the rpc server
// accepts (transport.TokenAuth); nil when the key is unset. A file that cannot
// be read or holds no token is an error naming the conf file and the key.
func (c *Config) AuthTokens() ([]string, error) {
	if c.RPC.AuthTokenFile == "" {
		return nil, nil
	}
	tokens, err := secfiles.Tokens(c.RPC.AuthTokenFile)
	if err != nil {
		return nil, fmt.Errorf("workers: %s: [rpc_server] auth_token_file: %w", c.Path, err)
	}
	return tokens, nil
}
