package faults

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestBadConfigs drives the real service binary with broken configs, foreground and -d:
// each fails with exit 1 and a message naming the problem, and leaves no pidfile and no
// process behind.
func TestBadConfigs(t *testing.T) {
	type tc struct {
		name string
		conf func(s *svr) string // the config text (s.conf is where it goes)
		want []string            // substrings of stderr
	}
	good := func(s *svr, rpc, extra string) string {
		return "[app]\nname=faults\npid=" + s.pidfile + "\n\n[rpc_server]\nip=127.0.0.1\nport=" + itoa(s.port) + "\n" + rpc + "\n" + extra
	}
	cases := []tc{
		{"missing [app]", func(s *svr) string { return "[rpc_server]\nip=127.0.0.1\n" }, []string{"missing section [app]"}},
		{"not ini", func(s *svr) string { return "[app\nname=x" }, []string{"faults_svr.conf"}},
		{"bad worker_type", func(s *svr) string { return good(s, "worker_type=fork\nworker_sum=2", "") }, []string{"[rpc_server] worker_type", `"fork"`, "thread | process"}},
		{"worker_sum 0", func(s *svr) string { return good(s, "worker_type=thread\nworker_sum=0", "") }, []string{"[rpc_server] worker_sum"}},
		{"missing worker_sum", func(s *svr) string { return good(s, "worker_type=thread", "") }, []string{"[rpc_server] worker_sum", "missing"}},
		{"bad ip", func(s *svr) string {
			return strings.Replace(good(s, "worker_type=thread\nworker_sum=1", ""), "ip=127.0.0.1", "ip=localhost:1", 1)
		}, []string{"[rpc_server] ip"}},
		{"port 70000", func(s *svr) string {
			return strings.Replace(good(s, "worker_type=thread\nworker_sum=1", ""), "port="+itoa(s.port), "port=70000", 1)
		}, []string{"[rpc_server] port", "70000"}},
		{"bad stop_timeout", func(s *svr) string {
			return strings.Replace(good(s, "worker_type=thread\nworker_sum=1", ""), "[app]\n", "[app]\nstop_timeout=soon\n", 1)
		}, []string{"[app] stop_timeout", "soon"}},
		{"missing self group section", func(s *svr) string {
			return good(s, "worker_type=thread\nworker_sum=1", "[self_server]\ndispatch_type=custom\nworker_type=process\ngroup_sum=2\n[self_group0]\ngroup_name=event\nworker_sum=1\n")
		}, []string{"[self_group1]"}},
		{"coroutine_sum with process", func(s *svr) string {
			return good(s, "worker_type=thread\nworker_sum=1", "[self_server]\ndispatch_type=simple\nworker_type=process\nworker_sum=1\ncoroutine_sum=3\n")
		}, []string{"coroutine_sum", "process_coroutine"}},
		{"self group without handler", func(s *svr) string {
			return good(s, "worker_type=process\nworker_sum=2", "[self_server]\ndispatch_type=custom\nworker_type=process\ngroup_sum=1\n[self_group0]\ngroup_name=nohandler\nworker_sum=1\n")
		}, []string{`"nohandler"`, "no handler"}},
		{"pidfile dir missing", func(s *svr) string {
			return strings.Replace(good(s, "worker_type=process\nworker_sum=2", ""), "pid="+s.pidfile, "pid="+filepath.Join(s.dir, "nodir", "x.pid"), 1)
		}, []string{"nodir"}},
		{"log dir missing", func(s *svr) string {
			return strings.Replace(good(s, "worker_type=process\nworker_sum=2", ""), "[app]\n", "[app]\nlog="+filepath.Join(s.dir, "nodir", "x.log")+"\n", 1)
		}, []string{"nodir"}},
		{"port busy", func(s *svr) string { return good(s, "worker_type=process\nworker_sum=2", "") }, []string{"address already in use"}},
		{"misspelt max_queue", func(s *svr) string { return good(s, "worker_type=thread\nworker_sum=1\nmax_queu=10", "") },
			[]string{"faults_svr.conf: [rpc_server] max_queu: unknown key (did you mean max_queue?)"}},
		{"misspelt worker_sum", func(s *svr) string {
			return good(s, "worker_type=thread\nworker_sum=1", "[self_server]\ndispatch_type=custom\nworker_type=process\ngroup_sum=1\n[self_group0]\ngroup_name=event\nworker_sum=1\nworkr_sum=2\n")
		}, []string{"faults_svr.conf: [self_group0] workr_sum: unknown key (did you mean worker_sum?)"}},
		{"duplicate key", func(s *svr) string { return good(s, "worker_type=thread\nworker_sum=1\nworker_sum=4", "") },
			[]string{"faults_svr.conf: [rpc_server] worker_sum: given 2 times"}},
	}
	checked := 0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSvr(t, "thread", 1, "")
			s.writeConf(c.conf(s))
			if c.name == "port busy" {
				ln, err := net.Listen("tcp", s.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
			}
			for _, args := range [][]string{{"-f", s.conf}, {"-f", s.conf, "-d"}} {
				out, errOut, code := s.run(args...)
				if code != 1 {
					t.Errorf("%v: exit %d (want 1), stdout %q, stderr %q", args, code, out, errOut)
				}
				for _, w := range c.want {
					if !strings.Contains(errOut, w) {
						t.Errorf("%v: stderr %q lacks %q", args, errOut, w)
					}
				}
				if strings.Count(strings.TrimSpace(errOut), "\n") > 1 {
					t.Errorf("%v: message is not one or two lines: %q", args, errOut)
				}
				s.checkNothingLeft()
				checked++
			}
		})
	}
	t.Logf("FIGURE bad configs: %d broken configs x (foreground, -d) = %d runs: all exit 1 with a message naming the section/key or path; no pidfile, no process left", len(cases), checked)
}

func itoa(n int) string { return strconv.Itoa(n) }

// svrkitGen returns the path of the svrkit CLI: -faults.gen (bazel passes the built
// binary), else a go build of ./gen/cmd/svrkit when the go tool and the source are at hand.
func svrkitGen(t *testing.T) string {
	if *genBin != "" {
		p := *genBin
		if _, err := os.Stat(p); err != nil && !filepath.IsAbs(p) && os.Getenv("TEST_SRCDIR") != "" {
			// bazel: $(rootpath) is relative to the workspace's runfiles root, and the
			// test runs in its package directory.
			p = filepath.Join(os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"), p)
		}
		p, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goTool); err != nil {
			t.Skip("no svrkit binary (-faults.gen) and no go tool to build one")
		}
	}
	src, err := filepath.Abs("../../gen/cmd/svrkit")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src, "main.go")); err != nil {
		t.Skip("no svrkit binary (-faults.gen) and no source at " + src)
	}
	out := filepath.Join(t.TempDir(), "svrkit")
	cmd := exec.Command(goTool, "build", "-o", out, ".")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build svrkit: %v\n%s", err, b)
	}
	return out
}

// TestBadIDLs runs `svrkit gen` on broken IDLs: exit 1, a message naming the file and the
// place, and no output directory content.
func TestBadIDLs(t *testing.T) {
	bin := svrkitGen(t)
	seed := `{"app": "echo", "protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}]}],
 "rpc_client": {"mode": "hashring"},
 "rpc_server": {"ip": "0.0.0.0", "port": 3000, "worker_type": "thread", "worker_sum": 4,
   "apis": [{"name": "echo", "args": [{"name": "msg", "type": "echomsg"}], "ret": true}]}}`
	cases := []struct{ name, idl, want string }{
		{"empty", "", "svr.json"},
		{"not json", "{app: echo}", "JSON syntax error"},
		{"truncated", seed[:len(seed)/2], "svr.json"},
		{"deep nesting", strings.Repeat("[", 10000), "nested deeper"},
		{"unknown type", strings.Replace(seed, `"type": "echomsg"`, `"type": "nosuchproto"`, 1), "nosuchproto"},
		{"bad worker_type", strings.Replace(seed, `"worker_type": "thread"`, `"worker_type": "fork"`, 1), "fork"},
		{"bad mode", strings.Replace(seed, `"hashring"`, `"roundrobin"`, 1), "roundrobin"},
		{"duplicate api", strings.Replace(seed, `"ret": true}]`, `"ret": true}, {"name": "echo", "args": [], "ret": true}]`, 1), "echo"},
		{"duplicate key", strings.Replace(seed, `"app": "echo",`, `"app": "echo", "app": "echo2",`, 1), "duplicate key"},
		{"bad app name", strings.Replace(seed, `"app": "echo"`, `"app": "my app!"`, 1), "app"},
		{"port out of range", strings.Replace(seed, `"port": 3000`, `"port": 99999`, 1), "99999"},
	}
	for _, c := range cases {
		dir := t.TempDir()
		in := filepath.Join(dir, "svr.json")
		if err := os.WriteFile(in, []byte(c.idl), 0o644); err != nil {
			t.Fatal(err)
		}
		outDir := filepath.Join(dir, "out")
		cmd := exec.Command(bin, "gen", "-f", in, "-d", outDir, "-importpath", "example.com/out")
		b, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		msg := string(b)
		if code != 1 || !strings.Contains(msg, c.want) || !strings.Contains(msg, "svr.json") || strings.Contains(msg, "panic") {
			t.Errorf("%s: exit %d, output %q; want exit 1 naming svr.json and %q", c.name, code, msg, c.want)
		}
		if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
			t.Errorf("%s: gen wrote %d files despite the error", c.name, len(ents))
		}
	}
	t.Logf("FIGURE bad IDLs: %d broken IDLs: all exit 1 naming the file and the problem, nothing written", len(cases))
}
