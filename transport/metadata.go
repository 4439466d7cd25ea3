package transport

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/svrkit/svrkit/codec"
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

type outgoingKey struct{}

// WithMetadata returns a ctx whose outgoing metadata is ctx's with md's
// entries added (md wins on a clash). A Client sends it with every call made
// with that ctx, to a server that speaks the per-call context extension
// (docs/WIRE.md); to a plain msgpack-rpc server it is not sent. Keys must
// follow the Metadata rules and stay within the codec.MaxMeta* limits, and
// must not start with MetadataPrefix: a call whose metadata breaks a rule
// fails before it is sent. A handler's incoming metadata (MetadataFrom) is
// not sent on its onward calls unless it passes it on with WithMetadata.
// md may be kept as is: do not modify it afterwards.
func WithMetadata(ctx context.Context, md Metadata) context.Context {
	old := OutgoingMetadata(ctx)
	if old == nil {
		return context.WithValue(ctx, outgoingKey{}, md) // md is not copied: do not modify it
	}
	all := make(Metadata, len(old)+len(md))
	for k, v := range old {
		all[k] = v
	}
	for k, v := range md {
		all[k] = v
	}
	return context.WithValue(ctx, outgoingKey{}, all)
}

// OutgoingMetadata returns the metadata a Client sends with calls made with
// ctx (see WithMetadata); nil when there is none. Do not modify it.
func OutgoingMetadata(ctx context.Context) Metadata {
	md, _ := ctx.Value(outgoingKey{}).(Metadata)
	return md
}

// checkOutgoing tells why md cannot be sent, or nil: the limits a server
// checks (codec.ParseCallExt), and no key the user may not set.
func checkOutgoing(md Metadata) error {
	if len(md) > codec.MaxMetaEntries {
		return fmt.Errorf("metadata: %d entries, at most %d", len(md), codec.MaxMetaEntries)
	}
	size := 0
	for k, v := range md {
		switch {
		case !codec.ValidMetaKey(k):
			return fmt.Errorf("metadata key %q: want 1 to %d bytes of a-z 0-9 - _ .", k, codec.MaxMetaKeyLen)
		case strings.HasPrefix(k, MetadataPrefix):
			return fmt.Errorf("metadata key %q: the prefix %q is reserved for svrkit", k, MetadataPrefix)
		case len(v) > codec.MaxMetaValueLen:
			return fmt.Errorf("metadata %q: value of %d bytes, at most %d", k, len(v), codec.MaxMetaValueLen)
		}
		size += len(k) + len(v)
	}
	if size > codec.MaxMetaSize {
		return fmt.Errorf("metadata: %d bytes of keys and values, at most %d", size, codec.MaxMetaSize)
	}
	return nil
}
