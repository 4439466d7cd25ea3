package names_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/svrkit/svrkit/gen/idl"
	"github.com/svrkit/svrkit/internal/names"
	"github.com/svrkit/svrkit/workers"
)

// groupCases are self group names and whether they are valid.
var groupCases = []struct {
	name string
	ok   bool
}{
	{"event", true},
	{"value_log", true},
	{"a-b", true},
	{"A9", true},
	{strings.Repeat("g", names.MaxLen), true},
	{"", false},
	{"9lives", false}, // the conf accepted names the IDL refuses: a leading digit,
	{"_x", false},     // '_',
	{"-x", false},     // or '-' (a name ps and shells read as a flag),
	{strings.Repeat("g", names.MaxLen+1), false}, // and names of any length
	{"a b", false},
	{"välue", false},
	{"a.b", false},
}

func TestGroup(t *testing.T) {
	for _, c := range groupCases {
		if err := names.Group(c.name); (err == nil) != c.ok {
			t.Errorf("Group(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

// TestParsersAgreeOnGroupNames checks that the IDL parser and the conf parser accept the
// same self group names: names.Group's.
func TestParsersAgreeOnGroupNames(t *testing.T) {
	for _, c := range groupCases {
		if c.name == "" {
			continue // "missing" in both, not a naming rule
		}
		idlSrc := fmt.Sprintf(`{"app": "echo", "rpc_client": {"mode": "hashring"},
	"rpc_server": {"ip": "127.0.0.1", "port": 3000, "worker_type": "thread", "worker_sum": 1, "apis": []},
	"self_server": {"dispatch_type": "custom", "worker_type": "thread",
		"groups": [{"group_name": %q, "worker_sum": 1}]}}`, c.name)
		_, idlErr := idl.Parse([]byte(idlSrc), "svr.json")
		conf := fmt.Sprintf("[app]\nname=echo\npid=echo.pid\n[rpc_server]\nip=127.0.0.1\nport=0\nworker_type=thread\nworker_sum=1\n"+
			"[self_server]\ndispatch_type=custom\nworker_type=thread\ngroup_sum=1\n[self_group0]\ngroup_name=%s\nworker_sum=1\n", c.name)
		_, confErr := workers.ParseConfig([]byte(conf), "echo_svr.conf")
		if (idlErr == nil) != c.ok || (confErr == nil) != c.ok {
			t.Errorf("group %q: want ok=%v; IDL: %v; conf: %v", c.name, c.ok, idlErr, confErr)
		}
	}
}

func TestApp(t *testing.T) {
	for name, ok := range map[string]bool{
		"echo": true, "my_app2": true, strings.Repeat("a", names.MaxLen): true,
		"": false, "2fast": false, "_x": false, "a-b": false, "my app": false, "a/b": false,
		strings.Repeat("a", names.MaxLen+1): false,
	} {
		if err := names.App(name); (err == nil) != ok {
			t.Errorf("App(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

// TestParsersAgreeOnAppNames checks that the conf refuses the app names the IDL refuses
// for breaking the naming rule (the IDL also refuses Go keywords and "main", which are
// rules of the generated Go package, not of the name).
func TestParsersAgreeOnAppNames(t *testing.T) {
	for name, ok := range map[string]bool{"echo": true, "2fast": false, "a-b": false, "my app": false, "a/b": false} {
		idlSrc := fmt.Sprintf(`{"app": %q, "rpc_client": {"mode": "hashring"},
	"rpc_server": {"ip": "127.0.0.1", "port": 3000, "worker_type": "thread", "worker_sum": 1, "apis": []}}`, name)
		_, idlErr := idl.Parse([]byte(idlSrc), "svr.json")
		conf := fmt.Sprintf("[app]\nname=%s\npid=x.pid\n[rpc_server]\nip=127.0.0.1\nport=0\nworker_type=thread\nworker_sum=1\n", name)
		_, confErr := workers.ParseConfig([]byte(conf), "x_svr.conf")
		if (idlErr == nil) != ok || (confErr == nil) != ok {
			t.Errorf("app %q: want ok=%v; IDL: %v; conf: %v", name, ok, idlErr, confErr)
		}
	}
}

func TestTitles(t *testing.T) {
	for got, want := range map[string]string{
		names.Title("echo", names.Master):              "echo_svr: master",
		names.Title("echo", names.RPCWorker(2)):        "echo_svr: rpc worker 2",
		names.Title("echo", names.SelfWorker("ev", 0)): "echo_svr: self ev worker 0",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
