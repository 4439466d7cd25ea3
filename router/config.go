package router

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-ini/ini"
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
// (usually the file path) appears in error messages.
func ParseConfig(data []byte, name string) (*Config, error) {
	f, err := ini.LoadSources(ini.LoadOptions{}, data)
	if err != nil {
		return nil, &ConfigError{File: name, Msg: "not an ini file: " + err.Error()}
	}
	p := parser{file: name, f: f}
	return p.parse()
}

type parser struct {
	file string
	f    *ini.File
}

func (p *parser) errf(section, key, format string, args ...any) error {
	return &ConfigError{File: p.file, Section: section, Key: key, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse() (*Config, error) {
	head, err := p.f.GetSection("server")
	if err != nil {
		return nil, p.errf("server", "", "missing section")
	}
	cfg := &Config{Mode: strings.ToLower(strings.TrimSpace(head.Key("mode").String()))}
	switch cfg.Mode {
	case ModeHashring:
	case ModeSharding:
		if cfg.ShardSum, err = p.intKey(head, "shardsum", true, 0); err != nil {
			return nil, err
		}
		if cfg.ShardSum < 1 {
			return nil, p.errf("server", "shardsum", "%d is not a shard count (want >= 1)", cfg.ShardSum)
		}
	case "":
		return nil, p.errf("server", "mode", "missing (want hashring or sharding)")
	default:
		return nil, p.errf("server", "mode", "unknown mode %q (want hashring or sharding)", head.Key("mode").String())
	}
	if sec, err := p.f.GetSection("registry"); err == nil {
		cfg.Registry, err = p.registry(sec)
		return cfg, err
	}
	sum, err := p.intKey(head, "sum", true, 0)
	if err != nil {
		return nil, err
	}
	if sum < 1 {
		return nil, p.errf("server", "sum", "%d is not a server count (want >= 1)", sum)
	}
	for _, s := range p.f.Sections() {
		m := serverSection.FindStringSubmatch(s.Name())
		if m == nil {
			continue
		}
		if n, err := strconv.Atoi(m[1]); err != nil || n >= sum || m[1] != strconv.Itoa(n) {
			return nil, p.errf(s.Name(), "", "section does not match [server] sum=%d (want server0..server%d)", sum, sum-1)
		}
	}
	for i := 0; i < sum; i++ {
		name := "server" + strconv.Itoa(i)
		sec, err := p.f.GetSection(name)
		if err != nil {
			return nil, p.errf(name, "", "missing section ([server] sum=%d needs server0..server%d)", sum, sum-1)
		}
		srv, err := p.server(cfg, sec)
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

func (p *parser) server(cfg *Config, sec *ini.Section) (Server, error) {
	name := sec.Name()
	srv := Server{Name: name}
	var err error
	if srv.Addr, err = p.addr(sec, "ip", "port", true); err != nil {
		return srv, err
	}
	if cfg.Mode == ModeHashring {
		srv.Weight, err = p.intKey(sec, "weight", false, DefaultWeight)
		return srv, err
	}
	if srv.BackupAddr, err = p.addr(sec, "ip_bak", "port_bak", false); err != nil {
		return srv, err
	}
	if srv.ShardBegin, err = p.intKey(sec, "shardbegin", true, 0); err != nil {
		return srv, err
	}
	srv.ShardEnd, err = p.intKey(sec, "shardend", true, 0)
	return srv, err
}

// addr reads an ip/port key pair; when required is false both may be absent.
func (p *parser) addr(sec *ini.Section, ipKey, portKey string, required bool) (string, error) {
	hasIP, hasPort := sec.HasKey(ipKey), sec.HasKey(portKey)
	if !required && !hasIP && !hasPort {
		return "", nil
	}
	ip := strings.TrimSpace(sec.Key(ipKey).String())
	if ip == "" {
		return "", p.errf(sec.Name(), ipKey, "missing (%s=%s needs an address)", portKey, sec.Key(portKey).String())
	}
	if !hasPort {
		return "", p.errf(sec.Name(), portKey, "missing")
	}
	raw := strings.TrimSpace(sec.Key(portKey).String())
	port, err := strconv.Atoi(raw)
	if err != nil || port < 1 || port > 65535 {
		return "", p.errf(sec.Name(), portKey, "%q is not a port (want 1..65535)", raw)
	}
	return net.JoinHostPort(ip, strconv.Itoa(port)), nil
}

func (p *parser) intKey(sec *ini.Section, key string, required bool, def int) (int, error) {
	if !sec.HasKey(key) {
		if required {
			return 0, p.errf(sec.Name(), key, "missing")
		}
		return def, nil
	}
	raw := strings.TrimSpace(sec.Key(key).String())
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, p.errf(sec.Name(), key, "%q is not an integer", raw)
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
