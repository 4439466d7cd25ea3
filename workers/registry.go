package workers

import (
	"net"
	"strings"
	"time"
)

// DefaultRegistryTTL is the lease of a registration when [registry] ttl is absent.
const DefaultRegistryTTL = 10 * time.Second

// RegistryConfig is the [registry] section: the master registers this server in a cluster
// registry once its workers are ready (see service.Registrar).
type RegistryConfig struct {
	Kind       string        // which registry: the key naming its servers ("etcd")
	Addrs      []string      // etcd = host:port[,host:port...] (required)
	Prefix     string        // prefix (optional): default /svrkit/<app>
	TTL        time.Duration // ttl (optional): lease time; default 10s, at least 2s
	Weight     int           // weight (optional, 1..1000): hashring share; 0 = the client's default
	ShardBegin int           // shardbegin, shardend (sharding; both or neither): shards served
	ShardEnd   int
	Role       string // role (optional): master (default) | backup
	Advertise  string // advertise (optional): host:port clients dial; default [rpc_server] ip:port
}

// registry reads [registry]; c.RPC is already read.
func (r reader) registry(c *Config) (*RegistryConfig, error) {
	const sec = "registry"
	g := &RegistryConfig{Kind: "etcd", Prefix: "/svrkit/" + c.App.Name, Role: "master"}
	raw, err := r.str(sec, "etcd", "host:port[,host:port...]")
	if err != nil {
		return nil, err
	}
	for _, a := range strings.Split(raw, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, r.errf(sec, "etcd", "bad value %q (allowed: host:port[,host:port...])", raw)
		}
		g.Addrs = append(g.Addrs, a)
	}
	if v, ok := r.raw(sec, "prefix"); ok && v != "" {
		if !strings.HasPrefix(v, "/") || strings.HasSuffix(v, "/") {
			return nil, r.errf(sec, "prefix", "bad value %q (allowed: a key prefix such as /svrkit/%s)", v, c.App.Name)
		}
		g.Prefix = v
	}
	if g.TTL, err = r.optDuration(sec, "ttl"); err != nil {
		return nil, err
	}
	if g.TTL == 0 {
		g.TTL = DefaultRegistryTTL
	}
	if g.TTL < 2*time.Second {
		return nil, r.errf(sec, "ttl", "bad value %v (allowed: 2s or more; etcd leases count in seconds)", g.TTL)
	}
	if g.Weight, err = r.optInt(sec, "weight", 1, 1000); err != nil {
		return nil, err
	}
	_, hasBegin := r.raw(sec, "shardbegin")
	_, hasEnd := r.raw(sec, "shardend")
	if hasBegin || hasEnd {
		if g.ShardBegin, err = r.intIn(sec, "shardbegin", 0, 1<<30); err != nil {
			return nil, err
		}
		if g.ShardEnd, err = r.intIn(sec, "shardend", g.ShardBegin, 1<<30); err != nil {
			return nil, err
		}
	}
	if _, ok := r.raw(sec, "role"); ok {
		if g.Role, err = r.oneOf(sec, "role", "master", "backup"); err != nil {
			return nil, err
		}
	}
	g.Advertise = c.RPC.Addr()
	if v, ok := r.raw(sec, "advertise"); ok && v != "" {
		if host, port, err := net.SplitHostPort(v); err != nil || host == "" || port == "0" {
			return nil, r.errf(sec, "advertise", "bad value %q (allowed: the host:port clients dial)", v)
		}
		g.Advertise = v
	} else if ip := net.ParseIP(c.RPC.IP); ip.IsUnspecified() || c.RPC.Port == 0 {
		return nil, r.errf(sec, "advertise", "missing: [rpc_server] %s is not an address clients can dial (allowed: host:port)", c.RPC.Addr())
	}
	return g, nil
}
