// Command cluster_svr is the cluster demo's server: svrkit's echo API ("echo", one echomsg
// argument) answering with the address it serves on, so that the demo sees which server
// took each call. Its [registry] section registers it in etcd; the blank import below is
// what links the etcd registrar in.
package main

import (
	"context"

	_ "github.com/svrkit/svrkit/etcd"
	"github.com/svrkit/svrkit/service"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

func main() {
	service.Main(service.App{Name: "cluster", Register: func(s *transport.Server, cfg *workers.Config) error {
		addr := cfg.RPC.Addr()
		if cfg.Registry != nil {
			addr = cfg.Registry.Advertise
		}
		s.Register("echo", func(ctx context.Context, params []byte) (any, error) { return addr, nil })
		return nil
	}})
}
