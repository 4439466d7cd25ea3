package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// A Registry tells a Client which servers make up the cluster, as full
// snapshots. A Config's [serverN] list is one (it never changes); the etcd
// package provides one that follows servers registering themselves.
type Registry interface {
	// Watch calls update with the current membership as soon as it is
	// known, then with the whole membership again after each change, until
	// ctx is cancelled; it then returns ctx.Err(). It returns nil once it
	// knows the membership will not change again (a static list), and
	// another error only for a problem retrying cannot fix. Through registry
	// outages it retries by itself, sending nothing: the client keeps
	// routing on the last snapshot. update is never called concurrently.
	Watch(ctx context.Context, update func(Snapshot)) error
}

// Snapshot is the whole membership at one moment.
type Snapshot struct {
	// Version orders snapshots (e.g. the etcd revision); logged only.
	Version int64
	// Members, oldest registration first: when two masters claim
	// overlapping shards, the older claim wins and the other is refused.
	Members []Member
}

// Roles of a sharding Member.
const (
	RoleMaster = "master"
	RoleBackup = "backup"
)

// Member is one server of a Snapshot.
type Member struct {
	Key        string // the registry's name for it (etcd key, config section): for messages
	Addr       string // host:port to dial
	Weight     int    // hashring: share of the keys, 1..MaxWeight; 0 means DefaultWeight
	ShardBegin int    // sharding: first shard served (inclusive)
	ShardEnd   int    // sharding: last shard served (inclusive)
	Role       string // sharding: RoleMaster ("" too) or RoleBackup
}

// RegistryConfig is the [registry] section of an <app>_cli.conf: the
// servers come from a registry instead of [serverN] sections.
type RegistryConfig struct {
	Kind   string        // which registry: the key naming its servers, "etcd" or "srv"
	Addrs  []string      // etcd: the registry's servers, host:port each
	Prefix string        // etcd: where the servers register, e.g. "/svrkit/echo"
	Wait   time.Duration // how long New waits for the first snapshot; 0 means DefaultRegistryWait

	SRV      string        // srv: the DNS SRV name, e.g. "_echo._tcp.echo.default.svc.cluster.local"
	Interval time.Duration // srv: how often it is resolved again; 0 means the package's default
}

// DefaultRegistryWait is how long New waits for a registry's first snapshot
// before it fails.
const DefaultRegistryWait = 5 * time.Second

// OpenRegistryFunc opens the Registry a RegistryConfig describes.
type OpenRegistryFunc func(cfg RegistryConfig, log *slog.Logger) (Registry, error)

var kinds struct {
	sync.Mutex
	open map[string]OpenRegistryFunc
}

// RegisterRegistry makes a registry kind (the [registry] key naming its
// servers) available to New. Registry packages call it from init, so that
// a blank import (import _ "github.com/svrkit/svrkit/etcd") in a file of
// the program is what links them in; programs without one never link a
// registry client. It panics if kind is registered twice.
func RegisterRegistry(kind string, open OpenRegistryFunc) {
	kinds.Lock()
	defer kinds.Unlock()
	if kinds.open == nil {
		kinds.open = make(map[string]OpenRegistryFunc)
	}
	if _, dup := kinds.open[kind]; dup {
		panic("router: RegisterRegistry called twice for " + kind)
	}
	kinds.open[kind] = open
}

func openRegistry(cfg RegistryConfig, log *slog.Logger) (Registry, error) {
	kinds.Lock()
	open := kinds.open[cfg.Kind]
	kinds.Unlock()
	if open == nil {
		return nil, fmt.Errorf("router: [registry] %s: no %s registry is linked into this program (add import _ \"github.com/svrkit/svrkit/%s\" to one of its files)",
			cfg.Kind, cfg.Kind, cfg.Kind)
	}
	return open(cfg, log)
}

// validateFor checks cfg for New: a whole static config, or only the mode
// when the servers come from a registry.
func validateFor(cfg *Config, opts Options) error {
	if cfg == nil || (cfg.Registry == nil && opts.Registry == nil) {
		return validate(cfg, "")
	}
	switch {
	case cfg.Mode != ModeHashring && cfg.Mode != ModeSharding:
		return &ConfigError{Section: "server", Key: "mode", Msg: fmt.Sprintf("unknown mode %q (want hashring or sharding)", cfg.Mode)}
	case cfg.Mode == ModeSharding && cfg.ShardSum < 1:
		return &ConfigError{Section: "server", Key: "shardsum", Msg: fmt.Sprintf("%d is not a shard count (want >= 1)", cfg.ShardSum)}
	}
	return nil
}

// follow gives the client its first membership: cfg's servers, or the
// registry's first snapshot, waited for at most the configured time. A
// registry is then watched until ctx is cancelled (Close).
func (c *Client) follow(ctx context.Context, cfg *Config) error {
	reg, wait := c.opts.Registry, c.opts.RegistryWait
	if reg == nil && cfg.Registry != nil {
		var err error
		if reg, err = openRegistry(*cfg.Registry, c.log); err != nil {
			return err
		}
		if wait <= 0 {
			wait = cfg.Registry.Wait
		}
	}
	if reg == nil {
		reg = static{cfg}
	}
	if wait <= 0 {
		wait = DefaultRegistryWait
	}
	first := make(chan struct{})
	var once sync.Once
	ended := make(chan error, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := reg.Watch(ctx, func(s Snapshot) {
			c.update(s)
			once.Do(func() { close(first) })
		})
		if err != nil && ctx.Err() == nil {
			c.log.Error("router: registry watch ended; routing stays on the last membership", "err", err)
		}
		ended <- err
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-first:
		return nil
	case err := <-ended:
		select {
		case <-first: // a static list: one snapshot, then nil
			return nil
		default:
		}
		if err == nil {
			err = errors.New("the watch ended without a membership")
		}
		return fmt.Errorf("router: registry: %w", err)
	case <-t.C:
		return fmt.Errorf("router: registry: no membership within %v (is the registry reachable? [registry] wait sets the time)", wait)
	}
}

// update makes snapshot s the client's membership.
func (c *Client) update(s Snapshot) {
	servers := snapshotServers(c.cfg.Mode, c.cfg.ShardSum, s, c.log)
	c.apply(s.Version, servers)
	if c.opts.Registry != nil || c.cfg.Registry != nil {
		addrs := make([]string, len(servers))
		for i, sv := range servers {
			addrs[i] = sv.Addr
			if sv.BackupAddr != "" {
				addrs[i] += "+" + sv.BackupAddr
			}
		}
		c.log.Info("router: membership", "version", s.Version, "servers", strings.Join(addrs, " "))
	}
}

// snapshotServers turns a snapshot into a Config's server list, leaving out
// (and logging) members that are invalid or whose shards conflict with an
// older claim: overlapping masters, a backup whose range matches no master
// but overlaps one, a second backup. A backup whose master is gone serves
// the range alone.
func snapshotServers(mode string, shardSum int, s Snapshot, log *slog.Logger) []Server {
	var out []Server
	refuse := func(m Member, format string, args ...any) {
		log.Error("router: registry member refused", "key", m.Key, "addr", m.Addr, "reason", fmt.Sprintf(format, args...))
	}
	var backups []Member
	for _, m := range s.Members {
		if err := checkAddr(m.Addr); err != nil {
			refuse(m, "%v", err)
			continue
		}
		if mode == ModeHashring {
			w := m.Weight
			if w == 0 {
				w = DefaultWeight
			}
			if w < 1 || w > MaxWeight {
				refuse(m, "weight %d is out of range (want 1..%d)", m.Weight, MaxWeight)
				continue
			}
			out = append(out, Server{Name: m.Key, Addr: m.Addr, Weight: w})
			continue
		}
		if m.ShardBegin < 0 || m.ShardEnd < m.ShardBegin || m.ShardEnd >= shardSum {
			refuse(m, "shards %d-%d are not a range in 0..%d (shardsum=%d)", m.ShardBegin, m.ShardEnd, shardSum-1, shardSum)
			continue
		}
		switch m.Role {
		case "", RoleMaster:
			if i := overlapping(out, m); i >= 0 {
				refuse(m, "shards %d-%d overlap the older claim of %s (shards %d-%d)", m.ShardBegin, m.ShardEnd, out[i].Name, out[i].ShardBegin, out[i].ShardEnd)
				continue
			}
			out = append(out, Server{Name: m.Key, Addr: m.Addr, ShardBegin: m.ShardBegin, ShardEnd: m.ShardEnd})
		case RoleBackup:
			backups = append(backups, m)
		default:
			refuse(m, "role %q is not %s or %s", m.Role, RoleMaster, RoleBackup)
		}
	}
	for _, m := range backups {
		i := overlapping(out, m)
		switch {
		case i < 0: // its master is gone: it serves the range
			out = append(out, Server{Name: m.Key, Addr: m.Addr, ShardBegin: m.ShardBegin, ShardEnd: m.ShardEnd})
		case out[i].ShardBegin != m.ShardBegin || out[i].ShardEnd != m.ShardEnd:
			refuse(m, "backup of shards %d-%d overlaps %s (shards %d-%d)", m.ShardBegin, m.ShardEnd, out[i].Name, out[i].ShardBegin, out[i].ShardEnd)
		case out[i].BackupAddr != "":
			refuse(m, "shards %d-%d already have a backup (%s)", m.ShardBegin, m.ShardEnd, out[i].BackupAddr)
		default:
			out[i].BackupAddr = m.Addr
		}
	}
	if mode == ModeSharding {
		sort.Slice(out, func(i, j int) bool { return out[i].ShardBegin < out[j].ShardBegin })
	}
	return out
}

// overlapping returns the index of a server whose shards overlap m's, or -1.
func overlapping(servers []Server, m Member) int {
	for i, s := range servers {
		if m.ShardBegin <= s.ShardEnd && s.ShardBegin <= m.ShardEnd {
			return i
		}
	}
	return -1
}

// static is a Config's [serverN] list as a Registry: one snapshot.
type static struct{ cfg *Config }

func (s static) Watch(ctx context.Context, update func(Snapshot)) error {
	var snap Snapshot
	for _, sv := range s.cfg.Servers {
		m := Member{Key: sv.Name, Addr: sv.Addr, Weight: sv.Weight, ShardBegin: sv.ShardBegin, ShardEnd: sv.ShardEnd}
		snap.Members = append(snap.Members, m)
		if sv.BackupAddr != "" {
			m.Addr, m.Role = sv.BackupAddr, RoleBackup
			snap.Members = append(snap.Members, m)
		}
	}
	update(snap)
	return nil
}

func noMembers(v *view) error {
	return fmt.Errorf("%w (registry snapshot version %d is empty)", ErrNoServer, v.version)
}

func (c *Client) noShardServer(v *view) error {
	return fmt.Errorf("%w: no server claims shard %d (registry snapshot version %d)",
		ErrNoServer, shardOf(c.opts.ID, c.cfg.ShardSum), v.version)
}

// registry parses a client config's [registry] section.
func (p *parser) registry() (*RegistryConfig, error) {
	const sec = "registry"
	prefix, _ := p.f.Get(sec, "prefix")
	rc := &RegistryConfig{Kind: "etcd", Prefix: prefix}
	var err error
	if rc.Wait, err = p.duration(sec, "wait"); err != nil {
		return nil, err
	}
	if srv, ok := p.f.Get(sec, "srv"); ok {
		rc.Kind, rc.SRV = "srv", srv
		if _, both := p.f.Get(sec, "etcd"); both {
			return nil, p.errf(sec, "srv", "set etcd or srv, not both")
		}
		if rc.SRV == "" {
			return nil, p.errf(sec, "srv", "missing (want an SRV name such as _echo._tcp.echo.default.svc.cluster.local)")
		}
		rc.Interval, err = p.duration(sec, "interval")
		return rc, err
	}
	raw, _ := p.f.Get(sec, "etcd")
	if raw == "" {
		return nil, p.errf(sec, "etcd", "missing (want host:port[,host:port...], or srv = an SRV name)")
	}
	for _, a := range strings.Split(raw, ",") {
		a = strings.TrimSpace(a)
		if err := checkAddr(a); err != nil {
			return nil, p.errf(sec, "etcd", "%v", err)
		}
		rc.Addrs = append(rc.Addrs, a)
	}
	if rc.Prefix == "" || !strings.HasPrefix(rc.Prefix, "/") {
		return nil, p.errf(sec, "prefix", "%q is not a key prefix (want /svrkit/<app>, as in the servers' [registry])", rc.Prefix)
	}
	return rc, nil
}

// duration reads an optional positive duration key of sec; 0 when absent.
func (p *parser) duration(sec, key string) (time.Duration, error) {
	raw, ok := p.f.Get(sec, key)
	if !ok {
		return 0, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d <= 0 {
		return 0, p.errf(sec, key, "%q is not a positive duration (e.g. 5s)", raw)
	}
	return d, nil
}
