package gen

import (
	"bytes"
	"fmt"
)

// svrConf renders <app>_svr.conf with pysvrkit's sections and keys.
func (g *generator) svrConf() []byte {
	var b bytes.Buffer
	s := g.spec
	fmt.Fprintf(&b, "[app]\nname=%s\npid=%s.pid\n\n", s.App, s.App) // relative: next to this conf file
	fmt.Fprintf(&b, "[rpc_server]\nip=%s\nport=%d\nworker_type=%s\nworker_sum=%d\n\n",
		s.Server.IP, s.Server.Port, s.Server.WorkerType, s.Server.WorkerSum)
	if self := s.Self; self != nil {
		fmt.Fprintf(&b, "[self_server]\ndispatch_type=%s\nworker_type=%s\n", self.DispatchType, self.WorkerType)
		coroutines := self.WorkerType == "process_coroutine"
		if self.DispatchType == "simple" {
			fmt.Fprintf(&b, "worker_sum=%d\n", self.WorkerSum)
			if coroutines {
				fmt.Fprintf(&b, "coroutine_sum=%d\n", self.CoroutineSum)
			}
			b.WriteString("\n")
		} else {
			fmt.Fprintf(&b, "group_sum=%d\n\n", len(self.Groups))
			for i, grp := range self.Groups {
				fmt.Fprintf(&b, "[self_group%d]\ngroup_name=%s\nworker_sum=%d\n", i, grp.Name, grp.WorkerSum)
				if coroutines {
					fmt.Fprintf(&b, "coroutine_sum=%d\n", grp.CoroutineSum)
				}
				b.WriteString("\n")
			}
		}
	}
	return b.Bytes()
}

// cliConf renders the <app>_cli.conf template: three local servers on a hash ring, or two
// shards (0-499, 500-999 of 1000) each with a backup, all at rpc_server.port on 127.0.0.1.
func (g *generator) cliConf() []byte {
	var b bytes.Buffer
	port := g.spec.Server.Port
	if g.spec.Client.Mode == "sharding" {
		b.WriteString("[server]\nsum=2\nmode=sharding\nshardsum=1000\n")
		for i := 0; i < 2; i++ {
			fmt.Fprintf(&b, "\n[server%d]\nip=127.0.0.1\nport=%d\nip_bak=127.0.0.1\nport_bak=%d\nshardbegin=%d\nshardend=%d\n",
				i, port, port, i*500, i*500+499)
		}
		return b.Bytes()
	}
	b.WriteString("[server]\nsum=3\nmode=hashring\n")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&b, "\n[server%d]\nip=127.0.0.1\nport=%d\nweight=100\n", i, port)
	}
	return b.Bytes()
}
