// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"

	"github.com/svrkit/svrkit/examples/echo/api/echo"
)

// Echo handles the rpc "echo". The result is sent back as msgpack; a non-nil error
// becomes the response's error string.
func Echo(ctx context.Context, msg echo.Echomsg) (any, error) {
	return msg.Value, nil
}
