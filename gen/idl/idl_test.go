package idl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const seed = `{
	"app": "echo",
	"protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}]}],
	"rpc_client": {"mode": "hashring"},
	"rpc_server": {
		"ip": "0.0.0.0", "port": 3000, "worker_type": "thread", "worker_sum": 4,
		"apis": [{"name": "echo", "args": [{"name": "msg", "type": "echomsg"}], "ret": true}]
	},
	"self_server": {
		"dispatch_type": "custom", "worker_type": "process_coroutine",
		"groups": [
			{"group_name": "event", "worker_sum": 2, "coroutine_sum": 3},
			{"group_name": "value", "worker_sum": 2, "coroutine_sum": 3}
		]
	}
}`

func mustParse(t *testing.T, src string) *Spec {
	t.Helper()
	s, err := Parse([]byte(src), "svr.json")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return s
}

func TestParseSeed(t *testing.T) {
	s := mustParse(t, seed)
	if s.App != "echo" || s.Client.Mode != "hashring" || s.Server.Port != 3000 || s.Server.WorkerSum != 4 {
		t.Fatalf("spec = %+v", s)
	}
	if len(s.Protos) != 1 || s.Protos[0].GoName != "Echomsg" || s.Protos[0].Fields[0].GoName != "Value" {
		t.Fatalf("protos = %+v", s.Protos[0])
	}
	a := s.Server.APIs[0]
	if a.GoName != "Echo" || a.Ret.Kind != RetAny || a.Args[0].GoName != "msg" || a.Args[0].Type.Proto != "echomsg" {
		t.Fatalf("api = %+v", a)
	}
	if s.Self == nil || len(s.Self.Groups) != 2 || s.Self.Groups[1].CoroutineSum != 3 || s.Self.Groups[0].GoName != "Event" {
		t.Fatalf("self = %+v", s.Self)
	}
	if len(s.Warnings) != 0 {
		t.Fatalf("warnings: %v", s.Warnings)
	}
}

// edit returns seed with old replaced by new (exactly once).
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if strings.Count(seed, old) != 1 {
		t.Fatalf("seed holds %q %d times", old, strings.Count(seed, old))
	}
	return strings.Replace(seed, old, new, 1)
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, old, new string
		want           []string // substrings of the error text, each required
	}{
		{"unknown type", `"type": "echomsg"`, `"type": "echomsgg"`,
			[]string{`svr.json:7:62: rpc_server.apis[0].args[0].type: bad type "echomsgg": unknown type "echomsgg" (allowed: string, bool, int, float, list, tuple, dict, list<T>, dict<string,T>, or a proto: echomsg)`}},
		{"bad container", `"type": "string"`, `"type": "list<>"`, []string{`protos[0].fields[0].type: bad type "list<>"`}},
		{"dict key", `"type": "string"`, `"type": "dict<int,string>"`, []string{`dict key type must be string`}},
		{"typed tuple", `"type": "string"`, `"type": "tuple<int>"`, []string{`tuple takes no element type`}},
		{"duplicate proto", `"protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}]}]`,
			`"protos": [{"name": "echomsg", "fields": []}, {"name": "echomsg", "fields": []}]`,
			[]string{`protos[1].name: duplicate proto name "echomsg" (also protos[0])`}},
		{"duplicate field", `[{"name": "value", "type": "string"}]`, `[{"name": "value", "type": "string"}, {"name": "value", "type": "int"}]`,
			[]string{`protos[0].fields[1].name: duplicate field name "value"`}},
		{"go name clash", `[{"name": "value", "type": "string"}]`, `[{"name": "a_b", "type": "string"}, {"name": "aB", "type": "int"}]`,
			[]string{`protos[0].fields[1].name: field "aB" becomes Go field AB, like protos[0].fields[0].name`}},
		{"bad identifier", `"name": "echo",`, `"name": "ec-ho",`, []string{`rpc_server.apis[0].name: bad name "ec-ho"`}},
		{"non-ascii", `"name": "value"`, `"name": "välue"`, []string{`protos[0].fields[0].name: bad name "välue"`}},
		{"app keyword", `"app": "echo"`, `"app": "func"`, []string{`app: bad name "func": it is a Go keyword`}},
		{"app main", `"app": "echo"`, `"app": "main"`, []string{`app: bad name "main"`}},
		{"builtin proto name", `{"name": "echomsg", "fields"`, `{"name": "list", "fields"`, []string{`protos[0].name: bad name "list": it is a builtin type name`}},
		{"reserved proto", `{"name": "echomsg", "fields"`, `{"name": "client", "fields"`, []string{`proto "client" becomes Go type Client, which the generated client package declares itself`}},
		{"reserved method", `"name": "echo",`, `"name": "close",`, []string{`API "close" becomes Go method Close`}},
		{"self clash", `"name": "echo",`, `"name": "self_event",`, []string{`rpc_server.apis[0].name: API "self_event" becomes Go func SelfEvent, which is the handler of self group "event"`}},
		{"port high", `"port": 3000`, `"port": 70000`, []string{`rpc_server.port: bad value 70000 (allowed: an integer 1..65535)`}},
		{"port zero", `"port": 3000`, `"port": 0`, []string{`rpc_server.port: bad value 0`}},
		{"port float", `"port": 3000`, `"port": 30.5`, []string{`rpc_server.port: bad value 30.5`}},
		{"port string", `"port": 3000`, `"port": "3000"`, []string{`rpc_server.port: got string "3000", want an integer 1..65535`}},
		{"bad ip", `"ip": "0.0.0.0"`, `"ip": "localhost:1"`, []string{`rpc_server.ip: bad value "localhost:1"`}},
		{"worker type", `"worker_type": "thread"`, `"worker_type": "coroutine"`, []string{`rpc_server.worker_type: bad value "coroutine" (allowed: thread | process)`}},
		{"self worker type", `"worker_type": "process_coroutine"`, `"worker_type": "gevent"`, []string{`self_server.worker_type: bad value "gevent" (allowed: thread | process | process_coroutine)`}},
		{"dispatch type", `"dispatch_type": "custom"`, `"dispatch_type": "fancy"`, []string{`self_server.dispatch_type: bad value "fancy" (allowed: simple | custom)`}},
		{"mode", `"mode": "hashring"`, `"mode": "random"`, []string{`rpc_client.mode: bad value "random" (allowed: hashring | sharding)`}},
		{"worker_sum zero", `"worker_sum": 4`, `"worker_sum": 0`, []string{`rpc_server.worker_sum: bad value 0 (allowed: an integer 1..1024)`}},
		{"group worker_sum negative", `{"group_name": "event", "worker_sum": 2,`, `{"group_name": "event", "worker_sum": -1,`, []string{`self_server.groups[0].worker_sum: bad value -1`}},
		{"coroutine_sum missing", `{"group_name": "value", "worker_sum": 2, "coroutine_sum": 3}`, `{"group_name": "value", "worker_sum": 2}`,
			[]string{`self_server.groups[1].coroutine_sum: missing (want an integer 1..1048576)`}},
		{"coroutine_sum not allowed", `"worker_type": "process_coroutine"`, `"worker_type": "thread"`,
			[]string{`self_server.groups[0].coroutine_sum: given but self_server.worker_type is thread`, `self_server.groups[1].coroutine_sum`}},
		{"empty groups", `"groups": [`, `"groups": [], "x_groups": [`, []string{`self_server.groups: empty`, `self_server.x_groups: unknown key`}},
		{"missing groups", `"groups": [`, `"_groups": [`, []string{`self_server.groups: missing`}},
		{"duplicate group", `"group_name": "value"`, `"group_name": "event"`, []string{`self_server.groups[1].group_name: duplicate group name "event"`}},
		{"bad group name", `"group_name": "value"`, `"group_name": "va lue"`, []string{`self_server.groups[1].group_name: bad name "va lue"`}},
		{"simple needs worker_sum", `"dispatch_type": "custom"`, `"dispatch_type": "simple"`,
			[]string{`self_server.worker_sum: missing`, `self_server.groups: groups given but dispatch_type is simple`, `self_server.coroutine_sum: missing`}},
		{"unknown top key", `"app": "echo",`, `"app": "echo", "rpc_sever": {},`, []string{`rpc_sever: unknown key "rpc_sever" (allowed: app, protos, rpc_client, rpc_server, self_server`}},
		{"unknown api key", `"ret": true`, `"ret": true, "retrun": 1`, []string{`rpc_server.apis[0].retrun: unknown key`}},
		{"missing rpc_server", `"rpc_server": {`, `"_rpc_server": {`, []string{`rpc_server: missing`}},
		{"missing app", `"app": "echo",`, ``, []string{`app: missing`}},
		{"bad ret", `"ret": true`, `"ret": 1`, []string{`rpc_server.apis[0].ret: got number 1, want true`}},
		{"bad typed ret", `"ret": true`, `"ret": "nothing"`, []string{`rpc_server.apis[0].ret: bad type "nothing"`}},
		{"missing ret", `, "ret": true`, ``, []string{`rpc_server.apis[0].ret: missing`}},
		{"bad idempotent", `"ret": true`, `"ret": true, "idempotent": "yes"`, []string{`rpc_server.apis[0].idempotent: got string "yes", want true or false`}},
		{"duplicate api", `"ret": true}]`, `"ret": true}, {"name": "echo", "ret": false}]`, []string{`rpc_server.apis[1].name: duplicate API name "echo" (also rpc_server.apis[0])`}},
		{"duplicate arg", `"args": [{"name": "msg", "type": "echomsg"}]`, `"args": [{"name": "msg", "type": "echomsg"}, {"name": "msg", "type": "int"}]`,
			[]string{`rpc_server.apis[0].args[1].name: duplicate arg name "msg"`}},
		{"duplicate key", `"app": "echo",`, `"app": "echo", "app": "echo",`, []string{`app: duplicate key "app" in the same object`}},
		{"wrong kind", `"protos": [`, `"protos": 1, "_p": [`, []string{`protos: got number 1, want an array of protos`}},
		{"direct recursion", `[{"name": "value", "type": "string"}]`, `[{"name": "self", "type": "echomsg"}]`,
			[]string{`protos[0]: proto "echomsg" contains itself by value: echomsg -> echomsg`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(edit(t, c.old, c.new)), "svr.json")
			if err == nil {
				t.Fatal("no error")
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T is not a non-empty ErrorList", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
			for _, e := range list {
				if e.File != "svr.json" || e.Line == 0 {
					t.Errorf("error without file or position: %#v", e)
				}
			}
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	src := `{"app": "1x", "protos": [{"name": "a", "fields": [{"name": "f", "type": "nope"}]}],
	"rpc_client": {"mode": "x"},
	"rpc_server": {"ip": "x", "port": -1, "worker_type": "y", "worker_sum": 0, "apis": []},
	"self_server": {"dispatch_type": "custom", "worker_type": "thread", "groups": []}}`
	_, err := Parse([]byte(src), "svr.json")
	list, _ := err.(ErrorList)
	if len(list) != 8 {
		t.Fatalf("got %d errors, want 8:\n%v", len(list), err)
	}
	for i := 1; i < len(list); i++ {
		if list[i].Line < list[i-1].Line || (list[i].Line == list[i-1].Line && list[i].Col < list[i-1].Col) {
			t.Fatalf("errors not in file order:\n%v", err)
		}
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"{\n  \"app\": \"x\",\n  \"protos\": [1 2]\n}", "svr.json:3:16: JSON syntax error: invalid character '2' after array element"},
		{"{\"app\": x}", "svr.json:1:9: JSON syntax error"},
		{"{\"app\": ë}", "svr.json:1:9: JSON syntax error: invalid character 'ë' looking for beginning of value"},
		{"{\"app\": \"x\"☃}", "svr.json:1:12: JSON syntax error: invalid character '☃' after object key:value pair"},
		{"{\"app\": \"x\"", "svr.json:1:12: JSON syntax error: unexpected end of input"},
		{"{} {}", "svr.json:1:4: unexpected data after the top-level JSON value"},
		{"", "svr.json:1:1: JSON syntax error: unexpected end of input"},
		{"[]", "svr.json:1:1: got an array, want an object"},
		{strings.Repeat("[", 100) + strings.Repeat("]", 100), "JSON nested deeper than 64 levels"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.src), "svr.json")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want %q", c.src, err, c.want)
		}
	}
}

func TestRecursionThroughContainersIsFine(t *testing.T) {
	src := edit(t, `"protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}]}]`,
		`"protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}, {"name": "kids", "type": "list<echomsg>"}, {"name": "idx", "type": "dict<string, echomsg>"}]}]`)
	s := mustParse(t, src)
	if got := s.Protos[0].Fields[2].Type.String(); got != "dict<string,echomsg>" {
		t.Fatalf("type = %s", got)
	}
	indirect := edit(t, `"protos": [{"name": "echomsg", "fields": [{"name": "value", "type": "string"}]}]`,
		`"protos": [{"name": "echomsg", "fields": [{"name": "b", "type": "b"}]}, {"name": "b", "fields": [{"name": "c", "type": "c"}]}, {"name": "c", "fields": [{"name": "e", "type": "echomsg"}]}]`)
	_, err := Parse([]byte(indirect), "svr.json")
	if err == nil || !strings.Contains(err.Error(), "echomsg -> b -> c -> echomsg") {
		t.Fatalf("indirect recursion: %v", err)
	}
}

func TestLocalNamesAvoidKeywordsAndGeneratedNames(t *testing.T) {
	src := edit(t, `"args": [{"name": "msg", "type": "echomsg"}]`,
		`"args": [{"name": "type", "type": "int"}, {"name": "ctx", "type": "int"}, {"name": "ctx_", "type": "int"}, {"name": "echo", "type": "int"}, {"name": "string", "type": "int"}, {"name": "Echo", "type": "int"}, {"name": "register", "type": "int"}]`)
	s := mustParse(t, src)
	var got []string
	for _, a := range s.Server.APIs[0].Args {
		got = append(got, a.GoName)
	}
	if want := "type_ ctx__ ctx_ echo_ string_ Echo_ register_"; strings.Join(got, " ") != want {
		t.Fatalf("local names = %v, want %s", got, want)
	}
}

func TestExtensionsAndSimpleSelf(t *testing.T) {
	src := edit(t, `"ret": true`, `"ret": "list<echomsg>", "idempotent": true, "_comment": "ignored"`)
	src = strings.Replace(src, `"dispatch_type": "custom", "worker_type": "process_coroutine",`, `"dispatch_type": "simple", "worker_type": "process_coroutine", "worker_sum": 2, "coroutine_sum": 5,`, 1)
	src = strings.Replace(src, `"groups": [`, `"_groups": [`, 1)
	s := mustParse(t, src)
	a := s.Server.APIs[0]
	if a.Ret.Kind != RetTyped || a.Ret.Type.String() != "list<echomsg>" || !a.Idempotent {
		t.Fatalf("api = %+v", a)
	}
	if s.Self.DispatchType != "simple" || s.Self.WorkerSum != 2 || s.Self.CoroutineSum != 5 || len(s.Self.Groups) != 0 {
		t.Fatalf("self = %+v", s.Self)
	}
}

func TestWarningsAndImportName(t *testing.T) {
	s := mustParse(t, strings.Replace(edit(t, `"apis": [{"name": "echo", "args": [{"name": "msg", "type": "echomsg"}], "ret": true}]`, `"apis": []`), `"app": "echo"`, `"app": "service"`, 1))
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0].Error(), "rpc_server.apis: no APIs") {
		t.Fatalf("warnings = %v", s.Warnings)
	}
	if s.ImportName() != "servicepkg" {
		t.Fatalf("ImportName = %s", s.ImportName())
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{"echomsg": "Echomsg", "value": "Value", "user_id": "UserId", "a-b": "AB", "X": "X", "a__b_": "AB"} {
		if got := GoName(in); got != want {
			t.Errorf("GoName(%q) = %q, want %q", in, got, want)
		}
	}
}

// manyAPIs is an IDL with n APIs of three arguments each.
func manyAPIs(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"app": "big", "rpc_client": {"mode": "hashring"}, "rpc_server": {"ip": "0.0.0.0", "port": 3000, "worker_type": "thread", "worker_sum": 1, "apis": [`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name": "api%d", "args": [{"name": "a", "type": "int"}, {"name": "b", "type": "string"}, {"name": "c", "type": "dict"}], "ret": true}`, i)
	}
	b.WriteString("]}}")
	return []byte(b.String())
}

// BenchmarkParseAPIs parses IDLs of growing size: the time per API stays flat
// (it grew with the number of APIs when every argument copied all API names).
func BenchmarkParseAPIs(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		data := manyAPIs(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				if _, err := Parse(data, "svr.json"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestParseFileRefusesLargeFile checks the size limit on a file larger than the limit
// (ParseFile reads at most limit+1 bytes of it).
func TestParseFileRefusesLargeFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "svr.json")
	if err := os.WriteFile(p, make([]byte, MaxFileSize+10), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(p)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("larger than the limit of %d bytes", MaxFileSize)) {
		t.Fatalf("ParseFile = %v, want the size limit error", err)
	}
}
