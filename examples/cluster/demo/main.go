// Command demo runs a svrkit cluster on etcd on this machine and watches a client follow it:
// it starts etcd and three cluster_svr daemons that register themselves, then drives a load
// through the echo service's generated client (unchanged: its <app>_cli.conf has a
// [registry] section instead of [serverN]) while a fourth server joins, one is stopped
// gracefully and one is killed with -9. After each step it prints the membership in etcd and
// the calls per server; at the end the failed calls. Everything it started is stopped.
//
//	tools/bazel run //examples/cluster:demo
//	go run ./demo -server $(go build -o /tmp/cluster_svr ./server && echo /tmp/cluster_svr)
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	_ "github.com/svrkit/svrkit/etcd"
	"github.com/svrkit/svrkit/examples/echo/api/echo"
	"github.com/svrkit/svrkit/router"
)

const prefix = "/svrkit/cluster"

func main() {
	server := flag.String("server", "", "the cluster_svr binary")
	flag.Parse()
	if err := run(*server); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	dir, server, etcdAddr string
	etcd                  *exec.Cmd
	servers               []*svr
	kv                    *clientv3.Client
}

type svr struct{ name, conf, pidfile, addr string }

func run(server string) error {
	if server == "" {
		return fmt.Errorf("-server (the cluster_svr binary) is required")
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		return fmt.Errorf("etcd not found: apt-get install -y etcd-server")
	}
	dir, err := os.MkdirTemp("", "svrkit-cluster-")
	if err != nil {
		return err
	}
	server, _ = filepath.Abs(server)
	d := &demo{dir: dir, server: server}
	defer d.cleanup()
	if err := d.startEtcd(); err != nil {
		return err
	}
	fmt.Printf("etcd serving on %s (data in %s)\n", d.etcdAddr, dir)
	for i := range 4 {
		if err := d.addServer(i); err != nil {
			return err
		}
	}
	for _, s := range d.servers[:3] {
		if err := d.ctl(s, "-d"); err != nil {
			return err
		}
	}

	// The generated client, unchanged: only its conf differs from a static cluster's.
	cliConf := filepath.Join(dir, "echo_cli.conf")
	text := fmt.Sprintf("[server]\nmode=hashring\n\n[registry]\netcd=%s\nprefix=%s\n", d.etcdAddr, prefix)
	if err := os.WriteFile(cliConf, []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Printf("\n%s:\n%s", cliConf, text)
	cli, err := echo.NewClient(cliConf)
	if err != nil {
		return err
	}
	defer cli.Close()
	l := startLoad(cli, 4)
	defer l.end()

	step := func(title string, act func() error, settle time.Duration) error {
		fmt.Printf("\n== %s\n", title)
		if act != nil {
			if err := act(); err != nil {
				return err
			}
		}
		l.reset()
		time.Sleep(settle) // a demo: let the load run for a while in this state
		d.report(l)
		return nil
	}
	if err := step("three servers registered", nil, time.Second); err != nil {
		return err
	}
	if err := step("a fourth server joins", func() error { return d.ctl(d.servers[3], "-d") }, 1500*time.Millisecond); err != nil {
		return err
	}
	if err := step("server1 stops gracefully (deregisters, then drains)", func() error { return d.ctl(d.servers[1], "-s", "stop") }, 1500*time.Millisecond); err != nil {
		return err
	}
	if err := step("server0 is killed with -9 (its lease expires after ttl=2s)", func() error { return d.kill(d.servers[0]) }, 3*time.Second); err != nil {
		return err
	}
	l.end()
	fmt.Printf("\ncalls: %d, failed: %d (calls in flight on server0's connections when it died; they are not retried: the request may have been processed)\n",
		l.total.Load(), l.failed.Load())
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (d *demo) startEtcd() error {
	c, err := freeAddr()
	if err != nil {
		return err
	}
	p, err := freeAddr()
	if err != nil {
		return err
	}
	d.etcdAddr = c
	log, err := os.Create(filepath.Join(d.dir, "etcd.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	d.etcd = exec.Command("etcd", "--name", "demo", "--data-dir", filepath.Join(d.dir, "etcd"),
		"--listen-client-urls", "http://"+c, "--advertise-client-urls", "http://"+c,
		"--listen-peer-urls", "http://"+p, "--initial-advertise-peer-urls", "http://"+p,
		"--initial-cluster", "demo=http://"+p, "--logger", "zap", "--log-outputs", "stderr")
	d.etcd.Stdout, d.etcd.Stderr = log, log
	if err := d.etcd.Start(); err != nil {
		return err
	}
	if d.kv, err = clientv3.New(clientv3.Config{Endpoints: []string{c}, DialTimeout: time.Second, Logger: zap.NewNop()}); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := d.kv.Get(ctx, "health")
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd not ready: %w (see %s)", err, log.Name())
		}
	}
}

func (d *demo) addServer(i int) error {
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	s := &svr{name: "server" + strconv.Itoa(i), conf: filepath.Join(d.dir, fmt.Sprintf("server%d_svr.conf", i)),
		pidfile: filepath.Join(d.dir, fmt.Sprintf("server%d.pid", i)), addr: addr}
	text := fmt.Sprintf("[app]\nname=cluster\npid=%s\nlog=%s\nstop_timeout=3s\n\n[rpc_server]\nip=127.0.0.1\nport=%s\nworker_type=thread\nworker_sum=4\n\n[registry]\netcd=%s\nttl=2s\n",
		s.pidfile, filepath.Join(d.dir, s.name+".log"), port, d.etcdAddr)
	d.servers = append(d.servers, s)
	return os.WriteFile(s.conf, []byte(text), 0o644)
}

// ctl runs cluster_svr -f conf args...
func (d *demo) ctl(s *svr, args ...string) error {
	out, err := exec.Command(d.server, append([]string{"-f", s.conf}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", s.name, strings.Join(args, " "), err, out)
	}
	fmt.Printf("%s (%s): %s", s.name, s.addr, out)
	return nil
}

func (d *demo) pid(s *svr) int {
	b, err := os.ReadFile(s.pidfile)
	if err != nil {
		return 0
	}
	// The pid is the file's first line; the second records the master's start time and
	// executable (docs/PROCESSES.md).
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return pid
}

func (d *demo) kill(s *svr) error {
	pid := d.pid(s)
	if pid == 0 {
		return fmt.Errorf("%s: no pid in %s", s.name, s.pidfile)
	}
	fmt.Printf("kill -9 %d (%s)\n", pid, s.name)
	return syscall.Kill(pid, syscall.SIGKILL)
}

// report prints the members registered in etcd and the calls per server since the last step.
func (d *demo) report(l *load) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	names := map[string]string{}
	for _, s := range d.servers {
		names[s.addr] = s.name
	}
	fmt.Println("membership in etcd:")
	if resp, err := d.kv.Get(ctx, prefix+"/", clientv3.WithPrefix()); err != nil {
		fmt.Println("  (etcd:", err, ")")
	} else {
		for _, kv := range resp.Kvs {
			fmt.Printf("  %-8s %s = %s\n", names[strings.TrimPrefix(string(kv.Key), prefix+"/")], kv.Key, kv.Value)
		}
	}
	per, failed := l.snapshot()
	var addrs []string
	total := 0
	for a, n := range per {
		addrs = append(addrs, a)
		total += n
	}
	sort.Strings(addrs)
	fmt.Println("calls per server in this step:")
	for _, a := range addrs {
		fmt.Printf("  %-8s %-21s %6d (%4.1f%%)\n", names[a], a, per[a], float64(per[a])*100/float64(max(total, 1)))
	}
	fmt.Printf("  failed calls in this step: %d\n", failed)
}

func (d *demo) cleanup() {
	for _, s := range d.servers {
		if pid := d.pid(s); pid != 0 && syscall.Kill(pid, 0) == nil {
			exec.Command(d.server, "-f", s.conf, "-s", "stop").Run()
		}
	}
	if d.kv != nil {
		d.kv.Close()
	}
	if d.etcd != nil {
		d.etcd.Process.Signal(syscall.SIGTERM)
		d.etcd.Wait()
	}
	os.RemoveAll(d.dir)
	fmt.Println("\nstopped etcd and every server; removed", d.dir)
}

// load calls the generated client's Echo from several goroutines, a new key per call.
type load struct {
	stop   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	per    map[string]int
	step   int64
	total  atomic.Int64
	failed atomic.Int64
}

func startLoad(cli *echo.Client, n int) *load {
	l := &load{stop: make(chan struct{}), per: map[string]int{}}
	for g := range n {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(router.WithKey(context.Background(), fmt.Sprint(g, ":", i)), 2*time.Second)
				reply, err := cli.Echo(ctx, echo.Echomsg{Value: "x"})
				cancel()
				l.total.Add(1)
				l.mu.Lock()
				if err != nil {
					l.failed.Add(1)
					l.step++
				} else if addr, ok := reply.(string); ok {
					l.per[addr]++
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

func (l *load) reset() {
	l.mu.Lock()
	l.per, l.step = map[string]int{}, 0
	l.mu.Unlock()
}

func (l *load) snapshot() (map[string]int, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	per := make(map[string]int, len(l.per))
	for k, v := range l.per {
		per[k] = v
	}
	return per, l.step
}

func (l *load) end() { l.once.Do(func() { close(l.stop); l.wg.Wait() }) }
