package main

import (
	"context"
	"errors"
	"net"
	"net/rpc"
	"sync/atomic"
)

// The net/rpc contender (stdlib, gob encoding). It has no one-way call.

// EchoMsg is the payload: one string field.
type EchoMsg struct{ Value string }

// NetRPCEcho is the net/rpc service (exported for net/rpc's reflection).
type NetRPCEcho struct{ n atomic.Int64 }

// Echo returns its argument.
func (e *NetRPCEcho) Echo(args *EchoMsg, reply *EchoMsg) error {
	*reply = *args
	return nil
}

// Count returns the number of Echo calls (net/rpc has no notifications).
func (e *NetRPCEcho) Count(_ int, reply *int64) error {
	*reply = e.n.Load()
	return nil
}

func serveNetRPC(ln net.Listener) (stop func()) {
	s := rpc.NewServer()
	if err := s.RegisterName("Echo", &NetRPCEcho{}); err != nil {
		panic(err) // a programming error in this file
	}
	done := make(chan struct{})
	go func() { // rpc.Server.Accept would log the listener's close
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go s.ServeConn(nc)
		}
	}()
	return func() {
		ln.Close()
		<-done
	}
}

type netRPCConn struct {
	c  *rpc.Client
	in EchoMsg
}

func dialNetRPC(ctx context.Context, addr string, shared bool) (conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &netRPCConn{c: rpc.NewClient(nc), in: EchoMsg{Value: "testtest"}}, nil
}

func (c *netRPCConn) call(ctx context.Context) error {
	var out EchoMsg
	if err := c.c.Call("Echo.Echo", &c.in, &out); err != nil {
		return err
	}
	if out.Value != "testtest" {
		return errors.New("net/rpc: echo mismatch")
	}
	return nil
}

func (c *netRPCConn) notify(ctx context.Context) error { return errUnsupported }

func (c *netRPCConn) count(ctx context.Context) (int64, error) {
	var n int64
	err := c.c.Call("Echo.Count", 0, &n)
	return n, err
}

func (c *netRPCConn) close() error { return c.c.Close() }
