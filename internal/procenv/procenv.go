// Package procenv is the protocol between a svrkit process and the processes it starts
// from its own binary: the environment variables and inherited fds that tell a worker
// process its role and a new master what it inherits in a graceful restart, and the ready
// pipes on which a child reports that it started. Every variable and fd number is named
// here and nowhere else.
package procenv

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/svrkit/svrkit/internal/names"
)

const (
	envRole  = "SVRKIT_ROLE"  // RoleRPC or RoleSelf
	envGroup = "SVRKIT_GROUP" // self group name
	envIndex = "SVRKIT_INDEX" // worker index within the rpc pool or self group

	envHandoffListen = "SVRKIT_HANDOFF_LISTEN_FD" // a new master's inherited listening socket
	envHandoffPid    = "SVRKIT_HANDOFF_PID_FD"    // a new master's inherited, locked pidfile
)

// ListenFD is the fd of the inherited listening socket in an rpc worker process: the
// first exec.Cmd.ExtraFiles entry.
const ListenFD = 3

// Role kinds of a worker process.
const (
	RoleRPC  = "rpc"
	RoleSelf = "self"
)

// Role is what a worker process was started to do.
type Role struct {
	Kind  string // RoleRPC or RoleSelf
	Group string // self group ("" for rpc)
	Index int    // worker index
}

// Env returns the environment entries describing r (to append to os.Environ()).
func (r Role) Env() []string {
	env := []string{envRole + "=" + r.Kind, envIndex + "=" + strconv.Itoa(r.Index)}
	if r.Kind == RoleSelf {
		env = append(env, envGroup+"="+r.Group)
	}
	return env
}

// String names the role as logs and ps show it: "rpc worker 2", "self event worker 0".
func (r Role) String() string {
	if r.Kind == RoleSelf {
		return names.SelfWorker(r.Group, r.Index)
	}
	return names.RPCWorker(r.Index)
}

// RoleFromEnv reports the role this process was started with; ok is false for a process
// not started as a worker (the master, or a plain run).
func RoleFromEnv() (r Role, ok bool, err error) {
	kind := os.Getenv(envRole)
	if kind == "" {
		return Role{}, false, nil
	}
	if kind != RoleRPC && kind != RoleSelf {
		return Role{}, true, fmt.Errorf("%s=%q (allowed: %s | %s)", envRole, kind, RoleRPC, RoleSelf)
	}
	idx, err := strconv.Atoi(os.Getenv(envIndex))
	if err != nil || idx < 0 {
		return Role{}, true, fmt.Errorf("%s=%q is not a worker index", envIndex, os.Getenv(envIndex))
	}
	r = Role{Kind: kind, Index: idx, Group: os.Getenv(envGroup)}
	if kind == RoleSelf && r.Group == "" {
		return Role{}, true, fmt.Errorf("%s=self without %s", envRole, envGroup)
	}
	return r, true, nil
}

// HandoffEnv returns the environment entries telling a new master, in a graceful
// restart, that it inherits the listening socket as fd listenFD and the locked pidfile as
// fd pidFD.
func HandoffEnv(listenFD, pidFD int) []string {
	return []string{envHandoffListen + "=" + strconv.Itoa(listenFD), envHandoffPid + "=" + strconv.Itoa(pidFD)}
}

// TakeHandoff returns the listening socket and pidfile this master inherited from its
// predecessor in a graceful restart, or nil, nil, nil when it was started otherwise. It
// clears the variables and marks the fds close-on-exec so workers do not inherit them.
func TakeHandoff() (listener, pidFile *os.File, err error) {
	lv, pv := os.Getenv(envHandoffListen), os.Getenv(envHandoffPid)
	if lv == "" && pv == "" {
		return nil, nil, nil
	}
	os.Unsetenv(envHandoffListen)
	os.Unsetenv(envHandoffPid)
	lfd, err1 := strconv.Atoi(lv)
	pfd, err2 := strconv.Atoi(pv)
	if err1 != nil || err2 != nil || lfd < 3 || pfd < 3 {
		return nil, nil, fmt.Errorf("bad inherited fds %s=%q %s=%q", envHandoffListen, lv, envHandoffPid, pv)
	}
	syscall.CloseOnExec(lfd)
	syscall.CloseOnExec(pfd)
	return os.NewFile(uintptr(lfd), "inherited-listener"), os.NewFile(uintptr(pfd), "inherited-pidfile"), nil
}
