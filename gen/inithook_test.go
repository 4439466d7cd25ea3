package gen

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/gen/idl"
)

// hookInit is a user's <app>_init_handler.go: every process records its role in the
// directory named by its own [hook] section, and fails when [hook] fail names its role.
const hookInit = `package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/svrkit/svrkit/service"
	"github.com/svrkit/svrkit/workers"
)

func initProcess(ctx context.Context, cfg *workers.Config) error {
	r := service.RoleOf(ctx)
	name := r.Kind
	if r.Kind != service.RoleMaster {
		name = fmt.Sprintf("%s.%s.%d", r.Kind, r.Group, r.Index)
	}
	hook := cfg.Section("hook")
	if hook == nil {
		return errors.New("no [hook] section")
	}
	if hook["fail"] == r.Kind {
		return errors.New("hook refuses " + r.Kind)
	}
	return os.WriteFile(filepath.Join(hook["dir"], fmt.Sprintf("%s.%d", name, os.Getpid())), nil, 0o644)
}
`

// TestInitHook is issue 18 item 13: the user's init hook runs once in every process
// before it serves, knows its role, reads the user's own conf section, and an error from
// it fails "-d" with the error and leaves nothing running. Every worker model: the
// thread model (one master), rpc worker processes, and self workers as processes and
// as process_coroutine.
func TestInitHook(t *testing.T) {
	goBin, root, tmp := buildDir(t)
	spec, err := idl.Parse([]byte(nameIDL("hook")), "svr.json")
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, tmp)
	files, err := Generate(spec, Options{ImportPath: DefaultRuntime + "/" + filepath.ToSlash(rel)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(tmp, files, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "hook_init_handler.go"), []byte(hookInit), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := filepath.Join(tmp, "hook_svr")
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".")
	build.Dir = tmp
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	models := []struct {
		name, rpc, self, fail string
		want                  []string // roles that ran the hook
	}{
		{"thread", "thread", "thread", "", []string{"master"}},
		{"rpc process, self process", "process", "process", "", []string{"rpc..0", "rpc..1", "self.a.0"}},
		{"self process_coroutine", "thread", "process_coroutine\ncoroutine_sum=2", "", []string{"master", "self.a.0"}},
		{"fail in master", "thread", "thread", "master", nil},
		{"fail in rpc worker", "process", "process", "rpc", nil},
		{"fail in self worker", "thread", "process_coroutine\ncoroutine_sum=2", "self", nil},
	}
	for i, m := range models {
		t.Run(m.name, func(t *testing.T) {
			dir := filepath.Join(tmp, fmt.Sprint("run", i))
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			ln.Close()
			pid := filepath.Join(dir, "hook.pid")
			conf := filepath.Join(dir, "hook_svr.conf")
			src := fmt.Sprintf("[app]\nname=hook\npid=%s\nlog=%s\n\n[rpc_server]\nip=127.0.0.1\nport=%s\nworker_type=%s\nworker_sum=2\n\n"+
				"[self_server]\ndispatch_type=custom\nworker_type=%s\ngroup_sum=1\n\n[self_group0]\ngroup_name=a\nworker_sum=1\n\n[hook]\ndir=%s\nfail=%s\n",
				pid, filepath.Join(dir, "hook.log"), port, m.rpc, strings.SplitN(m.self, "\n", 2)[0], dir, m.fail)
			if strings.Contains(m.self, "coroutine_sum") {
				src = strings.Replace(src, "worker_sum=1\n", "worker_sum=1\ncoroutine_sum=2\n", 1)
			}
			if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.CommandContext(ctx, bin, "-f", conf, "-d").CombinedOutput()
			if m.fail != "" {
				if err == nil || !strings.Contains(string(out), "hook refuses "+m.fail) {
					t.Errorf("-d with a failing hook: %v, output:\n%s", err, out)
				}
				if _, err := os.Stat(pid); err == nil {
					t.Errorf("pidfile left behind")
				}
				if left := running(bin); len(left) > 0 {
					t.Errorf("processes left running: %v", left)
					for _, p := range left {
						if pr, err := os.FindProcess(p); err == nil {
							pr.Kill()
						}
					}
				}
				return
			}
			if err != nil {
				log, _ := os.ReadFile(filepath.Join(dir, "hook.log"))
				t.Fatalf("-d: %v\n%s\nlog:\n%s", err, out, log)
			}
			defer func() {
				if out, err := exec.CommandContext(ctx, bin, "-f", conf, "-s", "stop").CombinedOutput(); err != nil {
					t.Errorf("stop: %v\n%s", err, out)
				}
				if left := running(bin); len(left) > 0 {
					t.Errorf("processes left after stop: %v", left)
				}
			}()
			ents, _ := os.ReadDir(dir)
			var got []string
			for _, e := range ents {
				if n := e.Name(); strings.HasPrefix(n, "master.") || strings.HasPrefix(n, "rpc.") || strings.HasPrefix(n, "self.") {
					got = append(got, n[:strings.LastIndexByte(n, '.')])
				}
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(m.want, " ") {
				t.Errorf("init ran in %v, want once in each of %v", got, m.want)
			}
		})
	}
}

// running lists the pids of processes running bin.
func running(bin string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}
