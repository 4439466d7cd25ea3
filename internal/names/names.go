// Package names owns svrkit's naming rules: which app and self group names are valid
// (the IDL parser in gen/idl and the <app>_svr.conf parser in workers both check them
// here, so a generated conf always loads and a conf never accepts a name the IDL refuses),
// and how processes and workers are named in logs and in ps.
package names

import (
	"fmt"
	"strconv"
)

// MaxLen bounds app and group names, which make up file names such as
// <app>_self_<group>_handler.go (at most 255 bytes on common file systems).
const MaxLen = 100

// Simple is the name of the one self group of dispatch_type simple.
const Simple = "simple"

// What App and Group accept, for error messages.
const (
	AppRule   = "an ASCII letter followed by letters, digits and _"
	GroupRule = "an ASCII letter followed by letters, digits, _ and -"
)

// App checks an app name: AppRule, at most MaxLen bytes. The generator adds the rules of
// Go package names (no keyword, not main).
func App(name string) error { return check(name, AppRule, false) }

// Group checks a self group name: GroupRule, at most MaxLen bytes. '_' and '-' are fine
// because a worker's identity is never parsed back out of a joined string.
func Group(name string) error { return check(name, GroupRule, true) }

func check(name, rule string, dash bool) error {
	if !valid(name, dash) {
		return fmt.Errorf("bad name %q (allowed: %s)", name, rule)
	}
	if len(name) > MaxLen {
		return fmt.Errorf("name is %d characters (allowed: at most %d; it is part of file names)", len(name), MaxLen)
	}
	return nil
}

func valid(s string, dash bool) bool {
	if s == "" || !letter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !letter(c) && !(c >= '0' && c <= '9') && c != '_' && !(dash && c == '-') {
			return false
		}
	}
	return true
}

func letter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// Title is the argv[0] of an app's processes, shown by ps: "<app>_svr: <what>", e.g.
// "echo_svr: master".
func Title(app, what string) string { return app + "_svr: " + what }

// Master names the master process.
const Master = "master"

// RPCWorker names rpc worker process index: "rpc worker 2".
func RPCWorker(index int) string { return "rpc worker " + strconv.Itoa(index) }

// SelfWorker names worker index of a self group: "self event worker 0".
func SelfWorker(group string, index int) string {
	return "self " + group + " worker " + strconv.Itoa(index)
}
