// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"

	servicepkg "example.com/svc/api/service"
)

// Go handles the rpc "go", which returns node. A non-nil error becomes the
// response's error string.
func Go(ctx context.Context, func_ servicepkg.Node, ctx_ []any, service_ float64, err_ string) (servicepkg.Node, error) {
	return func_, nil
}

// N handles the one-way notification "n"; the caller gets no reply.
func N(ctx context.Context) error {
	return nil
}

// Count handles the rpc "count". The result is sent back as msgpack; a non-nil error
// becomes the response's error string.
func Count(ctx context.Context, x int64) (any, error) {
	return x, nil
}

// K handles the rpc "k", which returns list<node>. A non-nil error becomes the
// response's error string.
func K(ctx context.Context, x int64, Count_ string, register_ bool) ([]servicepkg.Node, error) {
	return nil, nil
}
