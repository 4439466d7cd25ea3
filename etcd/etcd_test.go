package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/svrkit/svrkit/router"
	"github.com/svrkit/svrkit/service"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

func TestMain(m *testing.M) {
	if os.Getenv(envTestSvr) != "" {
		service.Main(testApp()) // this binary is the service of service_test.go
	}
	goleak.VerifyTestMain(m)
}

// etcdServer is a single-node etcd started by a test on loopback.
type etcdServer struct {
	t          testing.TB
	dir        string
	addr, peer string
	cmd        *exec.Cmd
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startEtcd starts etcd, or skips the test when the binary is absent.
func startEtcd(t testing.TB) *etcdServer {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("etcd binary not found: install Debian's etcd-server (apt-get install -y etcd-server); .ci/run does")
	}
	e := &etcdServer{t: t, dir: t.TempDir(), addr: freePort(t), peer: freePort(t)}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *etcdServer) start() {
	t := e.t
	t.Helper()
	c, p := "http://"+e.addr, "http://"+e.peer
	e.cmd = exec.Command("etcd", "--name", "t", "--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", c, "--advertise-client-urls", c,
		"--listen-peer-urls", p, "--initial-advertise-peer-urls", p, "--initial-cluster", "t="+p,
		"--logger", "zap", "--log-outputs", "stderr")
	logf, err := os.OpenFile(filepath.Join(e.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cli, err := newClient([]string{e.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(e.dir, "etcd.log"))
			t.Fatalf("etcd not ready: %v\n%s", err, log)
		}
	}
}

func (e *etcdServer) stop() {
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	e.cmd.Wait()
	e.cmd = nil
}

func (e *etcdServer) client() *clientv3.Client {
	cli, err := newClient([]string{e.addr})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { cli.Close() })
	return cli
}

// echoServer is a real svrkit transport server answering "whoami" with its address,
// registered in etcd by a Registrar.
type echoServer struct {
	addr string
	srv  *transport.Server
	ln   net.Listener
	reg  *Registrar
	done chan struct{}
}

func startServer(t testing.TB, e *etcdServer, prefix string, mod func(*workers.RegistryConfig)) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{addr: ln.Addr().String(), ln: ln, srv: transport.NewServer(transport.ServerOptions{}), done: make(chan struct{})}
	s.srv.Register("whoami", func(ctx context.Context, params []byte) (any, error) { return s.addr, nil })
	go func() { defer close(s.done); s.srv.Serve(ln) }()
	cfg := workers.RegistryConfig{Kind: "etcd", Addrs: []string{e.addr}, Prefix: prefix, TTL: 2 * time.Second, Advertise: s.addr}
	if mod != nil {
		mod(&cfg)
	}
	s.reg = NewRegistrar(cfg, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.reg.Register(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.reg.Deregister(context.Background()); s.srv.Close(); <-s.done })
	return s
}

// gracefulStop is the master's order: deregister, then drain.
func (s *echoServer) gracefulStop(t *testing.T) {
	if err := s.reg.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

// crash is kill -9 as the cluster sees it: the connections drop and the lease is never
// revoked (it expires after ttl).
func (s *echoServer) crash() {
	s.reg.mu.Lock()
	s.reg.stop()
	cli := s.reg.cli
	s.reg.cli = nil // leave then does nothing
	s.reg.mu.Unlock()
	<-s.reg.done
	cli.Close()
	s.srv.Close()
	<-s.done
}

func newClient_(t *testing.T, e *etcdServer, cfg *router.Config, opts router.Options) *router.Client {
	t.Helper()
	if opts.CallTimeout == 0 {
		// Generous: on a loaded machine a slow call must not eject a healthy server and move
		// its keys (the tests count where keys go).
		opts.CallTimeout = 10 * time.Second
	}
	c, err := router.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ringConfig(e *etcdServer, prefix string) *router.Config {
	return &router.Config{Mode: router.ModeHashring, Registry: &router.RegistryConfig{Kind: "etcd", Addrs: []string{e.addr}, Prefix: prefix}}
}

func whoami(c *router.Client, key string) (string, error) {
	var got string
	err := c.Call(context.Background(), "whoami", &got, nil, router.CallOptions{Key: key})
	return got, err
}

// spread maps n keys to the servers answering them.
func spread(t *testing.T, c *router.Client, n int) []string {
	t.Helper()
	owners := make([]string, n)
	for i := range owners {
		got, err := whoami(c, fmt.Sprint("user:", i))
		if err != nil {
			t.Fatal(err)
		}
		owners[i] = got
	}
	return owners
}

func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestThreeServersSpreadByWeight(t *testing.T) {
	e := startEtcd(t)
	const prefix = "/svrkit/echo"
	weights := []int{100, 100, 200}
	var servers []*echoServer
	for _, w := range weights {
		servers = append(servers, startServer(t, e, prefix, func(c *workers.RegistryConfig) { c.Weight = w }))
	}
	start := time.Now()
	c := newClient_(t, e, ringConfig(e, prefix), router.Options{})
	t.Logf("first snapshot after %v", time.Since(start))
	count := map[string]int{}
	const n = 8000
	for _, o := range spread(t, c, n) {
		count[o]++
	}
	for i, s := range servers {
		want := float64(weights[i]) / 400
		if got := float64(count[s.addr]) / n; got < want*0.8 || got > want*1.2 {
			t.Errorf("%s (weight %d) got %.1f%% of the keys, want about %.0f%%", s.addr, weights[i], got*100, want*100)
		}
	}
}

func TestJoinMovesAQuarter(t *testing.T) {
	e := startEtcd(t)
	const prefix = "/svrkit/echo"
	for range 3 {
		startServer(t, e, prefix, nil)
	}
	c := newClient_(t, e, ringConfig(e, prefix), router.Options{})
	const n = 4000
	before := spread(t, c, n)
	joined := time.Now()
	s4 := startServer(t, e, prefix, nil)
	waitFor(t, "the fourth server", func() bool { return joinedSeen(c, s4.addr) })
	seen := time.Since(joined)
	after := spread(t, c, n)
	moved := 0
	for i := range before {
		if after[i] != before[i] {
			moved++
			if after[i] != s4.addr {
				t.Fatalf("key %d moved from %s to %s, not to the new server", i, before[i], after[i])
			}
		}
	}
	t.Logf("the client saw the join after %v; %.1f%% of the keys moved to it", seen, float64(moved)*100/n)
	if share := float64(moved) / n; share < 0.18 || share > 0.32 {
		t.Errorf("%.1f%% of the keys moved, want about 25%%", share*100)
	}
}

// joinedSeen reports whether some key of 200 reaches addr.
func joinedSeen(c *router.Client, addr string) bool {
	for i := range 200 {
		if got, _ := whoami(c, fmt.Sprint("join:", i)); got == addr {
			return true
		}
	}
	return false
}

// load calls c from several goroutines until stop is closed; it counts the calls per
// server and the failed calls.
type load struct {
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	per    map[string]int
	failed atomic.Int64
	last   atomic.Value // error
}

func startLoad(c *router.Client, workers int) *load {
	l := &load{stop: make(chan struct{}), per: map[string]int{}}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				got, err := whoami(c, fmt.Sprint(w, ":", i%500))
				if err != nil {
					l.failed.Add(1)
					l.last.Store(err)
					continue
				}
				l.mu.Lock()
				l.per[got]++
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) end() { close(l.stop); l.wg.Wait() }

func (l *load) calls(addr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.per[addr]
}

// ringCluster starts etcd, n servers registered under /svrkit/echo and a hashring client.
func ringCluster(t *testing.T, n int) (*etcdServer, []*echoServer, *router.Client) {
	t.Helper()
	e := startEtcd(t)
	var servers []*echoServer
	for range n {
		servers = append(servers, startServer(t, e, "/svrkit/echo", nil))
	}
	return e, servers, newClient_(t, e, ringConfig(e, "/svrkit/echo"), router.Options{})
}

func TestGracefulStopLosesNoCall(t *testing.T) {
	_, servers, c := ringCluster(t, 3)
	l := startLoad(c, 4)
	waitFor(t, "calls on every server", func() bool { return l.calls(servers[0].addr) > 50 && l.calls(servers[1].addr) > 50 })
	servers[0].gracefulStop(t)
	n := l.calls(servers[1].addr) + l.calls(servers[2].addr)
	waitFor(t, "more calls", func() bool { return l.calls(servers[1].addr)+l.calls(servers[2].addr) > n+500 })
	l.end()
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d calls failed during a graceful stop, last: %v", f, l.last.Load())
	}
}

func TestKillFailsOverUntilLeaseExpires(t *testing.T) {
	e, servers, c := ringCluster(t, 3)
	l := startLoad(c, 4)
	waitFor(t, "calls on the victim", func() bool { return l.calls(servers[0].addr) > 50 })
	servers[0].crash()
	cli := e.client()
	gone := waitFor(t, "the lease to expire", func() bool {
		resp, err := cli.Get(context.Background(), "/svrkit/echo/"+servers[0].addr)
		return err == nil && len(resp.Kvs) == 0
	})
	failedAtExpiry := l.failed.Load()
	n := l.calls(servers[1].addr) + l.calls(servers[2].addr)
	waitFor(t, "calls after the expiry", func() bool { return l.calls(servers[1].addr)+l.calls(servers[2].addr) > n+500 })
	l.end()
	t.Logf("kill -9: lease gone after %v (ttl 2s); %d failed calls (each a call in flight on the lost connections, not retried: not idempotent), none after the expiry: %d",
		gone, failedAtExpiry, l.failed.Load()-failedAtExpiry)
	if l.failed.Load() != failedAtExpiry {
		t.Errorf("%d calls failed after the lease expired", l.failed.Load()-failedAtExpiry)
	}
}

func TestEtcdRestartKeepsServing(t *testing.T) {
	e := startEtcd(t)
	const prefix = "/svrkit/echo"
	var servers []*echoServer
	for range 2 {
		servers = append(servers, startServer(t, e, prefix, nil))
	}
	c := newClient_(t, e, ringConfig(e, prefix), router.Options{})
	l := startLoad(c, 2)
	type revs struct{ create, mod int64 }
	before := map[string]revs{}
	resp, err := e.client().Get(context.Background(), prefix+"/", clientv3.WithPrefix())
	if err != nil || len(resp.Kvs) != 2 {
		t.Fatalf("%v, %v", resp, err)
	}
	for _, kv := range resp.Kvs {
		before[string(kv.Key)] = revs{kv.CreateRevision, kv.ModRevision}
	}
	e.stop()
	down := time.Now()
	n := l.calls(servers[0].addr) + l.calls(servers[1].addr)
	// Down for longer than the ttl (2s): the registrars' keep-alives give up and they
	// register again under new leases once etcd is back, while the old leases (restored by
	// etcd with a fresh ttl) still hold the keys. The keys must never be missing meanwhile.
	waitFor(t, "calls while etcd is down, for longer than the ttl", func() bool {
		return l.calls(servers[0].addr)+l.calls(servers[1].addr) > n+500 && time.Since(down) > 3*time.Second
	})
	e.start()
	cli := e.client()
	var after *clientv3.GetResponse
	waitFor(t, "the servers to register again", func() bool {
		after, err = cli.Get(context.Background(), prefix+"/", clientv3.WithPrefix())
		if err != nil || len(after.Kvs) != 2 {
			return false
		}
		for _, kv := range after.Kvs {
			if b, ok := before[string(kv.Key)]; !ok || kv.ModRevision <= b.mod {
				return false
			}
		}
		return true
	})
	for _, kv := range after.Kvs {
		if b := before[string(kv.Key)]; kv.CreateRevision != b.create {
			t.Errorf("%s was deleted and created again (create revision %d, then %d): clients saw it leave", kv.Key, b.create, kv.CreateRevision)
		}
	}
	s3 := startServer(t, e, prefix, nil)
	waitFor(t, "the client to follow again", func() bool { return joinedSeen(c, s3.addr) })
	l.end()
	if f := l.failed.Load(); f != 0 {
		t.Fatalf("%d calls failed while etcd restarted, last: %v", f, l.last.Load())
	}
}

func TestShardingKillMasterGoesToBackup(t *testing.T) {
	e := startEtcd(t)
	const prefix = "/svrkit/kv"
	shard := func(b, end int, role string) func(*workers.RegistryConfig) {
		return func(c *workers.RegistryConfig) { c.ShardBegin, c.ShardEnd, c.Role = b, end, role }
	}
	m0 := startServer(t, e, prefix, shard(0, 49, "master"))
	b0 := startServer(t, e, prefix, shard(0, 49, "backup"))
	m1 := startServer(t, e, prefix, shard(50, 99, "master"))
	b1 := startServer(t, e, prefix, shard(50, 99, "backup"))
	cfg := &router.Config{Mode: router.ModeSharding, ShardSum: 100, Registry: &router.RegistryConfig{Kind: "etcd", Addrs: []string{e.addr}, Prefix: prefix}}
	c := newClient_(t, e, cfg, router.Options{HasID: true, ID: 7})
	if got, err := whoami(c, ""); err != nil || got != m0.addr {
		t.Fatalf("%q, %v; want master %s", got, err, m0.addr)
	}
	m0.crash()
	waitFor(t, "the backup", func() bool { got, err := whoami(c, ""); return err == nil && got == b0.addr })
	b0.crash()
	waitFor(t, "no server for shard 7", func() bool { _, err := whoami(c, ""); return errors.Is(err, router.ErrNoServer) })
	for _, s := range []*echoServer{m1, b1} {
		if n := s.srv.Stats().Conns; n != 0 {
			t.Errorf("shard 7's client connected to the other shard's %s", s.addr)
		}
	}
}

func TestUnreachableEtcdAtStart(t *testing.T) {
	cfg := &router.Config{Mode: router.ModeHashring, Registry: &router.RegistryConfig{Kind: "etcd", Addrs: []string{freePort(t)}, Prefix: "/p", Wait: 300 * time.Millisecond}}
	_, err := router.New(cfg, router.Options{})
	if err == nil || !strings.Contains(err.Error(), "no membership within 300ms") {
		t.Fatalf("got %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestBadValuesAreRefused(t *testing.T) {
	e := startEtcd(t)
	const prefix = "/svrkit/kv"
	cli := e.client()
	good := startServer(t, e, prefix, func(c *workers.RegistryConfig) { c.ShardBegin, c.ShardEnd = 0, 99 })
	ctx := context.Background()
	for k, v := range map[string]string{
		prefix + "/junk":    "not json",
		prefix + "/noaddr":  `{"weight": 5}`,
		prefix + "/overlap": `{"addr": "127.0.0.1:1", "shardbegin": 50, "shardend": 60}`,
	} {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	cfg := &router.Config{Mode: router.ModeSharding, ShardSum: 100, Registry: &router.RegistryConfig{Kind: "etcd", Addrs: []string{e.addr}, Prefix: prefix}}
	c := newClient_(t, e, cfg, router.Options{HasID: true, ID: 55, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if got, err := whoami(c, ""); err != nil || got != good.addr {
		t.Fatalf("%q, %v; want %s (the older claim)", got, err, good.addr)
	}
	for _, want := range []string{"key=" + prefix + "/junk", "key=" + prefix + "/noaddr", "key=" + prefix + "/overlap"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log naming %s:\n%s", want, logs.String())
		}
	}
}

// TestRegistrarWaitsForEtcd: a server whose etcd is down at start reports it and registers
// as soon as etcd is up.
func TestRegistrarWaitsForEtcd(t *testing.T) {
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("etcd binary not found: install Debian's etcd-server (apt-get install -y etcd-server); .ci/run does")
	}
	e := &etcdServer{t: t, dir: t.TempDir(), addr: freePort(t), peer: freePort(t)}
	t.Cleanup(e.stop)
	r := NewRegistrar(workers.RegistryConfig{Kind: "etcd", Addrs: []string{e.addr}, Prefix: "/svrkit/echo", TTL: 2 * time.Second, Advertise: "127.0.0.1:3000"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := r.Register(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "/svrkit/echo/127.0.0.1:3000 not registered yet") {
		t.Fatalf("got %v", err)
	}
	e.start()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Register(ctx); err != nil {
		t.Fatal(err)
	}
	cli := e.client()
	if resp, err := cli.Get(ctx, r.Key()); err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != `{"addr":"127.0.0.1:3000"}` {
		t.Fatalf("%v, %v", resp, err)
	}
	if err := r.Deregister(ctx); err != nil {
		t.Fatal(err)
	}
	if resp, err := cli.Get(ctx, r.Key()); err != nil || len(resp.Kvs) != 0 {
		t.Fatalf("after Deregister: %v, %v", resp, err)
	}
}
