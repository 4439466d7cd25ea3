package router

import (
	"crypto/tls"
	"path/filepath"

	"github.com/svrkit/svrkit/internal/secfiles"
)

// Security is the TLS and token part of <app>_cli.conf's [server] section
// (docs/SECURITY.md). Paths are relative to the conf file's directory; ""
// means unset. The files are read by New.
type Security struct {
	TLSCA         string // tls_ca: PEM CA certificates the servers' certificates must chain to
	TLSCert       string // tls_cert: PEM client certificate, for servers that require mutual TLS
	TLSKey        string // tls_key: PEM private key of tls_cert
	TLSServerName string // tls_server_name: the name the servers' certificates must carry ("" = the host dialled)
	AuthTokenFile string // auth_token_file: the token sent with every call (its first token)
}

// TLS reports whether the connections speak TLS: any TLS key is set.
func (s Security) TLS() bool {
	return s.TLSCA != "" || s.TLSCert != "" || s.TLSKey != "" || s.TLSServerName != ""
}

// security reads [server]'s TLS and token keys.
func (p *parser) security() (Security, error) {
	get := func(key string) string {
		v, _ := p.f.Get("server", key)
		if v == "" || filepath.IsAbs(v) || key == "tls_server_name" || p.file == "" {
			return v
		}
		return filepath.Join(filepath.Dir(p.file), v)
	}
	s := Security{TLSCA: get("tls_ca"), TLSCert: get("tls_cert"), TLSKey: get("tls_key"),
		TLSServerName: get("tls_server_name"), AuthTokenFile: get("auth_token_file")}
	switch {
	case s.TLSCert != "" && s.TLSKey == "":
		return s, p.errf("server", "tls_key", "missing: tls_cert is set (want the path of its PEM private key)")
	case s.TLSKey != "" && s.TLSCert == "":
		return s, p.errf("server", "tls_cert", "missing: tls_key is set (want the path of its PEM certificate)")
	}
	return s, nil
}

// clientTLS reads the TLS files of s into a configuration; nil when s sets no
// TLS key. file names the conf in errors.
func (s Security) clientTLS(file string) (*tls.Config, error) {
	if !s.TLS() {
		return nil, nil
	}
	cfg, err := secfiles.ClientTLS(s.TLSCA, s.TLSCert, s.TLSKey, s.TLSServerName)
	if err != nil {
		return nil, &ConfigError{File: file, Section: "server", Key: "tls_ca, tls_cert, tls_key", Msg: err.Error()}
	}
	return cfg, nil
}

// token reads the token to send; "" when s has no token file.
func (s Security) token(file string) (string, error) {
	if s.AuthTokenFile == "" {
		return "", nil
	}
	tok, err := secfiles.Token(s.AuthTokenFile)
	if err != nil {
		return "", &ConfigError{File: file, Section: "server", Key: "auth_token_file", Msg: err.Error()}
	}
	return tok, nil
}

// applySecurity sets opts.Transport.TLS from cfg's TLS keys (unless set
// already) and returns the token to send ("" = none).
func applySecurity(cfg *Config, opts *Options) (string, error) {
	if opts.Transport.TLS == nil {
		tc, err := cfg.Security.clientTLS(cfg.file)
		if err != nil {
			return "", err
		}
		opts.Transport.TLS = tc
	}
	return cfg.Security.token(cfg.file)
}
