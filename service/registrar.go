package service

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/svrkit/svrkit/workers"
)

// A Registrar announces this server in a cluster registry, set by the [registry] section of
// <app>_svr.conf (the etcd package provides one). The master calls it at three points:
//   - Register once its workers are ready, before it reports ready. It keeps the
//     registration alive (and re-registers after a registry outage) until Deregister or
//     Release. In the new master of a graceful restart it takes the registration over.
//   - Deregister at the start of a graceful stop, before draining, so that clients move
//     away first.
//   - Release in the old master of a graceful restart, once the new master is ready: it
//     stops keeping the registration alive without withdrawing it (the new master holds it).
type Registrar interface {
	Register(ctx context.Context) error
	Deregister(ctx context.Context) error
	Release(ctx context.Context) error
}

// OpenRegistrarFunc opens the Registrar for cfg.Registry.
type OpenRegistrarFunc func(cfg *workers.Config, log *slog.Logger) (Registrar, error)

var registrars struct {
	sync.Mutex
	open map[string]OpenRegistrarFunc
}

// RegisterRegistrar makes a registry kind (the [registry] key naming its servers) available
// to the master. Registry packages call it from init, so a blank import in a file of the
// service (import _ "github.com/svrkit/svrkit/etcd", e.g. in the rpc handler file) links it
// in; services without one never link a registry client. It panics if kind is registered
// twice.
func RegisterRegistrar(kind string, open OpenRegistrarFunc) {
	registrars.Lock()
	defer registrars.Unlock()
	if registrars.open == nil {
		registrars.open = make(map[string]OpenRegistrarFunc)
	}
	if _, dup := registrars.open[kind]; dup {
		panic("service: RegisterRegistrar called twice for " + kind)
	}
	registrars.open[kind] = open
}

// registration is the master's use of a Registrar; its methods do nothing when the config has
// no [registry].
type registration struct {
	r   Registrar
	log *slog.Logger
}

// registrationWait bounds how long the master waits for its first registration before it
// reports ready anyway (the Registrar keeps trying).
const registrationWait = 5 * time.Second

func openRegistration(cfg *workers.Config, log *slog.Logger) (*registration, error) {
	if cfg.Registry == nil {
		return &registration{}, nil
	}
	registrars.Lock()
	open := registrars.open[cfg.Registry.Kind]
	registrars.Unlock()
	if open == nil {
		return nil, fmt.Errorf("%s: [registry] %s: no %s registrar is linked into this service (add import _ \"github.com/svrkit/svrkit/%s\" to one of its files)",
			cfg.Path, cfg.Registry.Kind, cfg.Registry.Kind, cfg.Registry.Kind)
	}
	r, err := open(cfg, log)
	if err != nil {
		return nil, err
	}
	return &registration{r: r, log: log}, nil
}

// register announces the server; a failure is logged, the Registrar keeps trying.
func (g *registration) register(ctx context.Context) {
	if g.r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, registrationWait)
	defer cancel()
	if err := g.r.Register(ctx); err != nil {
		g.log.Warn("registry: not registered yet; retrying in the background", "err", err)
	}
}

// leave withdraws the registration (stop) or hands it to the new master (restarted).
func (g *registration) leave(restarted bool) {
	if g.r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), registrationWait)
	defer cancel()
	var err error
	if restarted {
		err = g.r.Release(ctx)
	} else {
		err = g.r.Deregister(ctx)
	}
	if err != nil {
		g.log.Warn("registry: leave", "restarted", restarted, "err", err)
	}
}
