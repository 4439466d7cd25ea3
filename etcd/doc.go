// Package etcd keeps a svrkit cluster's membership in etcd: servers register themselves
// under a lease (a service.Registrar, set by [registry] in <app>_svr.conf), and clients
// follow the members with a watch (a router.Registry, set by [registry] in <app>_cli.conf).
//
// Importing it links both in, through the init-time hooks router.RegisterRegistry and
// service.RegisterRegistrar; a program without the import never links the etcd client:
//
//	import _ "github.com/svrkit/svrkit/etcd" // in a file you own, e.g. <app>_rpc_handler.go
//
// Each server is one key, <prefix>/<advertised host:port>, whose value is the JSON Value
// (documented in docs/ROUTING.md), attached to a lease of [registry] ttl that the master
// keeps alive.
package etcd

import (
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/svrkit/svrkit/router"
	"github.com/svrkit/svrkit/service"
	"github.com/svrkit/svrkit/workers"
)

func init() {
	router.RegisterRegistry("etcd", func(cfg router.RegistryConfig, log *slog.Logger) (router.Registry, error) {
		return NewRegistry(cfg.Addrs, cfg.Prefix, log), nil
	})
	service.RegisterRegistrar("etcd", func(cfg *workers.Config, log *slog.Logger) (service.Registrar, error) {
		return NewRegistrar(*cfg.Registry, log), nil
	})
}

// opTimeout bounds each etcd request.
const opTimeout = 3 * time.Second

func newClient(addrs []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   addrs,
		DialTimeout: opTimeout,
		Logger:      zap.NewNop(),
		// Detect a dead etcd connection while idle (go-zero #4420: deadline errors after
		// an idle hour behind NAT).
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 3 * time.Second,
	})
}

// sleep waits d or until done is closed; it reports whether d passed.
func sleep(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

// nextBackoff doubles d up to 5 s.
func nextBackoff(d time.Duration) time.Duration { return min(2*d, 5*time.Second) }
