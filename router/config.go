package router

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/svrkit/svrkit/internal/conffile"
)

// Modes of a Config.
const (
	ModeHashring = "hashring"
	ModeSharding = "sharding"
)

// Weight limits of a hashring server (see PointsPerWeight).
const (
	DefaultWeight = 100  // weight of a [serverN] section without a weight key
	MaxWeight     = 1000 // larger weights are rejected: they only cost memory
)

// Config is a parsed <app>_cli.conf.
type Config struct {
	Mode     string   // ModeHashring or ModeSharding
	ShardSum int      // sharding: number of shards, ids map to id % ShardSum
	Servers  []Server // [server0] .. [server<sum-1>], in order

	// Registry is the [registry] section: the servers come from a registry
	// and Servers is empty.
	Registry *RegistryConfig

	// Security is [server]'s TLS and token keys; New reads their files.
	Security Security

	file string // the name given to ParseConfig, for New's errors
}

// Server is one [serverN] section.
type Server struct {
	Name       string // section name, e.g. "server0"; used in error messages
	Addr       string // "ip:port"
	Weight     int    // hashring: relative share of keys, 1..MaxWeight
	BackupAddr string // sharding: "ip_bak:port_bak", "" when the shard has no backup
	ShardBegin int    // sharding: first shard (inclusive)
	ShardEnd   int    // sharding: last shard (inclusive)
}

// ConfigError is a problem in a client config. Section and Key are empty
// when the problem is not tied to one.
type ConfigError struct {
	File    string // file name as given to LoadConfig/ParseConfig
	Section string // e.g. "server1"
	Key     string // e.g. "port"
	Msg     string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("router: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Section != "" {
		b.WriteString("[" + e.Section + "]")
		if e.Key != "" {
			b.WriteString(" " + e.Key)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadConfig reads and validates an <app>_cli.conf file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("router: read client config: %w", err)
	}
	return ParseConfig(data, path)
}

var serverSection = regexp.MustCompile(`^server([0-9]+)$`)

// ParseConfig parses and validates the contents of an <app>_cli.conf; name
// (usually the file path) appears in error messages. A key given twice, and a key
// svrkit does not read in [server] or [serverN], are errors; other sections are
// the user's and are ignored.
func ParseConfig(data []byte, name string) (*Config, error) {
	f, err := conffile.Parse(data)
	if err != nil {
		var ce *conffile.Error
		if errors.As(err, &ce) {
			return nil, &ConfigError{File: name, Section: ce.Section, Key: ce.Key, Msg: ce.Msg}
		}
		return nil, &ConfigError{File: name, Msg: "not an ini file: " + err.Error()}
	}
	p := parser{file: name, f: f}
	cfg, err := p.parse()
	if err != nil {
		return nil, err
	}
	if err := f.CheckUnknown(func(s string) bool { return s == "server" || s == "registry" || serverSection.MatchString(s) }); err != nil {
		ce := err.(*conffile.Error)
		return nil, &ConfigError{File: name, Section: ce.Section, Key: ce.Key, Msg: ce.Msg}
	}
	return cfg, nil
}

type parser struct {
	file string
	f    *conffile.File
}

func (p *parser) errf(section, key, format string, args ...any) error {
	return &ConfigError{File: p.file, Section: section, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse() (*Config, error) {
	if !p.f.HasSection("server") {
		return nil, p.errf("server", "", "missing section")
	}
	mode, _ := p.f.Get("server", "mode")
	cfg := &Config{Mode: strings.ToLower(mode), file: p.file}
	var err error
	if cfg.Security, err = p.security(); err != nil {
		return nil, err
	}
	switch cfg.Mode {
	case ModeHashring:
	case ModeSharding:
		if cfg.ShardSum, err = p.intKey("server", "shardsum", true, 0); err != nil {
			return nil, err
		}
		if cfg.ShardSum < 1 {
			return nil, p.errf("server", "shardsum", "%d is not a shard count (want >= 1)", cfg.ShardSum)
		}
	case "":
		return nil, p.errf("server", "mode", "missing (want hashring or sharding)")
	default:
		return nil, p.errf("server", "mode", "unknown mode %q (want hashring or sharding)", mode)
	}
	if p.f.HasSection("registry") {
		p.f.Get("server", "sum") // allowed beside [registry], and unused
		for _, s := range p.f.Sections() {
			if serverSection.MatchString(s) {
				return nil, p.errf(s, "", "[registry] replaces the [serverN] sections: remove them, or remove [registry]")
			}
		}
		cfg.Registry, err = p.registry()
		return cfg, err
	}
	sum, err := p.intKey("server", "sum", true, 0)
	if err != nil {
		return nil, err
	}
	if sum < 1 {
		return nil, p.errf("server", "sum", "%d is not a server count (want >= 1)", sum)
	}
	for _, s := range p.f.Sections() {
		m := serverSection.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		if n, err := strconv.Atoi(m[1]); err != nil || n >= sum || m[1] != strconv.Itoa(n) {
			return nil, p.errf(s, "", "section does not match [server] sum=%d (want server0..server%d)", sum, sum-1)
		}
	}
	for i := 0; i < sum; i++ {
		name := "server" + strconv.Itoa(i)
		if !p.f.HasSection(name) {
			return nil, p.errf(name, "", "missing section ([server] sum=%d needs server0..server%d)", sum, sum-1)
		}
		srv, err := p.server(cfg, name)
		if err != nil {
			return nil, err
		}
		cfg.Servers = append(cfg.Servers, srv)
	}
	if err := validate(cfg, p.file); err != nil {
		return nil, err
	}
	return cfg, nil
}

func (p *parser) server(cfg *Config, name string) (Server, error) {
	srv := Server{Name: name}
	var err error
	if srv.Addr, err = p.addr(name, "ip", "port", true); err != nil {
		return srv, err
	}
	if cfg.Mode == ModeHashring {
		srv.Weight, err = p.intKey(name, "weight", false, DefaultWeight)
		return srv, err
	}
	if srv.BackupAddr, err = p.addr(name, "ip_bak", "port_bak", false); err != nil {
		return srv, err
	}
	if srv.ShardBegin, err = p.intKey(name, "shardbegin", true, 0); err != nil {
		return srv, err
	}
	srv.ShardEnd, err = p.intKey(name, "shardend", true, 0)
	return srv, err
}

// addr reads an ip/port key pair of section sec; when required is false both may be absent.
func (p *parser) addr(sec, ipKey, portKey string, required bool) (string, error) {
	ip, hasIP := p.f.Get(sec, ipKey)
	raw, hasPort := p.f.Get(sec, portKey)
	if !required && !hasIP && !hasPort {
		return "", nil
	}
	if ip == "" {
		return "", p.errf(sec, ipKey, "missing (%s=%s needs an address)", portKey, raw)
	}
	if !hasPort {
		return "", p.errf(sec, portKey, "missing")
	}
	port, err := strconv.Atoi(raw)
	if err != nil || port < 1 || port > 65535 {
		return "", p.errf(sec, portKey, "%q is not a port (want 1..65535)", raw)
	}
	return net.JoinHostPort(ip, strconv.Itoa(port)), nil
}

func (p *parser) intKey(sec, key string, required bool, def int) (int, error) {
	raw, ok := p.f.Get(sec, key)
	if !ok {
		if required {
			return 0, p.errf(sec, key, "missing")
		}
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, p.errf(sec, key, "%q is not an integer", raw)
	}
	return n, nil
}

// validate checks a Config, parsed or built by hand. file may be "".
func validate(cfg *Config, file string) error {
	errf := func(section, key, format string, args ...any) error {
		return &ConfigError{File: file, Section: section, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if cfg == nil {
		return errf("", "", "nil config")
	}
	if len(cfg.Servers) == 0 {
		return errf("server", "sum", "no servers")
	}
	name := func(i int) string {
		if n := cfg.Servers[i].Name; n != "" {
			return n
		}
		return "Servers[" + strconv.Itoa(i) + "]"
	}
	for i, s := range cfg.Servers {
		if err := checkAddr(s.Addr); err != nil {
			return errf(name(i), "ip/port", "%v", err)
		}
	}
	switch cfg.Mode {
	case ModeHashring:
		for i, s := range cfg.Servers {
			if s.Weight < 1 || s.Weight > MaxWeight {
				return errf(name(i), "weight", "%d is out of range (want 1..%d)", s.Weight, MaxWeight)
			}
		}
		return nil
	case ModeSharding:
	default:
		return errf("server", "mode", "unknown mode %q (want hashring or sharding)", cfg.Mode)
	}
	if cfg.ShardSum < 1 {
		return errf("server", "shardsum", "%d is not a shard count (want >= 1)", cfg.ShardSum)
	}
	order := make([]int, len(cfg.Servers))
	for i, s := range cfg.Servers {
		if s.BackupAddr != "" {
			if err := checkAddr(s.BackupAddr); err != nil {
				return errf(name(i), "ip_bak/port_bak", "%v", err)
			}
		}
		if s.ShardBegin < 0 || s.ShardBegin >= cfg.ShardSum {
			return errf(name(i), "shardbegin", "%d is outside 0..%d (shardsum=%d)", s.ShardBegin, cfg.ShardSum-1, cfg.ShardSum)
		}
		if s.ShardEnd < s.ShardBegin || s.ShardEnd >= cfg.ShardSum {
			return errf(name(i), "shardend", "%d is outside %d..%d (shardbegin=%d, shardsum=%d)", s.ShardEnd, s.ShardBegin, cfg.ShardSum-1, s.ShardBegin, cfg.ShardSum)
		}
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return cfg.Servers[order[a]].ShardBegin < cfg.Servers[order[b]].ShardBegin })
	next := 0 // first shard not yet covered
	for k, i := range order {
		s := cfg.Servers[i]
		if s.ShardBegin < next {
			prev := order[k-1]
			return errf(name(i), "shardbegin", "shards %d-%d overlap [%s] shards %d-%d",
				s.ShardBegin, s.ShardEnd, name(prev), cfg.Servers[prev].ShardBegin, cfg.Servers[prev].ShardEnd)
		}
		if s.ShardBegin > next {
			return errf("", "", "shards %d-%d are not covered by any [serverN] (shardsum=%d)", next, s.ShardBegin-1, cfg.ShardSum)
		}
		next = s.ShardEnd + 1
	}
	if next < cfg.ShardSum {
		return errf("", "", "shards %d-%d are not covered by any [serverN] (shardsum=%d)", next, cfg.ShardSum-1, cfg.ShardSum)
	}
	return nil
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", addr, err)
	}
	if host == "" {
		return fmt.Errorf("%q has no host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has a bad port (want 1..65535)", addr)
	}
	return nil
}
