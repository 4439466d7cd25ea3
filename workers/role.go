package workers

import (
	"fmt"
	"os"
	"strconv"
)

// Environment variables a master sets for the worker processes it re-executes.
const (
	EnvRole     = "SVRKIT_ROLE"      // RoleRPC or RoleSelf
	EnvGroup    = "SVRKIT_GROUP"     // self group name
	EnvIndex    = "SVRKIT_INDEX"     // worker index within the rpc pool or self group
	EnvListenFD = "SVRKIT_LISTEN_FD" // rpc workers: the inherited listening socket's fd
)

// Role kinds.
const (
	RoleRPC  = "rpc"
	RoleSelf = "self"
)

// ListenFD is the fd number of the listening socket in rpc worker processes: the first
// exec.Cmd.ExtraFiles entry.
const ListenFD = 3

// Role is what a worker process was started to do.
type Role struct {
	Kind  string // RoleRPC or RoleSelf
	Group string // self group ("" for rpc)
	Index int    // worker index
}

// Env returns the environment entries describing r (to append to os.Environ()).
func (r Role) Env() []string {
	env := []string{EnvRole + "=" + r.Kind, EnvIndex + "=" + strconv.Itoa(r.Index)}
	if r.Kind == RoleSelf {
		env = append(env, EnvGroup+"="+r.Group)
	}
	if r.Kind == RoleRPC {
		env = append(env, EnvListenFD+"="+strconv.Itoa(ListenFD))
	}
	return env
}

// String names the role as ps shows it: "rpc worker 2", "self event worker 0".
func (r Role) String() string {
	if r.Kind == RoleSelf {
		return fmt.Sprintf("self %s worker %d", r.Group, r.Index)
	}
	return fmt.Sprintf("rpc worker %d", r.Index)
}

// Title is the argv[0] given to the process: "<app>_svr: <role>".
func (r Role) Title(app string) string { return Title(app, r.String()) }

// Title formats a process title: "<app>_svr: <what>", e.g. "echo_svr: master".
func Title(app, what string) string { return app + "_svr: " + what }

// RoleFromEnv reports the role this process was started with; ok is false for a process
// not started as a worker (the master, or a plain run).
func RoleFromEnv() (r Role, ok bool, err error) {
	kind := os.Getenv(EnvRole)
	if kind == "" {
		return Role{}, false, nil
	}
	if kind != RoleRPC && kind != RoleSelf {
		return Role{}, true, fmt.Errorf("workers: %s=%q (allowed: %s | %s)", EnvRole, kind, RoleRPC, RoleSelf)
	}
	idx, err := strconv.Atoi(os.Getenv(EnvIndex))
	if err != nil || idx < 0 {
		return Role{}, true, fmt.Errorf("workers: %s=%q is not a worker index", EnvIndex, os.Getenv(EnvIndex))
	}
	r = Role{Kind: kind, Index: idx, Group: os.Getenv(EnvGroup)}
	if kind == RoleSelf && r.Group == "" {
		return Role{}, true, fmt.Errorf("workers: %s=self without %s", EnvRole, EnvGroup)
	}
	return r, true, nil
}

// Group returns the self group named name, or false.
func (s *SelfConfig) Group(name string) (GroupConfig, bool) {
	if s == nil {
		return GroupConfig{}, false
	}
	for _, g := range s.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return GroupConfig{}, false
}
