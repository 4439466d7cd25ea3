// This file was written once by svrkit gen and is yours to edit:
// svrkit gen never overwrites it (unless run with -force).

package main

import (
	"context"

	"github.com/svrkit/svrkit/workers"
)

// initProcess runs once in every process of the service before it serves: open
// databases, load models, check your own conf sections here. service.RoleOf(ctx) says
// which role the process runs (an rpc worker, a self group's worker, or the thread
// model's master that runs both); cfg.Section("name") reads your own [name] section of
// the conf file. ctx is cancelled when the start is abandoned. An error fails the start:
// nothing is left running and "-d" reports it.
//
// To wrap every rpc call the process serves (auth, logging, metrics), append a
// transport.Middleware to cfg.Middleware here: it sees the method, the caller
// (transport.PeerFrom(ctx)), the caller's metadata (transport.MetadataFrom(ctx)) and
// the outcome, and refuses a call by returning an error.
func initProcess(ctx context.Context, cfg *workers.Config) error {
	return nil
}
