package router

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRegistry sends the snapshots put on its channel.
type fakeRegistry struct{ snaps chan Snapshot }

func newFakeRegistry(first ...Member) *fakeRegistry {
	r := &fakeRegistry{snaps: make(chan Snapshot, 1)}
	if first != nil {
		r.snaps <- Snapshot{Version: 1, Members: first}
	}
	return r
}

func (r *fakeRegistry) Watch(ctx context.Context, update func(Snapshot)) error {
	for {
		select {
		case s := <-r.snaps:
			update(s)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// push sends s and waits until the client routes on it.
func (r *fakeRegistry) push(t *testing.T, c *Client, s Snapshot) {
	t.Helper()
	r.snaps <- s
	waitFor(t, fmt.Sprintf("snapshot %d", s.Version), func() bool { return c.view.Load().version == s.Version })
}

func ringMembers(n int) []Member {
	var ms []Member
	for i := range n {
		ms = append(ms, Member{Key: fmt.Sprintf("k%d", i), Addr: fmt.Sprintf("s%d:1", i)})
	}
	return ms
}

// TestRegistryJoinMovesOnlyTheNewServersKeys: a fourth server joins a
// three-server ring; about a quarter of the keys move, all of them to it,
// and the servers that stay keep their connections.
func TestRegistryJoinMovesOnlyTheNewServersKeys(t *testing.T) {
	n := newFakeNet()
	reg := newFakeRegistry(ringMembers(3)...)
	opts := n.options()
	opts.Registry = reg
	c := newFake(t, n, &Config{Mode: ModeHashring}, opts)

	const keys = 4000
	before := make([]string, keys)
	for i := range before {
		got, err := call(c, CallOptions{Key: fmt.Sprint("user:", i)})
		if err != nil {
			t.Fatal(err)
		}
		before[i] = got
	}
	reg.push(t, c, Snapshot{Version: 2, Members: ringMembers(4)})
	moved := 0
	for i := range before {
		got, err := call(c, CallOptions{Key: fmt.Sprint("user:", i)})
		if err != nil {
			t.Fatal(err)
		}
		if got != before[i] {
			moved++
			if got != "s3:1" {
				t.Fatalf("key %d moved from %s to %s, not to the new server", i, before[i], got)
			}
		}
	}
	if share := float64(moved) / keys; share < 0.18 || share > 0.32 {
		t.Errorf("%.1f%% of the keys moved, want about 25%%", share*100)
	}
	for i := range 3 {
		if d := n.count(n.dials, fmt.Sprintf("s%d:1", i)); d != 1 {
			t.Errorf("s%d:1 dialled %d times, want its connection reused (1)", i, d)
		}
	}
	// It leaves again: its keys go back where they were.
	reg.push(t, c, Snapshot{Version: 3, Members: ringMembers(3)})
	for i := range before {
		if got, err := call(c, CallOptions{Key: fmt.Sprint("user:", i)}); err != nil || got != before[i] {
			t.Fatalf("key %d: %q, %v; want %s", i, got, err, before[i])
		}
	}
}

// TestRegistryLeaveKeepsCallsInFlight: a call already on a server that
// leaves the membership completes; the connection is closed after
// CallTimeout, and a server coming back in time keeps it.
func TestRegistryLeaveKeepsCallsInFlight(t *testing.T) {
	n := newFakeNet()
	reg := newFakeRegistry(Member{Key: "a", Addr: "a:1"})
	opts := n.options()
	opts.Registry = reg
	opts.CallTimeout = 5 * time.Second
	c := newFake(t, n, &Config{Mode: ModeHashring}, opts)

	inCall, release := make(chan struct{}), make(chan struct{})
	n.set(func(n *fakeNet) {
		n.handler["a:1"] = func(ctx context.Context, fc *fakeConn, m string) error {
			close(inCall)
			<-release
			return nil
		}
	})
	done := make(chan error, 1)
	go func() { _, err := call(c, CallOptions{}); done <- err }()
	<-inCall
	n.set(func(n *fakeNet) { delete(n.handler, "a:1") })
	reg.push(t, c, Snapshot{Version: 2, Members: []Member{{Key: "b", Addr: "b:1"}}})
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("call in flight on a leaving server failed: %v", err)
	}
	if got, err := call(c, CallOptions{}); err != nil || got != "b:1" {
		t.Fatalf("%q, %v; want b:1", got, err)
	}
	reg.push(t, c, Snapshot{Version: 3, Members: []Member{{Key: "a", Addr: "a:1"}}})
	if got, err := call(c, CallOptions{}); err != nil || got != "a:1" || n.count(n.dials, "a:1") != 1 {
		t.Fatalf("%q, %v, %d dials; want a:1 on its first connection", got, err, n.count(n.dials, "a:1"))
	}
}

func TestRegistryRetiredEndpointCloses(t *testing.T) {
	n := newFakeNet()
	reg := newFakeRegistry(Member{Key: "a", Addr: "a:1"})
	opts := n.options()
	opts.Registry = reg
	opts.CallTimeout = 50 * time.Millisecond
	c := newFake(t, n, &Config{Mode: ModeHashring}, opts)
	if _, err := call(c, CallOptions{}); err != nil {
		t.Fatal(err)
	}
	c.epMu.Lock()
	ep := c.eps["a:1"]
	c.epMu.Unlock()
	cn := ep.cn
	reg.push(t, c, Snapshot{Version: 2, Members: []Member{{Key: "b", Addr: "b:1"}}})
	<-cn.Done() // closed CallTimeout after it left
}

// TestRegistrySharding: a master that leaves hands its ids to its backup,
// never to the other shard; a range nobody claims fails with ErrNoServer.
func TestRegistrySharding(t *testing.T) {
	n := newFakeNet()
	all := []Member{
		{Key: "m0", Addr: "m0:1", ShardBegin: 0, ShardEnd: 49},
		{Key: "b0", Addr: "b0:1", ShardBegin: 0, ShardEnd: 49, Role: RoleBackup},
		{Key: "m1", Addr: "m1:1", ShardBegin: 50, ShardEnd: 99, Role: RoleMaster},
		{Key: "b1", Addr: "b1:1", ShardBegin: 50, ShardEnd: 99, Role: RoleBackup},
	}
	reg := newFakeRegistry(all...)
	opts := n.options()
	opts.Registry, opts.HasID, opts.ID = reg, true, 7
	c := newFake(t, n, &Config{Mode: ModeSharding, ShardSum: 100}, opts)
	if got, err := call(c, CallOptions{}); err != nil || got != "m0:1" {
		t.Fatalf("%q, %v", got, err)
	}
	reg.push(t, c, Snapshot{Version: 2, Members: all[1:]})
	if got, err := call(c, CallOptions{}); err != nil || got != "b0:1" {
		t.Fatalf("after the master left: %q, %v; want its backup b0:1", got, err)
	}
	reg.push(t, c, Snapshot{Version: 3, Members: all[2:]})
	_, err := call(c, CallOptions{})
	if !errors.Is(err, ErrNoServer) || !strings.Contains(err.Error(), "shard 7") {
		t.Fatalf("want ErrNoServer naming shard 7, got %v", err)
	}
	if n.count(n.calls, "m1:1")+n.count(n.calls, "b1:1") != 0 {
		t.Fatal("a shard's id was sent to another shard")
	}
}

func TestSnapshotServersRefusesConflicts(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	got := snapshotServers(ModeSharding, 100, Snapshot{Members: []Member{
		{Key: "/p/old", Addr: "a:1", ShardBegin: 0, ShardEnd: 49},
		{Key: "/p/new", Addr: "b:1", ShardBegin: 40, ShardEnd: 99},                // overlaps the older claim
		{Key: "/p/bak", Addr: "c:1", ShardBegin: 0, ShardEnd: 49, Role: "backup"}, // a's backup
		{Key: "/p/bak2", Addr: "d:1", ShardBegin: 0, ShardEnd: 49, Role: "backup"},
		{Key: "/p/odd", Addr: "e:1", ShardBegin: 10, ShardEnd: 20, Role: "backup"},
		{Key: "/p/range", Addr: "f:1", ShardBegin: 50, ShardEnd: 100},
		{Key: "/p/role", Addr: "g:1", ShardBegin: 50, ShardEnd: 99, Role: "leader"},
		{Key: "/p/addr", Addr: "nohost", ShardBegin: 50, ShardEnd: 99},
	}}, log)
	if len(got) != 1 || got[0].Addr != "a:1" || got[0].BackupAddr != "c:1" {
		t.Fatalf("got %+v, want only a:1 with backup c:1", got)
	}
	for _, key := range []string{"/p/new", "/p/bak2", "/p/odd", "/p/range", "/p/role", "/p/addr"} {
		if !strings.Contains(logs.String(), "key="+key+" ") {
			t.Errorf("refusal of %s not logged:\n%s", key, logs.String())
		}
	}
	got = snapshotServers(ModeHashring, 0, Snapshot{Members: []Member{
		{Key: "w0", Addr: "a:1"}, {Key: "w1", Addr: "b:1", Weight: 7}, {Key: "wbad", Addr: "c:1", Weight: MaxWeight + 1},
	}}, log)
	if len(got) != 2 || got[0].Weight != DefaultWeight || got[1].Weight != 7 {
		t.Fatalf("got %+v", got)
	}
}

func TestRegistryEmptyRing(t *testing.T) {
	n := newFakeNet()
	reg := newFakeRegistry()
	reg.snaps <- Snapshot{Version: 4}
	opts := n.options()
	opts.Registry = reg
	c := newFake(t, n, &Config{Mode: ModeHashring}, opts)
	if _, err := call(c, CallOptions{}); !errors.Is(err, ErrNoServer) {
		t.Fatalf("want ErrNoServer, got %v", err)
	}
}

// silentRegistry never sends a snapshot.
type silentRegistry struct{}

func (silentRegistry) Watch(ctx context.Context, update func(Snapshot)) error {
	<-ctx.Done()
	return ctx.Err()
}

type failingRegistry struct{}

func (failingRegistry) Watch(ctx context.Context, update func(Snapshot)) error {
	return errors.New("bad credentials")
}

func TestRegistryFirstSnapshotErrors(t *testing.T) {
	_, err := New(&Config{Mode: ModeHashring}, Options{Registry: silentRegistry{}, RegistryWait: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no membership within 50ms") {
		t.Fatalf("got %v", err)
	}
	_, err = New(&Config{Mode: ModeHashring}, Options{Registry: failingRegistry{}})
	if err == nil || !strings.Contains(err.Error(), "bad credentials") {
		t.Fatalf("got %v", err)
	}
	_, err = New(&Config{Mode: "ring"}, Options{Registry: silentRegistry{}})
	if err == nil || !strings.Contains(err.Error(), "unknown mode") {
		t.Fatalf("got %v", err)
	}
}

const registryConf = `
[server]
mode = hashring

[registry]
etcd = 127.0.0.1:2379, 127.0.0.2:2379
prefix = /svrkit/echo
wait = 2s
`

var registerOnce sync.Once

func TestParseRegistryConfig(t *testing.T) {
	cfg, err := ParseConfig([]byte(registryConf), "echo_cli.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := RegistryConfig{Kind: "etcd", Addrs: []string{"127.0.0.1:2379", "127.0.0.2:2379"}, Prefix: "/svrkit/echo", Wait: 2 * time.Second}
	if r := cfg.Registry; r == nil || fmt.Sprint(*r) != fmt.Sprint(want) || len(cfg.Servers) != 0 {
		t.Fatalf("got %+v", cfg)
	}
	_, err = New(cfg, Options{})
	if err == nil || !strings.Contains(err.Error(), `import _ "github.com/svrkit/svrkit/etcd"`) {
		t.Fatalf("without a linked etcd registry: %v", err)
	}
	var opened RegistryConfig
	registerOnce.Do(func() {
		RegisterRegistry("etcd", func(cfg RegistryConfig, log *slog.Logger) (Registry, error) {
			opened = cfg
			return newFakeRegistry(Member{Key: "a", Addr: "127.0.0.1:1"}), nil
		})
	})
	c, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if opened.Prefix != "/svrkit/echo" {
		t.Fatalf("factory got %+v", opened)
	}

	for _, tc := range []struct{ conf, want string }{
		{"[server]\nmode=hashring\n[registry]\nprefix=/p\n", "[registry] etcd: missing"},
		{"[server]\nmode=hashring\n[registry]\netcd=h\nprefix=/p\n", "[registry] etcd: \"h\" is not host:port"},
		{"[server]\nmode=hashring\n[registry]\netcd=h:1\n", "[registry] prefix: \"\" is not a key prefix"},
		{"[server]\nmode=hashring\n[registry]\netcd=h:1\nprefix=/p\nwait=soon\n", "[registry] wait: \"soon\" is not a positive duration"},
		{"[server]\nmode=sharding\n[registry]\netcd=h:1\nprefix=/p\n", "[server] shardsum: missing"},
		{"[server]\nmode=hashring\n[registry]\netcd=h:1\nprefix=/p\nprefx=/q\n", "[registry] prefx: unknown key"},
		{"[server]\nmode=hashring\nsum=1\n[server0]\nip=127.0.0.1\nport=1\n[registry]\netcd=h:1\nprefix=/p\n", "[registry] replaces the [serverN] sections"},
	} {
		_, err := ParseConfig([]byte(tc.conf), "x_cli.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.conf, err, tc.want)
		}
	}
}
