package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/svrkit/svrkit/router"
)

// Registry is a router.Registry over the servers registered under a prefix: it loads them,
// then watches the prefix, sending the client a full snapshot after each change. While etcd
// is unreachable it sends nothing (the client keeps its last snapshot) and reconnects.
type Registry struct {
	addrs  []string
	prefix string
	log    *slog.Logger
}

// NewRegistry returns the Registry of the servers registered under prefix in the etcd
// cluster at addrs (host:port each). log receives outages and refused values; nil discards.
func NewRegistry(addrs []string, prefix string, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registry{addrs: addrs, prefix: strings.TrimSuffix(prefix, "/") + "/", log: log}
}

type entry struct {
	m   router.Member
	rev int64 // create revision: older claims first
}

// Watch implements router.Registry.
func (r *Registry) Watch(ctx context.Context, update func(router.Snapshot)) error {
	cli, err := newClient(r.addrs)
	if err != nil {
		return fmt.Errorf("etcd %s: %w", strings.Join(r.addrs, ","), err)
	}
	defer cli.Close()
	backoff := 100 * time.Millisecond
	for {
		rev, members, err := r.load(ctx, cli)
		if err == nil {
			backoff = 100 * time.Millisecond
			update(snapshot(rev, members))
			err = r.follow(ctx, cli, rev, members, update)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Warn("etcd: membership watch interrupted; routing on the last membership", "etcd", r.addrs, "prefix", r.prefix, "err", err)
		if !sleep(ctx.Done(), backoff) {
			return ctx.Err()
		}
		backoff = nextBackoff(backoff)
	}
}

// load reads every member under the prefix.
func (r *Registry) load(ctx context.Context, cli *clientv3.Client) (int64, map[string]entry, error) {
	gctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	resp, err := cli.Get(gctx, r.prefix, clientv3.WithPrefix())
	if err != nil {
		return 0, nil, err
	}
	members := make(map[string]entry, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		r.put(members, string(kv.Key), kv.Value, kv.CreateRevision)
	}
	return resp.Header.Revision, members, nil
}

// put records a registered value; a malformed one is logged and leaves the member out.
func (r *Registry) put(members map[string]entry, key string, value []byte, rev int64) {
	m, err := parseValue(key, value)
	if err != nil {
		delete(members, key)
		r.log.Error("etcd: ignoring a malformed registered value", "key", key, "err", err)
		return
	}
	members[key] = entry{m: m, rev: rev}
}

// follow applies the watched changes after rev until the watch fails or ctx ends.
func (r *Registry) follow(ctx context.Context, cli *clientv3.Client, rev int64, members map[string]entry, update func(router.Snapshot)) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range cli.Watch(wctx, r.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1)) {
		if err := resp.Err(); err != nil {
			return err
		}
		for _, ev := range resp.Events {
			key := string(ev.Kv.Key)
			if ev.Type == clientv3.EventTypeDelete {
				delete(members, key)
				continue
			}
			r.put(members, key, ev.Kv.Value, ev.Kv.CreateRevision)
		}
		if len(resp.Events) > 0 {
			update(snapshot(resp.Header.Revision, members))
		}
	}
	return errors.New("watch closed")
}

// snapshot lists members oldest registration first.
func snapshot(rev int64, members map[string]entry) router.Snapshot {
	es := make([]entry, 0, len(members))
	for _, e := range members {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool {
		if es[i].rev != es[j].rev {
			return es[i].rev < es[j].rev
		}
		return es[i].m.Key < es[j].m.Key
	})
	s := router.Snapshot{Version: rev, Members: make([]router.Member, len(es))}
	for i, e := range es {
		s.Members[i] = e.m
	}
	return s
}
