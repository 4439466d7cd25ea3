package service

import "context"

// Role says what the process calling App.Init runs; see RoleOf.
type Role struct {
	Kind  string // RoleMaster, RoleRPC or RoleSelf
	Group string // RoleSelf: the worker's self group
	Index int    // RoleRPC, RoleSelf: the worker's index, from 0
}

// The kinds of Role.
const (
	// RoleMaster is the master process (or Start, in-process): it serves rpc when
	// [rpc_server] worker_type is thread, and runs every self group's workers as
	// goroutines when [self_server] worker_type is thread.
	RoleMaster = "master"
	// RoleRPC is an rpc worker process ([rpc_server] worker_type process).
	RoleRPC = "rpc"
	// RoleSelf is a self worker process of one group ([self_server] worker_type
	// process or process_coroutine).
	RoleSelf = "self"
)

type roleKey struct{}

// RoleOf returns the Role of the process, from the ctx App.Init is called with
// (RoleMaster for any other ctx).
func RoleOf(ctx context.Context) Role {
	if r, ok := ctx.Value(roleKey{}).(Role); ok {
		return r
	}
	return Role{Kind: RoleMaster}
}

// withRole returns ctx carrying role for App.Init.
func withRole(ctx context.Context, role Role) context.Context {
	return context.WithValue(ctx, roleKey{}, role)
}
