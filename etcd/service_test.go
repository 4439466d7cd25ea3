package etcd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/svrkit/svrkit/router"
	"github.com/svrkit/svrkit/service"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

const envTestSvr = "SVRKIT_ETCD_TEST_SVR"

func testApp() service.App {
	return service.App{Name: "echo", Register: func(s *transport.Server, cfg *workers.Config) error {
		s.Register("whoami", func(ctx context.Context, params []byte) (any, error) { return cfg.Registry.Advertise, nil })
		return nil
	}}
}

var startedRE = regexp.MustCompile(`started \(pid (\d+)`)

// svr runs this test binary as the echo service with args.
func svr(t *testing.T, dir string, args ...string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envTestSvr+"=1", "GORACE=atexit_sleep_ms=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// TestServiceRegistration runs the service as real processes with [registry]: the master
// registers once ready, a graceful restart hands the key to the new master without a gap
// (no delete, no failed call), and a stop deletes the key before draining.
func TestServiceRegistration(t *testing.T) {
	e := startEtcd(t)
	dir := t.TempDir()
	addr := freePort(t)
	port := addr[strings.LastIndex(addr, ":")+1:]
	conf := filepath.Join(dir, "echo_svr.conf")
	logFile := filepath.Join(dir, "echo.log")
	text := fmt.Sprintf("[app]\nname=echo\npid=%s\nlog=%s\nstop_timeout=3s\n\n[rpc_server]\nip=127.0.0.1\nport=%s\nworker_type=thread\nworker_sum=2\n\n[registry]\netcd=%s\nttl=2s\n",
		filepath.Join(dir, "echo.pid"), logFile, port, e.addr)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cli := e.client()
	key := "/svrkit/echo/" + addr
	wctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	events := cli.Watch(wctx, key)

	out, code := svr(t, dir, "-f", conf, "-d")
	if code != 0 || !startedRE.MatchString(out) {
		t.Fatalf("start: %d %q", code, out)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			svr(t, dir, "-f", conf, "-s", "stop")
		}
	})
	c := newClient_(t, e, ringConfig(e, "/svrkit/echo"), router.Options{})
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := whoami(c, ""); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	waitFor(t, "calls", func() bool { return ok.Load() > 50 })
	if out, code := svr(t, dir, "-f", conf, "-s", "restart"); code != 0 {
		t.Fatalf("restart: %d %q", code, out)
	}
	n := ok.Load()
	waitFor(t, "calls after the restart", func() bool { return ok.Load() > n+200 })
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d calls failed across the graceful restart, first: %v", failed.Load(), firstErr.Load())
	}
	before, err := cli.Get(context.Background(), key)
	if err != nil || len(before.Kvs) != 1 {
		t.Fatalf("after the restart: %v, %v; want the key registered", before, err)
	}
	if out, code := svr(t, dir, "-f", conf, "-s", "stop"); code != 0 {
		t.Fatalf("stop: %d %q", code, out)
	}
	stopped = true

	// The key's history: put (first master), put under another lease (the new master),
	// then delete, only after the stop began.
	var kinds []string
	leases := map[int64]bool{}
	timeout := time.After(5 * time.Second)
	for len(kinds) < 3 {
		select {
		case resp := <-events:
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					kinds = append(kinds, "delete")
					if ev.Kv.ModRevision <= before.Header.Revision {
						t.Errorf("the key was deleted at revision %d, before the stop (revision %d)", ev.Kv.ModRevision, before.Header.Revision)
					}
				} else if !leases[ev.Kv.Lease] {
					leases[ev.Kv.Lease] = true
					kinds = append(kinds, "put")
				}
			}
		case <-timeout:
			t.Fatalf("key events %v, want put put delete", kinds)
		}
	}
	if strings.Join(kinds, " ") != "put put delete" {
		t.Errorf("key events %v, want put put delete", kinds)
	}
}
