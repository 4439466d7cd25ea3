package workers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const seedConf = `[app]
name=echo
pid=/tmp/echo.pid

[rpc_server]
ip=0.0.0.0
port=3000
worker_type=thread
worker_sum=4

[self_server]
dispatch_type=custom
worker_type=process_coroutine
group_sum=2

[self_group0]
group_name=event
worker_sum=2
coroutine_sum=3

[self_group1]
group_name=value_log
worker_sum=2
coroutine_sum=3
`

func TestLoadSeedConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "echo_svr.conf")
	if err := os.WriteFile(p, []byte(seedConf), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != p || c.App.Name != "echo" || c.App.PidFile != "/tmp/echo.pid" || c.App.LogFile != "" || c.App.StopTimeout != DefaultStopTimeout {
		t.Errorf("app = %+v", c.App)
	}
	if c.RPC != (RPCConfig{IP: "0.0.0.0", Port: 3000, WorkerType: Thread, WorkerSum: 4}) || c.RPC.Addr() != "0.0.0.0:3000" {
		t.Errorf("rpc = %+v", c.RPC)
	}
	want := []GroupConfig{{"event", 2, 3}, {"value_log", 2, 3}}
	if c.Self == nil || c.Self.DispatchType != Custom || c.Self.WorkerType != ProcessCoroutine || len(c.Self.Groups) != 2 ||
		c.Self.Groups[0] != want[0] || c.Self.Groups[1] != want[1] {
		t.Errorf("self = %+v", c.Self)
	}
	if g, ok := c.Self.Group("value_log"); !ok || g != want[1] {
		t.Errorf("Group(value_log) = %+v %v", g, ok)
	}
	if c.Section("self_group1")["group_name"] != "value_log" || c.Section("mysql") != nil {
		t.Error("sections not kept")
	}
}

// TestStrictKeys: a misspelt or repeated key is an error naming the file, section and key
// (a near miss gets a hint); the user's own sections are kept, readable through Section.
func TestStrictKeys(t *testing.T) {
	cases := []struct{ add, want string }{
		{"[rpc_server]\nmax_queu=5\n", "workers: bad.conf: [rpc_server] max_queu: unknown key (did you mean max_queue?)"},
		{"[self_group0]\nworkr_sum=5\n", "workers: bad.conf: [self_group0] workr_sum: unknown key (did you mean worker_sum?)"},
		{"[app]\nname=other\n", "workers: bad.conf: [app] name: given 2 times"},
		{"[rpc_server]\nport=3000\n", "[rpc_server] port: given 2 times"},
		{"[self_group2]\ngroup_name=x\n", "[self_group2] group_name: svrkit reads no key of this section"},
		{"[app]\nfrobnicate=1\n", "[app] frobnicate: unknown key (known keys here: log, name, pid, stop_timeout;"},
	}
	for _, c := range cases {
		_, err := ParseConfig([]byte(seedConf+c.add), "bad.conf")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.add, err, c.want)
		}
	}
	c, err := ParseConfig([]byte(seedConf+"[mysql]\nhost = db1 \nport=3306\n"), "dir/echo_svr.conf")
	if err != nil {
		t.Fatal(err)
	}
	m := c.Section("mysql")
	if len(m) != 2 || m["host"] != "db1" || m["port"] != "3306" {
		t.Errorf("Section(mysql) = %v", m)
	}
	m["host"] = "changed"
	if c.Section("mysql")["host"] != "db1" {
		t.Error("Section returned the config's own map")
	}
}

// TestRelativePaths: relative pid and log paths are relative to the conf file's directory.
func TestRelativePaths(t *testing.T) {
	conf := strings.Replace(seedConf, "pid=/tmp/echo.pid", "pid=echo.pid\nlog=log/echo.log", 1)
	c, err := ParseConfig([]byte(conf), "/srv/echo/echo_svr.conf")
	if err != nil {
		t.Fatal(err)
	}
	if c.App.PidFile != "/srv/echo/echo.pid" || c.App.LogFile != "/srv/echo/log/echo.log" {
		t.Errorf("pid %q log %q", c.App.PidFile, c.App.LogFile)
	}
}

func TestSimpleAndOptional(t *testing.T) {
	c, err := ParseConfig([]byte(`[app]
name=echo
pid=/tmp/e.pid
log=/tmp/e.log
stop_timeout=1500ms
[rpc_server]
ip=127.0.0.1
port=0
worker_type=process
worker_sum=2
max_queue=-1
queue_timeout=250ms
max_conn_in_flight=64
write_timeout=5s
max_message_size=1048576
message_timeout=10s
idle_timeout=2m
max_conns=500
max_buffered_bytes=8388608
[self_server]
dispatch_type=simple
worker_type=thread
worker_sum=3
`), "x.conf")
	if err != nil {
		t.Fatal(err)
	}
	if c.App.LogFile != "/tmp/e.log" || c.App.StopTimeout != 1500*time.Millisecond {
		t.Errorf("app = %+v", c.App)
	}
	if want := (RPCConfig{IP: "127.0.0.1", WorkerType: Process, WorkerSum: 2, MaxQueue: -1, QueueTimeout: 250 * time.Millisecond,
		MaxConnInFlight: 64, WriteTimeout: 5 * time.Second, MaxMessageSize: 1 << 20,
		MessageTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxConns: 500, MaxBufferedBytes: 8 << 20}); c.RPC != want {
		t.Errorf("rpc = %+v, want %+v", c.RPC, want)
	}
	if len(c.Self.Groups) != 1 || c.Self.Groups[0] != (GroupConfig{Simple, 3, 1}) {
		t.Errorf("groups = %+v", c.Self.Groups)
	}
	c, err = ParseConfig([]byte("[app]\nname=a\npid=p\n[rpc_server]\nip=::1\nport=1\nworker_type=thread\nworker_sum=1\n"), "y")
	if err != nil || c.Self != nil {
		t.Fatalf("no self section: %v %+v", err, c)
	}
}

func TestBadConfig(t *testing.T) {
	base := map[string]string{
		"app":         "name=echo\npid=/tmp/echo.pid\n",
		"rpc_server":  "ip=0.0.0.0\nport=3000\nworker_type=thread\nworker_sum=4\n",
		"self_server": "dispatch_type=custom\nworker_type=process_coroutine\ngroup_sum=1\n",
		"self_group0": "group_name=event\nworker_sum=2\ncoroutine_sum=3\n",
	}
	order := []string{"app", "rpc_server", "self_server", "self_group0"}
	build := func(sec, old, new string) []byte {
		var b strings.Builder
		for _, s := range order {
			body := base[s]
			if s == sec {
				if old == "" {
					body += new + "\n"
				} else {
					body = strings.Replace(body, old, new, 1)
				}
			}
			if s == sec && old == "SECTION" {
				continue
			}
			b.WriteString("[" + s + "]\n" + body)
		}
		return []byte(b.String())
	}
	cases := []struct {
		sec, old, new string
		want          []string
	}{
		{"app", "name=echo\n", "", []string{"bad.conf", "[app] name", "missing"}},
		{"app", "pid=/tmp/echo.pid\n", "pid=\n", []string{"[app] pid", "empty"}},
		{"app", "", "stop_timeout=soon", []string{"[app] stop_timeout", `"soon"`, "duration"}},
		{"rpc_server", "ip=0.0.0.0", "ip=localhost", []string{"[rpc_server] ip", `"localhost"`, "IP address"}},
		{"rpc_server", "port=3000", "port=70000", []string{"[rpc_server] port", `"70000"`, "0..65535"}},
		{"rpc_server", "port=3000", "port=abc", []string{"[rpc_server] port", `"abc"`}},
		{"rpc_server", "worker_type=thread", "worker_type=fork", []string{"[rpc_server] worker_type", `"fork"`, "thread | process"}},
		{"rpc_server", "worker_sum=4", "worker_sum=0", []string{"[rpc_server] worker_sum", `"0"`, "1..1024"}},
		{"rpc_server", "worker_sum=4\n", "", []string{"[rpc_server] worker_sum", "missing"}},
		{"self_server", "dispatch_type=custom", "dispatch_type=fancy", []string{"[self_server] dispatch_type", `"fancy"`, "simple | custom"}},
		{"self_server", "worker_type=process_coroutine", "worker_type=coroutine", []string{"[self_server] worker_type", `"coroutine"`, "thread | process | process_coroutine"}},
		{"self_server", "group_sum=1", "group_sum=2", []string{"missing section [self_group1]", "group_sum=2"}},
		{"self_server", "group_sum=1", "group_sum=x", []string{"[self_server] group_sum", `"x"`}},
		{"self_group0", "group_name=event", "group_name=a b", []string{"[self_group0] group_name", `"a b"`}},
		{"self_group0", "worker_sum=2", "worker_sum=-1", []string{"[self_group0] worker_sum", `"-1"`}},
		{"self_group0", "coroutine_sum=3\n", "", []string{"[self_group0] coroutine_sum", "missing"}},
		{"self_group0", "coroutine_sum=3", "coroutine_sum=0", []string{"[self_group0] coroutine_sum", `"0"`}},
		{"rpc_server", "SECTION", "", []string{"missing section [rpc_server]"}},
		{"rpc_server", "", "max_queue=-2", []string{"[rpc_server] max_queue", `"-2"`, "-1..1048576"}},
		{"rpc_server", "", "max_conn_in_flight=0", []string{"[rpc_server] max_conn_in_flight", `"0"`, "1..65536"}},
		{"rpc_server", "", "max_message_size=1k", []string{"[rpc_server] max_message_size", `"1k"`, "64..1073741824"}},
		{"rpc_server", "", "queue_timeout=0", []string{"[rpc_server] queue_timeout", `"0"`, "positive Go duration"}},
		{"rpc_server", "", "write_timeout=forever", []string{"[rpc_server] write_timeout", `"forever"`, "positive Go duration"}},
		{"rpc_server", "", "message_timeout=-1s", []string{"[rpc_server] message_timeout", `"-1s"`, "positive Go duration"}},
		{"rpc_server", "", "idle_timeout=5", []string{"[rpc_server] idle_timeout", `"5"`, "positive Go duration"}},
		{"rpc_server", "", "max_conns=0", []string{"[rpc_server] max_conns", `"0"`, "1..16777216"}},
		{"rpc_server", "", "max_buffered_bytes=1000", []string{"[rpc_server] max_buffered_bytes", `"1000"`, "65536..1099511627776"}},
	}
	for _, c := range cases {
		_, err := ParseConfig(build(c.sec, c.old, c.new), "bad.conf")
		if err == nil {
			t.Errorf("%s %q->%q: no error", c.sec, c.old, c.new)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q->%q: error %q does not mention %q", c.sec, c.old, c.new, err, w)
			}
		}
	}
	// coroutine_sum without process_coroutine is a mistake worth reporting.
	data := []byte("[app]\nname=a\npid=p\n[rpc_server]\nip=0.0.0.0\nport=1\nworker_type=thread\nworker_sum=1\n" +
		"[self_server]\ndispatch_type=simple\nworker_type=thread\nworker_sum=2\ncoroutine_sum=3\n")
	if _, err := ParseConfig(data, "c"); err == nil || !strings.Contains(err.Error(), "[self_server] coroutine_sum") {
		t.Errorf("coroutine_sum with thread: %v", err)
	}
	// duplicate group names
	data = []byte("[app]\nname=a\npid=p\n[rpc_server]\nip=0.0.0.0\nport=1\nworker_type=thread\nworker_sum=1\n" +
		"[self_server]\ndispatch_type=custom\nworker_type=thread\ngroup_sum=2\n[self_group0]\ngroup_name=g\nworker_sum=1\n[self_group1]\ngroup_name=g\nworker_sum=1\n")
	if _, err := ParseConfig(data, "c"); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate group: %v", err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "nope.conf")); err == nil || !strings.Contains(err.Error(), "nope.conf") {
		t.Errorf("missing file: %v", err)
	}
}

func TestVerify(t *testing.T) {
	c, err := ParseConfig([]byte(seedConf), "echo_svr.conf")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(); err != nil {
		t.Fatalf("a parsed config: %v", err)
	}
	good := func() *Config {
		return &Config{
			App: AppConfig{Name: "echo"},
			RPC: RPCConfig{IP: "127.0.0.1", WorkerType: Thread, WorkerSum: 4},
			Self: &SelfConfig{DispatchType: Custom, WorkerType: Thread,
				Groups: []GroupConfig{{Name: "event", WorkerSum: 1}}},
		}
	}
	if err := good().Verify(); err != nil {
		t.Fatalf("a hand-built config with defaults: %v", err)
	}
	for name, mod := range map[string]func(c *Config){
		"app name":       func(c *Config) { c.App.Name = "my app" },
		"stop timeout":   func(c *Config) { c.App.StopTimeout = -time.Second },
		"rpc type":       func(c *Config) { c.RPC.WorkerType = "fork" },
		"rpc sum":        func(c *Config) { c.RPC.WorkerSum = 0 },
		"rpc bound":      func(c *Config) { c.RPC.WriteTimeout = -1 },
		"dispatch":       func(c *Config) { c.Self.DispatchType = "round_robin" },
		"self type":      func(c *Config) { c.Self.WorkerType = "fork" },
		"no groups":      func(c *Config) { c.Self.Groups = nil },
		"group name":     func(c *Config) { c.Self.Groups[0].Name = "9lives" },
		"duplicate":      func(c *Config) { c.Self.Groups = append(c.Self.Groups, c.Self.Groups[0]) },
		"group sum":      func(c *Config) { c.Self.Groups[0].WorkerSum = 0 },
		"simple's group": func(c *Config) { c.Self.DispatchType = Simple },
	} {
		c := good()
		mod(c)
		if err := c.Verify(); err == nil {
			t.Errorf("%s: Verify accepted %+v", name, c)
		}
	}
}
