package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/svrkit/svrkit/workers"
)

// Registrar is a service.Registrar: it keeps <prefix>/<advertise> set to this server's
// Value under a lease of [registry] ttl, granting a new lease and registering again after
// an etcd outage or when the key is deleted, until Deregister or Release. A registration
// re-put under another lease (the new master of a graceful restart taking over) is left
// alone.
type Registrar struct {
	cfg   workers.RegistryConfig
	key   string
	value string
	log   *slog.Logger

	mu         sync.Mutex
	cli        *clientv3.Client
	stop       context.CancelFunc
	done       chan struct{} // closed when the loop has returned
	registered chan struct{} // closed at the first registration
	lease      clientv3.LeaseID
	takenOver  bool
}

// NewRegistrar returns the Registrar for cfg. log receives outages; nil discards.
func NewRegistrar(cfg workers.RegistryConfig, log *slog.Logger) *Registrar {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	role := cfg.Role
	if role == "master" {
		role = ""
	}
	v, _ := json.Marshal(Value{Addr: cfg.Advertise, Weight: cfg.Weight, ShardBegin: cfg.ShardBegin, ShardEnd: cfg.ShardEnd, Role: role})
	return &Registrar{cfg: cfg, key: strings.TrimSuffix(cfg.Prefix, "/") + "/" + cfg.Advertise, value: string(v),
		log: log.With("etcd", cfg.Addrs), registered: make(chan struct{})}
}

// Key is the key the server is registered under.
func (r *Registrar) Key() string { return r.key }

// Register starts registering and keeping the registration alive. It returns once the
// server is registered, or with ctx's error while it keeps trying in the background.
func (r *Registrar) Register(ctx context.Context) error {
	r.mu.Lock()
	if r.cli == nil {
		cli, err := newClient(r.cfg.Addrs)
		if err != nil {
			r.mu.Unlock()
			return fmt.Errorf("etcd %s: %w", strings.Join(r.cfg.Addrs, ","), err)
		}
		lctx, stop := context.WithCancel(context.Background())
		r.cli, r.stop, r.done = cli, stop, make(chan struct{})
		go r.loop(lctx)
	}
	r.mu.Unlock()
	select {
	case <-r.registered:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("etcd: %s not registered yet: %w", r.key, ctx.Err())
	}
}

// Deregister withdraws the registration: the key is deleted with the lease.
func (r *Registrar) Deregister(ctx context.Context) error { return r.leave(ctx) }

// Release stops keeping the registration alive. The lease is revoked, which deletes the key
// unless another process (the new master of a graceful restart) has re-put it under its own
// lease: that registration stays.
func (r *Registrar) Release(ctx context.Context) error { return r.leave(ctx) }

func (r *Registrar) leave(ctx context.Context) error {
	r.mu.Lock()
	cli, stop, done := r.cli, r.stop, r.done
	r.mu.Unlock()
	if cli == nil {
		return nil
	}
	stop()
	<-done
	defer cli.Close()
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	if lease == 0 {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	if _, err := cli.Revoke(rctx, lease); err != nil {
		return fmt.Errorf("etcd: revoke the lease of %s: %w", r.key, err)
	}
	return nil
}

// loop keeps the registration until ctx is cancelled.
func (r *Registrar) loop(ctx context.Context) {
	defer close(r.done)
	backoff := 100 * time.Millisecond
	for {
		err := r.session(ctx)
		if ctx.Err() != nil {
			return
		}
		r.mu.Lock()
		taken := r.takenOver
		r.mu.Unlock()
		if taken {
			<-ctx.Done()
			return
		}
		r.log.Warn("etcd: registration lost; registering again", "key", r.key, "err", err)
		if !sleep(ctx.Done(), backoff) {
			return
		}
		// Retry well within a lease's life: etcd keeps the old lease (and the key) for
		// about ttl after it comes back, and the next session reuses it.
		backoff = min(nextBackoff(backoff), r.cfg.TTL/4)
	}
}

// session registers under a new lease and keeps it until the lease is lost, the key is
// taken over, or ctx ends.
func (r *Registrar) session(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	lease, err := r.grant(tctx)
	if err != nil {
		return err
	}
	rev, err := r.put(tctx, lease)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.lease
	r.lease = lease
	r.mu.Unlock()
	if old != 0 && old != lease {
		// Only now: the key is on the new lease, so revoking the old one deletes nothing.
		r.cli.Revoke(tctx, old) // best effort: it expires anyway
	}
	select {
	case <-r.registered:
	default:
		r.log.Info("etcd: registered", "key", r.key, "value", r.value, "ttl", r.cfg.TTL)
		close(r.registered)
	}
	ka, err := r.cli.KeepAlive(ctx, lease)
	if err != nil {
		return err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch := r.cli.Watch(wctx, r.key, clientv3.WithRev(rev+1))
	for {
		select {
		case _, ok := <-ka:
			if !ok {
				return errors.New("the lease keep-alive ended (lease expired or etcd unreachable)")
			}
		case resp, ok := <-watch:
			if !ok || resp.Err() != nil {
				return fmt.Errorf("watch of own key ended: %v", resp.Err())
			}
			for _, ev := range resp.Events {
				switch {
				case ev.Type == clientv3.EventTypeDelete:
					r.log.Warn("etcd: registration deleted; registering again", "key", r.key)
					pctx, cancel := context.WithTimeout(ctx, opTimeout)
					_, err := r.put(pctx, lease)
					cancel()
					if err != nil {
						return err
					}
				case clientv3.LeaseID(ev.Kv.Lease) != lease:
					r.log.Info("etcd: registration taken over by another process (a graceful restart's new master)", "key", r.key)
					r.mu.Lock()
					r.takenOver = true
					r.mu.Unlock()
					watch = nil // keep only the lease alive until Release
				}
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// grant returns the lease to register under: the current one if etcd still has it (the
// keep-alive gave up during an outage, but etcd extends leases when it restarts), else a
// new one.
func (r *Registrar) grant(ctx context.Context) (clientv3.LeaseID, error) {
	r.mu.Lock()
	lease := r.lease
	r.mu.Unlock()
	if lease != 0 {
		if _, err := r.cli.KeepAliveOnce(ctx, lease); err == nil {
			return lease, nil
		}
	}
	g, err := r.cli.Grant(ctx, int64((r.cfg.TTL+time.Second-1)/time.Second))
	if err != nil {
		return 0, err
	}
	return g.ID, nil
}

func (r *Registrar) put(ctx context.Context, lease clientv3.LeaseID) (int64, error) {
	resp, err := r.cli.Put(ctx, r.key, r.value, clientv3.WithLease(lease))
	if err != nil {
		return 0, err
	}
	return resp.Header.Revision, nil
}
