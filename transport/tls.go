package transport

import (
	"crypto/tls"
	"net"
	"time"
)

// This file holds the server's TLS handshake (ServerOptions.TLS): run per
// accepted connection in its own goroutine, so that a slow or silent client
// cannot hold up the accept loop, and bounded by HandshakeTimeout.

// startHandshake counts nc as open (MaxConns) and runs its TLS handshake in
// its own goroutine; Shutdown and Close close it if it is still shaking hands.
func (s *Server) startHandshake(nc net.Conn) {
	s.mu.Lock()
	if s.shutting {
		s.mu.Unlock()
		nc.Close()
		return
	}
	s.shaking[nc] = struct{}{}
	s.nconns.Add(1)
	s.mu.Unlock()
	go s.handshake(nc)
}

// handshake completes the TLS handshake of nc and serves it, or closes it and
// logs why (rate-limited): a plaintext client, a certificate the server or
// the client does not trust, an expired one, a handshake that stalled.
func (s *Server) handshake(nc net.Conn) {
	tc := tls.Server(nc, s.opts.TLS)
	if d := s.opts.HandshakeTimeout; d > 0 {
		nc.SetDeadline(time.Now().Add(d))
	}
	err := tc.Handshake()
	if err == nil {
		err = nc.SetDeadline(time.Time{})
	}
	s.mu.Lock()
	_, open := s.shaking[nc]
	delete(s.shaking, nc)
	s.mu.Unlock()
	if err == nil && open {
		s.startConn(tc, true)
		return
	}
	if open { // logged and counted before the close, which the peer sees
		s.warn(&s.connWarns, "transport: TLS handshake failed; connection closed", "remote", nc.RemoteAddr(), "err", err)
		s.tlsFailed.Add(1)
	}
	s.nconns.Add(-1)
	nc.Close()
}
