// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"

	"github.com/svrkit/svrkit/workers"
)

// SelfA is one worker of the self server group "a" (process workers, 1 of them).
// It must return soon after ctx is done. Returning nil ends this worker for good;
// an error (or a panic) restarts it after a backoff.
func SelfA(ctx context.Context, w workers.Worker) error {
	w.Log.Info("self worker running; edit this handler to give it work")
	<-ctx.Done()
	return nil
}
