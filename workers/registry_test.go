package workers

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const regBase = "[app]\nname=echo\npid=/tmp/e.pid\n[rpc_server]\nip=%s\nport=3000\nworker_type=thread\nworker_sum=1\n[registry]\n"

func TestRegistryConfig(t *testing.T) {
	c, err := ParseConfig([]byte(fmt.Sprintf(regBase, "127.0.0.1")+"etcd = 10.0.0.1:2379, 10.0.0.2:2379\n"), "echo_svr.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := RegistryConfig{Kind: "etcd", Addrs: []string{"10.0.0.1:2379", "10.0.0.2:2379"}, Prefix: "/svrkit/echo",
		TTL: 10 * time.Second, Role: "master", Advertise: "127.0.0.1:3000"}
	if c.Registry == nil || fmt.Sprint(*c.Registry) != fmt.Sprint(want) {
		t.Fatalf("got %+v, want %+v", c.Registry, want)
	}
	c, err = ParseConfig([]byte(fmt.Sprintf(regBase, "0.0.0.0")+
		"etcd=h:1\nprefix=/x/y\nttl=3s\nweight=50\nshardbegin=0\nshardend=49\nrole=backup\nadvertise=10.1.1.1:3000\n"), "echo_svr.conf")
	if err != nil {
		t.Fatal(err)
	}
	want = RegistryConfig{Kind: "etcd", Addrs: []string{"h:1"}, Prefix: "/x/y", TTL: 3 * time.Second, Weight: 50,
		ShardEnd: 49, Role: "backup", Advertise: "10.1.1.1:3000"}
	if fmt.Sprint(*c.Registry) != fmt.Sprint(want) {
		t.Fatalf("got %+v, want %+v", c.Registry, want)
	}
	for _, tc := range []struct{ ip, keys, want string }{
		{"127.0.0.1", "", "[registry] etcd: missing"},
		{"127.0.0.1", "etcd=nohost", "[registry] etcd: bad value"},
		{"127.0.0.1", "etcd=h:1\nprefix=svrkit", "[registry] prefix: bad value"},
		{"127.0.0.1", "etcd=h:1\nttl=1s", "[registry] ttl: bad value 1s"},
		{"127.0.0.1", "etcd=h:1\nweight=0", "[registry] weight: bad value"},
		{"127.0.0.1", "etcd=h:1\nshardbegin=5\nshardend=4", "[registry] shardend: bad value"},
		{"127.0.0.1", "etcd=h:1\nshardend=4", "[registry] shardbegin: missing"},
		{"127.0.0.1", "etcd=h:1\nrole=leader", "[registry] role: bad value"},
		{"0.0.0.0", "etcd=h:1", "[registry] advertise: missing"},
		{"127.0.0.1", "etcd=h:1\nadvertise=:3000", "[registry] advertise: bad value"},
	} {
		_, err := ParseConfig([]byte(fmt.Sprintf(regBase, tc.ip)+tc.keys+"\n"), "echo_svr.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.keys, err, tc.want)
		}
	}
}
