// Package dnssrv is a router.Registry over DNS SRV records, for Kubernetes headless
// services and similar: the name is resolved again every interval (not only after a
// failure), and each record's weight is the server's hashring weight. Importing it (a blank
// import in a file you own) makes `[registry] srv = <name>` in <app>_cli.conf work:
//
//	import _ "github.com/svrkit/svrkit/dnssrv"
package dnssrv

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/svrkit/svrkit/router"
)

func init() {
	router.RegisterRegistry("srv", func(cfg router.RegistryConfig, log *slog.Logger) (router.Registry, error) {
		return &Registry{Name: cfg.SRV, Interval: cfg.Interval, Logger: log}, nil
	})
}

// DefaultInterval is how often a Registry resolves its name when Interval is 0.
const DefaultInterval = 10 * time.Second

// lookupTimeout bounds one resolution.
const lookupTimeout = 5 * time.Second

// Registry resolves an SRV name into the cluster's members. Every record is a member,
// whatever its priority: target:port is the address (dialled by name), the record's weight
// the hashring weight (0 counts as 1; above router.MaxWeight the member is refused and
// logged). When a resolution fails the client keeps the last membership.
type Registry struct {
	Name     string        // the SRV name, looked up as is (e.g. _echo._tcp.echo.default.svc.cluster.local)
	Interval time.Duration // how often it is resolved; 0 means DefaultInterval
	Resolver *net.Resolver // nil means net.DefaultResolver
	Logger   *slog.Logger  // failed resolutions; nil discards them
}

// Watch implements router.Registry: a snapshot after the first resolution, then after each
// resolution that changes the members.
func (r *Registry) Watch(ctx context.Context, update func(router.Snapshot)) error {
	interval, log := r.Interval, r.Logger
	if interval <= 0 {
		interval = DefaultInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var last []router.Member
	var version int64
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
		members, err := r.lookup(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			log.Warn("dnssrv: resolution failed; routing on the last membership", "name", r.Name, "err", err)
		case version == 0 || !slices.Equal(members, last):
			version++
			last = members
			update(router.Snapshot{Version: version, Members: members})
		}
		t.Reset(interval)
	}
}

// lookup resolves the name into members sorted by address.
func (r *Registry) lookup(ctx context.Context) ([]router.Member, error) {
	res := r.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	_, srvs, err := res.LookupSRV(ctx, "", "", r.Name)
	if err != nil {
		return nil, err
	}
	members := make([]router.Member, 0, len(srvs))
	for _, s := range srvs {
		addr := net.JoinHostPort(strings.TrimSuffix(s.Target, "."), strconv.Itoa(int(s.Port)))
		members = append(members, router.Member{Key: r.Name + " " + addr, Addr: addr, Weight: max(int(s.Weight), 1)})
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Addr < members[j].Addr })
	return members, nil
}
