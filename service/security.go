package service

import (
	"log/slog"
	"net"

	"github.com/svrkit/svrkit/workers"
)

// checkSecurity reads the TLS and token files the conf names, so that a start
// fails at once, in the master, with an error naming the conf file, the key
// and the file (each rpc process reads them again as it starts).
func checkSecurity(cfg *workers.Config) error {
	if _, err := cfg.ServerTLS(); err != nil {
		return err
	}
	_, err := cfg.AuthTokens()
	return err
}

// warnInsecure logs a warning naming addr when the rpc server listens on an
// address other than loopback with neither TLS nor a token file.
func warnInsecure(log *slog.Logger, cfg *workers.Config, addr net.Addr) {
	if cfg.RPC.TLSCert != "" || cfg.RPC.AuthTokenFile != "" {
		return
	}
	if a, ok := addr.(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return
	}
	log.Warn("rpc server listens on a non-loopback address with neither TLS nor a token: anyone who can reach it can call every API "+
		"(set [rpc_server] tls_cert and tls_key, or auth_token_file; see docs/SECURITY.md)", "addr", addr.String())
}
