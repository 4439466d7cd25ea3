package idl

import (
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/svrkit/svrkit/internal/names"
)

// Limits match the workers package, so a generated <app>_svr.conf always loads.
const (
	MaxWorkers    = 1024
	MaxCoroutines = 1 << 20
	MaxGroups     = 256
	MaxFileSize   = 4 << 20
	// MaxNameLen bounds the app, API and group names, which make up file names such
	// as <app>_rpc_<api>_handler.go (at most 255 bytes on common file systems).
	MaxNameLen = names.MaxLen
)

// ParseFile reads and parses an IDL file.
// A file larger than MaxFileSize is refused before it is read.
func ParseFile(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("idl: %w", err)
	}
	defer f.Close()
	// Read at most one byte more than the limit: Parse reports the size error.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("idl: %w", err)
	}
	return Parse(data, path)
}

// Parse parses and validates an IDL. file names the input in errors. On failure the
// error is an ErrorList holding every problem found, in file order.
func Parse(data []byte, file string) (*Spec, error) {
	c := &collector{file: file, data: data}
	if len(data) > MaxFileSize {
		c.errorf(-1, "", "file is larger than the limit of %d bytes", MaxFileSize)
		return nil, c.errs
	}
	root, err := parseJSON(data, c)
	if err != nil {
		se := err.(*syntaxError)
		c.errs = append(c.errs, c.at(se.off, "", "%s", se.msg))
		sortErrors(c.errs)
		return nil, c.errs
	}
	v := &validator{c: c, spec: &Spec{File: file}}
	v.top(root)
	if len(c.errs) > 0 {
		sortErrors(c.errs)
		return nil, c.errs
	}
	sortErrors(c.warns)
	v.spec.Warnings = c.warns
	return v.spec, nil
}

type validator struct {
	c       *collector
	spec    *Spec
	allowed string // allowedTypes, once computed
}

// allowedTypes lists the type names an IDL may use, computed once (errors only).
func (v *validator) allowedTypes(protoNames map[string]bool) string {
	if v.allowed == "" {
		v.allowed = allowedTypes(sortedKeys(protoNames))
	}
	return v.allowed
}

// obj checks that n is an object and returns a lookup that reports unknown keys and
// remembers which keys were read. Keys starting with '_' are comments and ignored.
type obj struct {
	v    *validator
	n    *node
	path string
}

func (v *validator) object(n *node, path string, allowed ...string) (obj, bool) {
	if n.kind != jObject {
		v.c.errorf(n.off, path, "got %s, want an object", n.kind)
		return obj{}, false
	}
	for _, m := range n.keys {
		if strings.HasPrefix(m.key, "_") || contains(allowed, m.key) {
			continue
		}
		v.c.errorf(m.off, join(path, m.key), "unknown key %q (allowed: %s; keys starting with _ are ignored)",
			m.key, strings.Join(allowed, ", "))
	}
	return obj{v: v, n: n, path: path}, true
}

func (o obj) get(key string) *node {
	for _, m := range o.n.keys {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

func (o obj) missing(key, want string) {
	o.v.c.errorf(o.n.off, join(o.path, key), "missing (want %s)", want)
}

// str returns a required string value; "" with ok=false after reporting a problem.
func (o obj) str(key, want string) (string, *node, bool) {
	n := o.get(key)
	if n == nil {
		o.missing(key, want)
		return "", nil, false
	}
	if n.kind != jString {
		o.v.c.errorf(n.off, join(o.path, key), "got %s, want %s", describe(n), want)
		return "", n, false
	}
	return n.str, n, true
}

// oneOf returns a required string that must be one of allowed.
func (o obj) oneOf(key string, allowed ...string) (string, bool) {
	want := strings.Join(allowed, " | ")
	s, n, ok := o.str(key, want)
	if !ok {
		return "", false
	}
	if !contains(allowed, s) {
		o.v.c.errorf(n.off, join(o.path, key), "bad value %q (allowed: %s)", s, want)
		return "", false
	}
	return s, true
}

// intIn returns a required integer in [lo, hi].
func (o obj) intIn(key string, lo, hi int) (int, bool) {
	want := fmt.Sprintf("an integer %d..%d", lo, hi)
	n := o.get(key)
	if n == nil {
		o.missing(key, want)
		return 0, false
	}
	if n.kind != jNumber {
		o.v.c.errorf(n.off, join(o.path, key), "got %s, want %s", describe(n), want)
		return 0, false
	}
	i, err := strconv.ParseInt(string(n.num), 10, 64)
	if err != nil || i < int64(lo) || i > int64(hi) {
		o.v.c.errorf(n.off, join(o.path, key), "bad value %s (allowed: %s)", n.num, want)
		return 0, false
	}
	return int(i), true
}

// array returns a required array's elements.
func (o obj) array(key, want string) ([]*node, bool) {
	n := o.get(key)
	if n == nil {
		o.missing(key, want)
		return nil, false
	}
	if n.kind != jArray {
		o.v.c.errorf(n.off, join(o.path, key), "got %s, want %s", describe(n), want)
		return nil, false
	}
	return n.arr, true
}

// describe renders a JSON value briefly for error messages.
func describe(n *node) string {
	switch n.kind {
	case jString:
		return fmt.Sprintf("string %q", n.str)
	case jNumber:
		return "number " + string(n.num)
	case jBool:
		return fmt.Sprintf("%t", n.b)
	}
	return n.kind.String()
}

func idx(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func (v *validator) top(root *node) {
	o, ok := v.object(root, "", "app", "protos", "rpc_client", "rpc_server", "self_server")
	if !ok {
		return
	}
	if app, n, ok := o.str("app", "the app name: a letter followed by letters, digits and _"); ok {
		nameErr := names.App(app) // the rule <app>_svr.conf checks too
		switch {
		case nameErr != nil:
			v.c.errorf(n.off, "app", "%v; it names the Go package, files and binary", nameErr)
		case app == "main" || isGoKeyword(app):
			v.c.errorf(n.off, "app", "bad name %q: it is a Go keyword or \"main\", and the app name is a Go package name", app)
		case app == "api":
			v.c.errorf(n.off, "app", "bad name %q: the control script <app> and the client package's directory api/ would share the name", app)
		case strings.HasSuffix(app, "_test"):
			v.c.errorf(n.off, "app", "bad name %q: a Go package name ending in _test is a test package", app)
		default:
			v.spec.App = app
		}
	}
	protoNames := v.protoNames(o)
	v.protos(o, protoNames)
	if n := o.get("rpc_client"); n == nil {
		o.missing("rpc_client", `an object {"mode": "hashring" | "sharding"}`)
	} else if co, ok := v.object(n, "rpc_client", "mode"); ok {
		v.spec.Client.Mode, _ = co.oneOf("mode", "hashring", "sharding")
	}
	if n := o.get("rpc_server"); n == nil {
		o.missing("rpc_server", "an object with ip, port, worker_type, worker_sum, apis")
	} else {
		v.server(n, protoNames)
	}
	if n := o.get("self_server"); n != nil {
		v.self(n)
	}
	v.mainNames()
	v.localNames()
}

// protoNames collects the declared proto names first, so types may refer to protos
// declared later in the file.
func (v *validator) protoNames(o obj) map[string]bool {
	names := map[string]bool{}
	n := o.get("protos")
	if n == nil || n.kind != jArray {
		return names
	}
	for _, p := range n.arr {
		if p.kind != jObject {
			continue
		}
		for _, m := range p.keys {
			if m.key == "name" && m.val.kind == jString && isName(m.val.str) && !isBuiltin(m.val.str) {
				names[m.val.str] = true
			}
		}
	}
	return names
}

func sortedKeys(m map[string]bool) []string {
	s := make([]string, 0, len(m))
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func (v *validator) protos(o obj, protoNames map[string]bool) {
	n := o.get("protos")
	if n == nil {
		return
	}
	if n.kind != jArray {
		v.c.errorf(n.off, "protos", "got %s, want an array of protos", describe(n))
		return
	}
	seen := map[string]string{}   // IDL name -> path
	seenGo := map[string]string{} // Go name -> path
	for i, pn := range n.arr {
		path := idx("protos", i)
		po, ok := v.object(pn, path, "name", "fields")
		if !ok {
			continue
		}
		p := &Proto{}
		name, nn, ok := po.str("name", "a proto name")
		if ok {
			switch {
			case !isName(name):
				v.c.errorf(nn.off, path+".name", "bad name %q (allowed: an ASCII letter followed by letters, digits and _)", name)
				ok = false
			case isBuiltin(name):
				v.c.errorf(nn.off, path+".name", "bad name %q: it is a builtin type name (%s)", name, strings.Join(builtinTypes, ", "))
				ok = false
			case seen[name] != "":
				v.c.errorf(nn.off, path+".name", "duplicate proto name %q (also %s)", name, seen[name])
				ok = false
			}
		}
		if ok {
			seen[name] = path
			p.Name, p.GoName = name, GoName(name)
			switch {
			case contains(reservedPkgTypes, p.GoName):
				v.c.errorf(nn.off, path+".name", "proto %q becomes Go type %s, which the generated client package declares itself (reserved: %s)", name, p.GoName, strings.Join(reservedPkgTypes, ", "))
			case seenGo[p.GoName] != "":
				v.c.errorf(nn.off, path+".name", "proto %q becomes Go type %s, like %s; rename one", name, p.GoName, seenGo[p.GoName])
			default:
				seenGo[p.GoName] = path + ".name"
			}
		}
		p.Fields = v.fields(po, "fields", path, protoNames, true)
		if ok {
			v.spec.Protos = append(v.spec.Protos, p)
		}
	}
	v.recursion(n)
}

// fields validates a proto's fields (exported Go names) or an API's args (local names).
func (v *validator) fields(o obj, key, path string, protoNames map[string]bool, proto bool) []*Field {
	what := "fields"
	if !proto {
		what = "args"
	}
	n := o.get(key)
	if n == nil {
		if proto {
			o.missing(key, "an array of {name, type}")
		}
		return nil
	}
	if n.kind != jArray {
		v.c.errorf(n.off, join(path, key), "got %s, want an array of {name, type}", describe(n))
		return nil
	}
	var out []*Field
	seen := map[string]string{}
	seenGo := map[string]string{}
	for i, fn := range n.arr {
		fpath := idx(join(path, key), i)
		fo, ok := v.object(fn, fpath, "name", "type")
		if !ok {
			continue
		}
		f := &Field{}
		name, nn, nameOK := fo.str("name", "a name")
		if nameOK {
			switch {
			case !isName(name):
				v.c.errorf(nn.off, fpath+".name", "bad name %q (allowed: an ASCII letter followed by letters, digits and _)", name)
				nameOK = false
			case seen[name] != "":
				v.c.errorf(nn.off, fpath+".name", "duplicate %s name %q (also %s)", what[:len(what)-1], name, seen[name])
				nameOK = false
			}
		}
		if nameOK {
			seen[name] = fpath
			f.Name = name
			if proto {
				f.GoName = GoName(name)
				if prev := seenGo[f.GoName]; prev != "" {
					v.c.errorf(nn.off, fpath+".name", "field %q becomes Go field %s, like %s; rename one", name, f.GoName, prev)
				}
				seenGo[f.GoName] = fpath + ".name"
			}
		}
		ts, tn, tok := fo.str("type", v.allowedTypes(protoNames))
		if tok {
			t, err := parseType(ts, protoNames)
			if err != nil {
				v.c.errorf(tn.off, fpath+".type", "bad type %q: %v (allowed: %s)", ts, err, v.allowedTypes(protoNames))
				tok = false
			}
			f.Type = t
		}
		if nameOK && tok {
			out = append(out, f)
		}
	}
	return out
}

// localNames gives every API argument its Go parameter name once all APIs are known:
// the IDL name, renamed with trailing '_' when it clashes (see localName) with a Go
// keyword, a generated identifier, a handler function called in the same scope, a
// client's arguments struct (ArgsType), or another argument of the same API.
func (v *validator) localNames() {
	handlers := map[string]bool{}
	for _, a := range v.spec.Server.APIs {
		handlers[a.GoName] = true
	}
	if s := v.spec.Self; s != nil {
		handlers["Self"] = true
		for _, g := range s.Groups {
			handlers["Self"+g.GoName] = true
		}
	}
	v.spec.importName = importName(v.spec.App, handlers)
	funcs := map[string]bool{"app": true, "register": true, "selfHandlers": true, "initProcess": true, "main": true}
	for _, a := range v.spec.Server.APIs {
		funcs[a.GoName] = true
		funcs[ArgsType(a.GoName)] = true
	}
	for _, a := range v.spec.Server.APIs {
		// An argument may not take another argument's IDL name, nor a name chosen
		// before it: both sets are this API's own, so the work is linear in all args.
		own := map[string]bool{}
		for _, o := range a.Args {
			own[o.Name] = true
		}
		chosen := map[string]bool{}
		for _, f := range a.Args {
			f.GoName = localName(f.Name, v.spec.ImportName(), func(name string) bool {
				return funcs[name] || chosen[name] || (name != f.Name && own[name])
			})
			chosen[f.GoName] = true
		}
	}
}

// recursion reports protos that contain themselves by value (directly or through other
// protos). Containment through list or dict is fine: Go slices and maps may hold their
// own element type.
func (v *validator) recursion(protosNode *node) {
	byName := map[string]*Proto{}
	pos := map[string]int{}
	for _, p := range v.spec.Protos {
		byName[p.Name] = p
	}
	for i, pn := range protosNode.arr {
		if pn.kind == jObject {
			for _, m := range pn.keys {
				if m.key == "name" && m.val.kind == jString {
					if _, dup := pos[m.val.str]; !dup {
						pos[m.val.str] = i
					}
				}
			}
		}
	}
	for _, p := range v.spec.Protos {
		if cycle := findCycle(p.Name, byName); cycle != nil {
			i := pos[p.Name]
			v.c.errorf(protosNode.arr[i].off, idx("protos", i), "proto %q contains itself by value: %s (a Go struct cannot; hold it in list<%s> or dict<string,%s> instead)",
				p.Name, strings.Join(cycle, " -> "), p.Name, p.Name)
		}
	}
}

// findCycle returns a by-value path from start back to start, or nil.
func findCycle(start string, byName map[string]*Proto) []string {
	visited := map[string]bool{}
	var walk func(name string, path []string) []string
	walk = func(name string, path []string) []string {
		p := byName[name]
		if p == nil {
			return nil
		}
		for _, f := range p.Fields {
			if f.Type.Kind != ProtoKind {
				continue
			}
			next := append(append([]string(nil), path...), f.Type.Proto)
			if f.Type.Proto == start {
				return next
			}
			if visited[f.Type.Proto] {
				continue
			}
			visited[f.Type.Proto] = true
			if c := walk(f.Type.Proto, next); c != nil {
				return c
			}
		}
		return nil
	}
	return walk(start, []string{start})
}

func (v *validator) server(n *node, protoNames map[string]bool) {
	o, ok := v.object(n, "rpc_server", "ip", "port", "worker_type", "worker_sum", "apis")
	if !ok {
		return
	}
	s := &v.spec.Server
	if ip, in, ok := o.str("ip", "an IP address such as 0.0.0.0"); ok {
		if net.ParseIP(ip) == nil {
			v.c.errorf(in.off, "rpc_server.ip", "bad value %q (allowed: an IP address such as 0.0.0.0 or 127.0.0.1)", ip)
		}
		s.IP = ip
	}
	s.Port, _ = o.intIn("port", 1, 65535)
	s.WorkerType, _ = o.oneOf("worker_type", "thread", "process")
	s.WorkerSum, _ = o.intIn("worker_sum", 1, MaxWorkers)
	apis, ok := o.array("apis", "an array of {name, args, ret}")
	if !ok {
		return
	}
	if len(apis) == 0 {
		v.c.warnf(o.get("apis").off, "rpc_server.apis", "no APIs: the rpc server will answer every call with method not found")
	}
	seen := map[string]string{}
	seenGo := map[string]string{}
	for i, an := range apis {
		path := idx("rpc_server.apis", i)
		ao, ok := v.object(an, path, "name", "args", "ret", "idempotent")
		if !ok {
			continue
		}
		a := &API{path: path, off: an.off}
		name, nn, nameOK := ao.str("name", "an API name")
		if nn != nil {
			a.off = nn.off
		}
		if nameOK {
			a.Name, a.GoName = name, GoName(name)
			switch {
			case !isName(name):
				v.c.errorf(nn.off, path+".name", "bad name %q (allowed: an ASCII letter followed by letters, digits and _)", name)
				nameOK = false
			case len(name) > MaxNameLen:
				v.c.errorf(nn.off, path+".name", "name is %d characters (allowed: at most %d; it may start a file name)", len(name), MaxNameLen)
				nameOK = false
			case seen[name] != "":
				v.c.errorf(nn.off, path+".name", "duplicate API name %q (also %s)", name, seen[name])
				nameOK = false
			case seenGo[a.GoName] != "":
				v.c.errorf(nn.off, path+".name", "API %q becomes Go method %s, like %s; rename one", name, a.GoName, seenGo[a.GoName])
				nameOK = false
			case contains(reservedMethods, a.GoName):
				v.c.errorf(nn.off, path+".name", "API %q becomes Go method %s, which the generated Client declares itself (reserved: %s)", name, a.GoName, strings.Join(reservedMethods, ", "))
				nameOK = false
			}
		}
		if nameOK {
			seen[name] = path
			seenGo[a.GoName] = path
		}
		a.Args = v.fields(ao, "args", path, protoNames, false)
		retOK := v.ret(ao, path, a, protoNames)
		if in := ao.get("idempotent"); in != nil {
			if in.kind != jBool {
				v.c.errorf(in.off, path+".idempotent", "got %s, want true or false", describe(in))
			}
			a.Idempotent = in.b
		}
		if nameOK && retOK {
			s.APIs = append(s.APIs, a)
		}
	}
}

func (v *validator) ret(ao obj, path string, a *API, protoNames map[string]bool) bool {
	want := "true (returns a value), false (one-way notification) or a type such as \"string\" or \"echomsg\""
	rn := ao.get("ret")
	if rn == nil {
		ao.missing("ret", want)
		return false
	}
	switch rn.kind {
	case jBool:
		if rn.b {
			a.Ret = Ret{Kind: RetAny}
		} else {
			a.Ret = Ret{Kind: RetNone}
		}
		return true
	case jString:
		t, err := parseType(rn.str, protoNames)
		if err != nil {
			v.c.errorf(rn.off, path+".ret", "bad type %q: %v (allowed: %s; allowed types: %s)", rn.str, err, want, v.allowedTypes(protoNames))
			return false
		}
		a.Ret = Ret{Kind: RetTyped, Type: t}
		return true
	}
	v.c.errorf(rn.off, path+".ret", "got %s, want %s", describe(rn), want)
	return false
}

func (v *validator) self(n *node) {
	const path = "self_server"
	o, ok := v.object(n, path, "dispatch_type", "worker_type", "worker_sum", "coroutine_sum", "groups")
	if !ok {
		return
	}
	s := &Self{}
	dt, dok := o.oneOf("dispatch_type", "simple", "custom")
	wt, wok := o.oneOf("worker_type", "thread", "process", "process_coroutine")
	s.DispatchType, s.WorkerType = dt, wt
	if !dok {
		return
	}
	if dt == "simple" {
		s.WorkerSum, _ = o.intIn("worker_sum", 1, MaxWorkers)
		if gn := o.get("groups"); gn != nil {
			v.c.errorf(gn.off, path+".groups", "groups given but dispatch_type is simple (groups are for dispatch_type custom)")
		}
		if wok {
			s.CoroutineSum = v.coroutines(o, path, wt)
		}
		v.spec.Self = s
		return
	}
	for _, k := range []string{"worker_sum", "coroutine_sum"} {
		if kn := o.get(k); kn != nil {
			v.c.errorf(kn.off, path+"."+k, "given but dispatch_type is custom (set %s in each group)", k)
		}
	}
	groups, ok := o.array("groups", "a non-empty array of {group_name, worker_sum[, coroutine_sum]}")
	if !ok {
		return
	}
	if len(groups) == 0 {
		v.c.errorf(o.get("groups").off, path+".groups", "empty (dispatch_type custom needs at least one group)")
	}
	if len(groups) > MaxGroups {
		v.c.errorf(o.get("groups").off, path+".groups", "%d groups (allowed: at most %d)", len(groups), MaxGroups)
	}
	seen := map[string]string{}
	seenGo := map[string]string{}
	for i, gn := range groups {
		gpath := idx(path+".groups", i)
		go_, ok := v.object(gn, gpath, "group_name", "worker_sum", "coroutine_sum")
		if !ok {
			continue
		}
		g := &Group{}
		name, nn, nameOK := go_.str("group_name", "a group name")
		if nameOK {
			g.Name, g.GoName = name, GoName(name)
			nameErr := names.Group(name) // the rule <app>_svr.conf checks too
			switch {
			case nameErr != nil:
				v.c.errorf(nn.off, gpath+".group_name", "%v", nameErr)
				nameOK = false
			case seen[name] != "":
				v.c.errorf(nn.off, gpath+".group_name", "duplicate group name %q (also %s)", name, seen[name])
				nameOK = false
			case seenGo[g.GoName] != "":
				v.c.errorf(nn.off, gpath+".group_name", "group %q becomes Go handler Self%s, like %s; rename one", name, g.GoName, seenGo[g.GoName])
				nameOK = false
			}
		}
		if nameOK {
			seen[name] = gpath
			seenGo[g.GoName] = gpath
		}
		g.WorkerSum, _ = go_.intIn("worker_sum", 1, MaxWorkers)
		if wok {
			g.CoroutineSum = v.coroutines(go_, gpath, wt)
		}
		if nameOK {
			s.Groups = append(s.Groups, g)
		}
	}
	v.spec.Self = s
}

// coroutines reads coroutine_sum: required for process_coroutine, rejected otherwise.
func (v *validator) coroutines(o obj, path, workerType string) int {
	if workerType == "process_coroutine" {
		n, _ := o.intIn("coroutine_sum", 1, MaxCoroutines)
		return n
	}
	if cn := o.get("coroutine_sum"); cn != nil {
		v.c.errorf(cn.off, path+".coroutine_sum", "given but self_server.worker_type is %s (coroutine_sum is only for process_coroutine)", workerType)
	}
	return 0
}

// mainNames reports API handler names that clash with the self handlers in package main.
func (v *validator) mainNames() {
	if v.spec.Self == nil {
		return
	}
	self := map[string]string{}
	if v.spec.Self.DispatchType == "simple" {
		self["Self"] = "the simple self handler"
	}
	for _, g := range v.spec.Self.Groups {
		self["Self"+g.GoName] = fmt.Sprintf("the handler of self group %q", g.Name)
	}
	for _, a := range v.spec.Server.APIs {
		if what, clash := self[a.GoName]; clash {
			v.c.errorf(a.off, a.path+".name", "API %q becomes Go func %s, which is %s; rename one", a.Name, a.GoName, what)
		}
	}
}

func isGoKeyword(s string) bool { return isKeyword(s) }
