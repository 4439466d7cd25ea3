// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"

	"github.com/svrkit/svrkit/bazel/testdata/shapes/customcoroutine/api/customcoroutine"
)

// Echo handles the rpc "echo". The result is sent back as msgpack; a non-nil error
// becomes the response's error string.
func Echo(ctx context.Context, m customcoroutine.Msg) (any, error) {
	return m.Value, nil
}

// Note handles the one-way notification "note"; the caller gets no reply.
func Note(ctx context.Context, n int64) error {
	return nil
}
