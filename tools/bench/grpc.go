package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The gRPC-Go contender: unary Echo(StringValue) StringValue, a client stream
// Notify(stream StringValue) Empty as the one-way analogue (gRPC has no
// fire-and-forget), and Count(Empty) Int64Value. The service descriptor is
// written by hand, so no protoc is needed.
type grpcEcho struct{ count atomic.Int64 }

var grpcDesc = grpc.ServiceDesc{
	ServiceName: "bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Echo", Handler: grpcEchoHandler},
		{MethodName: "Count", Handler: grpcCountHandler},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Notify", Handler: grpcNotifyHandler, ClientStreams: true},
	},
}

func grpcEchoHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	return in, nil
}

func grpcCountHandler(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	if err := dec(new(emptypb.Empty)); err != nil {
		return nil, err
	}
	return wrapperspb.Int64(srv.(*grpcEcho).count.Load()), nil
}

func grpcNotifyHandler(srv any, stream grpc.ServerStream) error {
	s := srv.(*grpcEcho)
	var in wrapperspb.StringValue
	for {
		if err := stream.RecvMsg(&in); err != nil {
			if errors.Is(err, io.EOF) {
				return stream.SendMsg(&emptypb.Empty{})
			}
			return err
		}
		s.count.Add(1)
	}
}

func serveGRPC(ln net.Listener) (stop func()) {
	gs := grpc.NewServer()
	gs.RegisterService(&grpcDesc, &grpcEcho{})
	done := make(chan struct{})
	go func() { defer close(done); gs.Serve(ln) }()
	return func() {
		gs.Stop()
		<-done
	}
}

type grpcConn struct {
	cc     *grpc.ClientConn
	stream grpc.ClientStream
	in     *wrapperspb.StringValue
}

func dialGRPC(ctx context.Context, addr string, shared bool) (conn, error) {
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	c := &grpcConn{cc: cc, in: wrapperspb.String("testtest")}
	cc.Connect()
	if _, err := c.count(ctx); err != nil { // waits for the connection
		cc.Close()
		return nil, err
	}
	return c, nil
}

func (c *grpcConn) call(ctx context.Context) error {
	var out wrapperspb.StringValue
	if err := c.cc.Invoke(ctx, "/bench.Echo/Echo", c.in, &out); err != nil {
		return err
	}
	if out.Value != "testtest" {
		return errors.New("grpc: echo mismatch")
	}
	return nil
}

func (c *grpcConn) notify(ctx context.Context) error {
	if c.stream == nil {
		s, err := c.cc.NewStream(context.Background(), &grpcDesc.Streams[0], "/bench.Echo/Notify")
		if err != nil {
			return err
		}
		c.stream = s
	}
	return c.stream.SendMsg(c.in)
}

func (c *grpcConn) count(ctx context.Context) (int64, error) {
	var out wrapperspb.Int64Value
	if err := c.cc.Invoke(ctx, "/bench.Echo/Count", &emptypb.Empty{}, &out, grpc.WaitForReady(true)); err != nil {
		return 0, fmt.Errorf("grpc: count: %w", err)
	}
	return out.Value, nil
}

func (c *grpcConn) close() error {
	if c.stream != nil {
		c.stream.CloseSend()
		var e emptypb.Empty
		c.stream.RecvMsg(&e)
	}
	return c.cc.Close()
}

// grpcIdle opens a connection and does the HTTP/2 client preface with an
// empty SETTINGS frame, so the gRPC server sets up its per-connection
// transport as for a real (idle) client.
func grpcIdle(addr string) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00"
	if _, err := nc.Write([]byte(preface)); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}
