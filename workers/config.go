package workers

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/svrkit/svrkit/internal/conffile"
	"github.com/svrkit/svrkit/internal/names"
	"github.com/svrkit/svrkit/transport"
)

// Worker types and dispatch types accepted in <app>_svr.conf.
const (
	Thread           = "thread"
	Process          = "process"
	ProcessCoroutine = "process_coroutine"
	Simple           = "simple"
	Custom           = "custom"
)

// DefaultStopTimeout is used when [app] stop_timeout is absent.
const DefaultStopTimeout = 10 * time.Second

// Config is a parsed <app>_svr.conf.
type Config struct {
	Path string      // the file it was read from ("" when parsed from bytes without a name)
	App  AppConfig   // [app]
	RPC  RPCConfig   // [rpc_server]
	Self *SelfConfig // [self_server]; nil when the section is absent

	// Registry is the [registry] section (service.Registrar); nil when it is absent.
	Registry *RegistryConfig

	// Middleware wraps this process's rpc handlers (transport.ServerOptions.Middleware,
	// outermost first). Not read from the file: the init hook (initProcess) adds it, in
	// every process, before the process serves.
	Middleware []transport.Middleware

	sections map[string]map[string]string // every section's keys and values
}

// Section returns the keys and values of section name, for the user's own sections (any
// section svrkit does not read, such as [mysql]); nil when the file has no such section.
// The map is a copy.
func (c *Config) Section(name string) map[string]string { return maps.Clone(c.sections[name]) }

// AppConfig is the [app] section.
type AppConfig struct {
	Name        string        // name (required)
	PidFile     string        // pid (required): pidfile path; a relative path is relative to the conf file's directory
	LogFile     string        // log (optional): log file, relative like pid; empty = stderr
	StopTimeout time.Duration // stop_timeout (optional, Go duration like "10s"): drain deadline; default 10s
}

// RPCConfig is the [rpc_server] section.
type RPCConfig struct {
	IP         string // ip (required)
	Port       int    // port (required, 0..65535; 0 = any free port)
	WorkerType string // worker_type: thread | process
	WorkerSum  int    // worker_sum (>= 1)

	// Optional overload and safety bounds (svrkit extras; 0 = the transport's
	// default, see transport.ServerOptions).
	MaxQueue         int           // max_queue: requests waiting for a handler slot; -1 sheds at once
	QueueTimeout     time.Duration // queue_timeout: longest wait for a handler slot; 0 = none
	MaxConnInFlight  int           // max_conn_in_flight: calls of one connection running or unsent
	WriteTimeout     time.Duration // write_timeout: a peer not reading responses this long is dropped
	MaxMessageSize   int           // max_message_size: largest request in bytes
	MessageTimeout   time.Duration // message_timeout: longest time to complete a message once begun
	IdleTimeout      time.Duration // idle_timeout: a connection quiet this long is told to go away
	MaxConns         int           // max_conns: open connections; more are closed at accept
	MaxBufferedBytes int64         // max_buffered_bytes: partial request bytes over all connections

	// Optional security (docs/SECURITY.md); paths are relative to the conf
	// file's directory, "" = unset. The files are read at start (and so again
	// on graceful restart): see Config.ServerTLS and Config.AuthTokens.
	TLSCert       string // tls_cert: PEM certificate chain; with tls_key the server speaks only TLS
	TLSKey        string // tls_key: PEM private key of tls_cert
	TLSClientCA   string // tls_client_ca: PEM CA certificates; mutual TLS: clients must present a certificate they signed
	AuthTokenFile string // auth_token_file: accepted tokens, one per line (# comments); calls without one are refused
}

// Addr is ip:port, ready for net.Listen.
func (r RPCConfig) Addr() string { return net.JoinHostPort(r.IP, strconv.Itoa(r.Port)) }

// SelfConfig is the [self_server] section. Simple dispatch yields one group named "simple".
type SelfConfig struct {
	DispatchType string // dispatch_type: simple | custom
	WorkerType   string // worker_type: thread | process | process_coroutine
	Groups       []GroupConfig
}

// GroupConfig is one self-server group ([self_groupN], or the implicit "simple" group).
type GroupConfig struct {
	Name         string // group_name (custom) or "simple"
	WorkerSum    int    // worker_sum (>= 1)
	CoroutineSum int    // coroutine_sum (>= 1) for process_coroutine; 1 otherwise
}

// LoadConfig reads and validates <app>_svr.conf. Errors name the file, section, key, the bad
// value and the allowed values. A key given twice, and a key svrkit does not read in one of
// its sections ([app], [rpc_server], [self_server], [self_groupN]), are errors; other
// sections are the user's (see Section).
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workers: read server config: %w", err)
	}
	return ParseConfig(data, path)
}

// ParseConfig is LoadConfig for bytes; name is used in error messages and as Config.Path,
// and relative pid and log paths are taken relative to its directory.
func ParseConfig(data []byte, name string) (*Config, error) {
	f, err := conffile.Parse(data)
	if err != nil {
		var ce *conffile.Error
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("workers: %s: %w", name, err)
		}
		return nil, fmt.Errorf("workers: parse server config %s: %w", name, err)
	}
	c, err := fromFile(f, name)
	if err != nil {
		return nil, err
	}
	if err := f.CheckUnknown(ownedSection); err != nil {
		return nil, fmt.Errorf("workers: %s: %w", name, err)
	}
	return c, nil
}

var groupSection = regexp.MustCompile(`^self_group[0-9]+$`)

// ownedSection reports whether section name is one of svrkit's.
func ownedSection(name string) bool {
	switch name {
	case "app", "rpc_server", "self_server", "registry":
		return true
	}
	return groupSection.MatchString(name)
}

// reader collects values from one file and formats errors uniformly.
type reader struct {
	f    *conffile.File
	path string
}

func (r reader) errf(section, key, format string, a ...any) error {
	return fmt.Errorf("workers: %s: [%s] %s: %s", r.path, section, key, fmt.Sprintf(format, a...))
}

func (r reader) hasSection(name string) bool { return r.f.HasSection(name) }

func (r reader) raw(section, key string) (string, bool) { return r.f.Get(section, key) }

func (r reader) str(section, key, allowed string) (string, error) {
	v, ok := r.raw(section, key)
	if !ok {
		return "", r.errf(section, key, "missing (want %s)", allowed)
	}
	if v == "" {
		return "", r.errf(section, key, "empty value (want %s)", allowed)
	}
	return v, nil
}

func (r reader) oneOf(section, key string, allowed ...string) (string, error) {
	want := strings.Join(allowed, " | ")
	v, err := r.str(section, key, want)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", r.errf(section, key, "bad value %q (allowed: %s)", v, want)
}

func (r reader) intIn(section, key string, lo, hi int) (int, error) {
	want := fmt.Sprintf("an integer %d..%d", lo, hi)
	v, err := r.str(section, key, want)
	if err != nil {
		return 0, err
	}
	n, perr := strconv.Atoi(v)
	if perr != nil || n < lo || n > hi {
		return 0, r.errf(section, key, "bad value %q (allowed: %s)", v, want)
	}
	return n, nil
}

// maxWorkers bounds worker_sum, coroutine_sum and group_sum to catch typos like 40000.
const (
	maxWorkers    = 1024
	maxCoroutines = 1 << 20
	maxGroups     = 256
)

func fromFile(f *conffile.File, path string) (*Config, error) {
	r := reader{f: f, path: path}
	c := &Config{Path: path, sections: map[string]map[string]string{}}
	for _, name := range f.Sections() {
		c.sections[name] = f.Section(name)
	}
	var err error
	if !r.hasSection("app") {
		return nil, fmt.Errorf("workers: %s: missing section [app] (keys: name, pid)", path)
	}
	if c.App.Name, err = r.str("app", "name", "the app name: "+names.AppRule); err != nil {
		return nil, err
	}
	if err := names.App(c.App.Name); err != nil {
		return nil, r.errf("app", "name", "%v", err)
	}
	if c.App.PidFile, err = r.str("app", "pid", "a pidfile path"); err != nil {
		return nil, err
	}
	c.App.LogFile, _ = r.raw("app", "log")
	c.App.PidFile, c.App.LogFile = nextTo(path, c.App.PidFile), nextTo(path, c.App.LogFile)
	if c.App.StopTimeout, err = r.optDuration("app", "stop_timeout"); err != nil {
		return nil, err
	}
	if c.App.StopTimeout == 0 {
		c.App.StopTimeout = DefaultStopTimeout
	}

	if !r.hasSection("rpc_server") {
		return nil, fmt.Errorf("workers: %s: missing section [rpc_server] (keys: ip, port, worker_type, worker_sum)", path)
	}
	if c.RPC.IP, err = r.str("rpc_server", "ip", "an IP address such as 0.0.0.0"); err != nil {
		return nil, err
	}
	if net.ParseIP(c.RPC.IP) == nil {
		return nil, r.errf("rpc_server", "ip", "bad value %q (allowed: an IP address such as 0.0.0.0 or 127.0.0.1)", c.RPC.IP)
	}
	if c.RPC.Port, err = r.intIn("rpc_server", "port", 0, 65535); err != nil {
		return nil, err
	}
	if c.RPC.WorkerType, err = r.oneOf("rpc_server", "worker_type", Thread, Process); err != nil {
		return nil, err
	}
	if c.RPC.WorkerSum, err = r.intIn("rpc_server", "worker_sum", 1, maxWorkers); err != nil {
		return nil, err
	}
	if err = r.rpcBounds(&c.RPC); err != nil {
		return nil, err
	}

	if r.hasSection("self_server") {
		if c.Self, err = r.self(); err != nil {
			return nil, err
		}
	}
	if r.hasSection("registry") {
		if c.Registry, err = r.registry(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// nextTo resolves p (if relative and not "") against the directory of the conf file path.
func nextTo(path, p string) string {
	if p == "" || filepath.IsAbs(p) || path == "" {
		return p
	}
	return filepath.Join(filepath.Dir(path), p)
}

// rpcBounds reads [rpc_server]'s optional overload keys; absent or empty
// keys keep the transport's defaults.
func (r reader) rpcBounds(c *RPCConfig) error {
	const sec = "rpc_server"
	var err error
	if c.MaxQueue, err = r.optInt(sec, "max_queue", -1, 1<<20); err != nil {
		return err
	}
	if c.MaxConnInFlight, err = r.optInt(sec, "max_conn_in_flight", 1, 1<<16); err != nil {
		return err
	}
	if c.MaxMessageSize, err = r.optInt(sec, "max_message_size", 64, 1<<30); err != nil {
		return err
	}
	if c.QueueTimeout, err = r.optDuration(sec, "queue_timeout"); err != nil {
		return err
	}
	if c.WriteTimeout, err = r.optDuration(sec, "write_timeout"); err != nil {
		return err
	}
	if c.MessageTimeout, err = r.optDuration(sec, "message_timeout"); err != nil {
		return err
	}
	if c.IdleTimeout, err = r.optDuration(sec, "idle_timeout"); err != nil {
		return err
	}
	if c.MaxConns, err = r.optInt(sec, "max_conns", 1, 1<<24); err != nil {
		return err
	}
	n, err := r.optInt(sec, "max_buffered_bytes", 64<<10, 1<<40)
	c.MaxBufferedBytes = int64(n)
	if err != nil {
		return err
	}
	return r.rpcSecurity(c)
}

// rpcSecurity reads [rpc_server]'s optional TLS and token file keys (file
// paths, resolved next to the conf file; their content is read at start).
func (r reader) rpcSecurity(c *RPCConfig) error {
	const sec = "rpc_server"
	path := func(key string) string {
		v, _ := r.raw(sec, key)
		return nextTo(r.path, v)
	}
	c.TLSCert, c.TLSKey, c.TLSClientCA, c.AuthTokenFile = path("tls_cert"), path("tls_key"), path("tls_client_ca"), path("auth_token_file")
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		return r.errf(sec, "tls_key", "missing: tls_cert is set (want the path of its PEM private key)")
	case c.TLSKey != "" && c.TLSCert == "":
		return r.errf(sec, "tls_cert", "missing: tls_key is set (want the path of its PEM certificate)")
	case c.TLSClientCA != "" && c.TLSCert == "":
		return r.errf(sec, "tls_client_ca", "set without tls_cert and tls_key (mutual TLS needs the server's own certificate)")
	}
	return nil
}

// optInt reads an optional integer in lo..hi; 0 when absent or empty.
func (r reader) optInt(section, key string, lo, hi int) (int, error) {
	if v, ok := r.raw(section, key); !ok || v == "" {
		return 0, nil
	}
	return r.intIn(section, key, lo, hi)
}

// optDuration reads an optional positive Go duration; 0 when absent or empty.
func (r reader) optDuration(section, key string) (time.Duration, error) {
	v, ok := r.raw(section, key)
	if !ok || v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, r.errf(section, key, "bad value %q (allowed: a positive Go duration such as 10s or 1500ms)", v)
	}
	return d, nil
}

func (r reader) self() (*SelfConfig, error) {
	const sec = "self_server"
	s := &SelfConfig{}
	var err error
	if s.DispatchType, err = r.oneOf(sec, "dispatch_type", Simple, Custom); err != nil {
		return nil, err
	}
	if s.WorkerType, err = r.oneOf(sec, "worker_type", Thread, Process, ProcessCoroutine); err != nil {
		return nil, err
	}
	if s.DispatchType == Simple {
		g, err := r.group(sec, names.Simple, s.WorkerType)
		if err != nil {
			return nil, err
		}
		s.Groups = []GroupConfig{g}
		return s, nil
	}
	n, err := r.intIn(sec, "group_sum", 1, maxGroups)
	if err != nil {
		return nil, err
	}
	seen := map[string]string{}
	for i := 0; i < n; i++ {
		gs := fmt.Sprintf("self_group%d", i)
		if !r.hasSection(gs) {
			return nil, fmt.Errorf("workers: %s: missing section [%s] ([self_server] group_sum=%d wants [self_group0]..[self_group%d])", r.path, gs, n, n-1)
		}
		name, err := r.str(gs, "group_name", "a group name: "+names.GroupRule)
		if err != nil {
			return nil, err
		}
		if err := names.Group(name); err != nil { // the rule of the IDL's group_name too
			return nil, r.errf(gs, "group_name", "%v", err)
		}
		if prev, dup := seen[name]; dup {
			return nil, r.errf(gs, "group_name", "duplicate group name %q (also in [%s])", name, prev)
		}
		seen[name] = gs
		g, err := r.group(gs, name, s.WorkerType)
		if err != nil {
			return nil, err
		}
		s.Groups = append(s.Groups, g)
	}
	return s, nil
}

// group reads worker_sum (and coroutine_sum for process_coroutine) from section sec.
func (r reader) group(sec, name, workerType string) (GroupConfig, error) {
	g := GroupConfig{Name: name, CoroutineSum: 1}
	var err error
	if g.WorkerSum, err = r.intIn(sec, "worker_sum", 1, maxWorkers); err != nil {
		return g, err
	}
	if workerType == ProcessCoroutine {
		if g.CoroutineSum, err = r.intIn(sec, "coroutine_sum", 1, maxCoroutines); err != nil {
			return g, err
		}
	} else if v, ok := r.raw(sec, "coroutine_sum"); ok {
		return g, r.errf(sec, "coroutine_sum", "value %q given but [self_server] worker_type=%s (coroutine_sum is only for worker_type=process_coroutine)", v, workerType)
	}
	return g, nil
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
