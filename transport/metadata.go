package transport

import (
	"context"
	"net"
)

// Metadata is the string metadata a caller sent with a call (docs/WIRE.md,
// "Per-call context"): keys of lowercase ASCII letters, digits, '-', '_'
// and '.', within the codec.MaxMeta* limits. Keys starting with
// MetadataPrefix are svrkit's own. It is shared by every reader of the
// call's ctx: do not modify it.
type Metadata map[string]string

// MetadataPrefix starts the metadata keys reserved for svrkit itself.
const MetadataPrefix = "svrkit-"

type metadataKey struct{}

type connKey struct{}

// MetadataFrom returns the metadata the caller sent with the call whose
// handler got ctx; nil when it sent none.
func MetadataFrom(ctx context.Context) Metadata {
	md, _ := ctx.Value(metadataKey{}).(Metadata)
	return md
}

// PeerFrom returns the remote address of the connection the call whose
// handler got ctx came on; nil for a ctx that does not come from a Server.
func PeerFrom(ctx context.Context) net.Addr {
	if c, ok := ctx.Value(connKey{}).(*serverConn); ok {
		return c.nc.RemoteAddr()
	}
	return nil
}
