package router

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// view is the routing table of one membership: the hashring or the shard
// map over the servers of a Config or of a registry's snapshot. A Client
// swaps in a new view for each snapshot; views share endpoints by address,
// so a server that stays keeps its connection and its health.
type view struct {
	version int64    // the snapshot's version (0 for a static config)
	servers []Server // what it was built from

	// hashring
	members []member
	points  *points
	ring    atomic.Pointer[ring]
	ringMu  sync.Mutex

	// sharding
	shards  []shard // sorted by begin
	myShard *shard  // the shard of Options.ID; nil: no server holds it
}

// newView builds the view of servers for a client in mode; ep returns the
// endpoint of an address. The hashring members are sorted by ring identity,
// so that the same servers in another order give the same ring.
func newView(cfg *Config, version int64, id int64, defKey string, ep func(addr string) *endpoint) *view {
	v := &view{version: version, servers: cfg.Servers}
	if cfg.Mode == ModeHashring {
		ids := memberIDs(cfg.Servers)
		for i, s := range cfg.Servers {
			v.members = append(v.members, member{id: ids[i], weight: s.Weight, ep: ep(s.Addr), name: s.Name})
		}
		v.points = newPoints(v.members)
		v.rebuild(defKey)
		return v
	}
	for i, s := range cfg.Servers {
		sh := shard{server: i, name: s.Name, begin: s.ShardBegin, end: s.ShardEnd, master: ep(s.Addr)}
		if s.BackupAddr != "" {
			sh.backup = ep(s.BackupAddr)
		}
		v.shards = append(v.shards, sh)
	}
	sort.Slice(v.shards, func(i, j int) bool { return v.shards[i].begin < v.shards[j].begin })
	v.myShard = v.shardFor(shardOf(id, cfg.ShardSum))
	return v
}

// shardFor returns the shard holding seg, nil when no server holds it (a
// snapshot may leave a gap; a validated static config never does).
func (v *view) shardFor(seg int) *shard {
	i := sort.Search(len(v.shards), func(i int) bool { return v.shards[i].end >= seg })
	if i == len(v.shards) || v.shards[i].begin > seg {
		return nil
	}
	return &v.shards[i]
}

// rebuild puts the members whose endpoints are up on a new ring, unless the
// current ring already reflects their states (a concurrent caller rebuilt it).
func (v *view) rebuild(defKey string) {
	if len(v.members) == 0 {
		return
	}
	v.ringMu.Lock()
	defer v.ringMu.Unlock()
	live := make([]bool, len(v.members))
	for i, m := range v.members {
		live[i] = !m.ep.isDown()
	}
	if r := v.ring.Load(); r != nil && slices.Equal(r.live, live) {
		return
	}
	v.ring.Store(v.points.build(live, defKey))
}
