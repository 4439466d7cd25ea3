package service

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

// The service tests never link the etcd package: a fake "etcd" registrar stands in. It
// appends "<call> <pid> <served>" to registry.log next to the conf, served saying whether
// the server still answered a call at that moment.
func init() { RegisterRegistrar("etcd", openFakeRegistrar) }

type fakeRegistrar struct{ cfg *workers.Config }

func openFakeRegistrar(cfg *workers.Config, log *slog.Logger) (Registrar, error) {
	return fakeRegistrar{cfg}, nil
}

func (f fakeRegistrar) note(call string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	served := false
	if c, err := transport.Dial(ctx, f.cfg.RPC.Addr(), transport.ClientOptions{}); err == nil {
		var s string
		served = c.Call(ctx, "echo", &s, "x") == nil
		c.Close()
	}
	lf, err := os.OpenFile(filepath.Join(filepath.Dir(f.cfg.Path), "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	_, err = fmt.Fprintf(lf, "%s %d %v\n", call, os.Getpid(), served)
	return err
}

func (f fakeRegistrar) Register(ctx context.Context) error   { return f.note("register") }
func (f fakeRegistrar) Deregister(ctx context.Context) error { return f.note("deregister") }
func (f fakeRegistrar) Release(ctx context.Context) error    { return f.note("release") }

// TestRegistrarCalls: the master registers once ready (serving), a graceful restart
// registers the new master before the old one releases, and a stop deregisters while the
// server still serves (before the drain).
func TestRegistrarCalls(t *testing.T) {
	f := newFakeSvr(t, "thread", 2, "[registry]\netcd=127.0.0.1:2379\n")
	pid := f.start()
	out, errOut, code := f.run("-f", f.conf, "-s", "restart")
	m := startedRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("restart: %d %q %q\nlog:\n%s", code, out, errOut, f.log())
	}
	newPid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() { f.stopAndCheck(newPid) })
	waitFor(t, "the old master's release", func() bool { return strings.Contains(f.registryLog(), "release") })
	if out, errOut, code := f.run("-f", f.conf, "-s", "stop"); code != 0 {
		t.Fatalf("stop: %d %q %q", code, out, errOut)
	}
	want := fmt.Sprintf("register %d true\nregister %d true\nrelease %d true\nderegister %d true\n", pid, newPid, pid, newPid)
	if got := f.registryLog(); got != want {
		t.Errorf("registry calls:\n%s\nwant:\n%s", got, want)
	}
}

func (f *fakeSvr) registryLog() string {
	b, _ := os.ReadFile(filepath.Join(f.dir, "registry.log"))
	return string(b)
}

func TestRegistrarNotLinked(t *testing.T) {
	_, err := openRegistration(&workers.Config{Path: "x_svr.conf", Registry: &workers.RegistryConfig{Kind: "consul"}}, slog.Default())
	if err == nil || !regexp.MustCompile(`x_svr.conf: \[registry\] consul: no consul registrar is linked into this service \(add import _ "github.com/svrkit/svrkit/consul"`).MatchString(err.Error()) {
		t.Fatalf("got %v", err)
	}
}
