package service

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lowPort returns a free port below the kernel's ephemeral range (32768-60999 here): a
// test that dials a closed port inside that range can connect the socket to itself.
func lowPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 100; i++ {
		p := 20000 + rand.IntN(12000)
		if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			ln.Close()
			return p
		}
	}
	t.Fatal("no free port below 32000")
	return 0
}

// setPort rewrites f's conf to serve on port (and f.addr to match).
func (f *fakeSvr) setPort(port int) {
	f.t.Helper()
	b, err := os.ReadFile(f.conf)
	if err != nil {
		f.t.Fatal(err)
	}
	_, oldPort, _ := net.SplitHostPort(f.addr)
	text := strings.Replace(string(b), "port="+oldPort+"\n", "port="+strconv.Itoa(port)+"\n", 1)
	if err := os.WriteFile(f.conf, []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// TestRestartServesNewAddress: a graceful restart after [rpc_server] port changed serves
// the new port, and the old one is closed once the old master has drained (issue 17 item 7:
// it used to keep the old port silently), in both rpc worker models.
func TestRestartServesNewAddress(t *testing.T) {
	for _, model := range []string{"thread", "process"} {
		t.Run(model, func(t *testing.T) {
			f := newFakeSvr(t, model, 2, "")
			f.setPort(lowPort(t))
			oldAddr := f.addr
			pid := f.start()
			f.setPort(lowPort(t))
			out, errOut, code := f.run("-f", f.conf, "-s", "restart")
			m := startedRE.FindStringSubmatch(out)
			if code != 0 || m == nil || !strings.Contains(out, "restarted gracefully") {
				t.Fatalf("restart: %d %q %q\nlog:\n%s", code, out, errOut, f.log())
			}
			newPid, _ := strconv.Atoi(m[1])
			t.Cleanup(func() { f.stopAndCheck(newPid) })
			var servedBy int
			if err := call(t, f.addr, "pid", &servedBy); err != nil || servedBy == pid {
				t.Errorf("new address %s: served by %d (old master %d): %v", f.addr, servedBy, pid, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if c, err := (&net.Dialer{}).DialContext(ctx, "tcp", oldAddr); err == nil {
				c.Close()
				t.Errorf("old address %s still accepts connections after the restart", oldAddr)
			}
			if !strings.Contains(f.log(), "ip:port changed; serving the new address") {
				t.Errorf("the change is not logged:\n%s", f.log())
			}
		})
	}
}

// TestRestartRefusesUnopenableAddress: when the new address cannot be opened beside the
// old one (the wildcard on the same port), the restart fails saying stop and start are
// needed, and the old master keeps serving.
func TestRestartRefusesUnopenableAddress(t *testing.T) {
	f := newFakeSvr(t, "thread", 1, "")
	f.setPort(lowPort(t))
	pid := f.start()
	b, _ := os.ReadFile(f.conf)
	os.WriteFile(f.conf, []byte(strings.Replace(string(b), "ip=127.0.0.1", "ip=0.0.0.0", 1)), 0o644)
	out, errOut, code := f.run("-f", f.conf, "-s", "restart")
	if m := startedRE.FindStringSubmatch(out); m != nil { // a wrong success: stop what it started
		newPid, _ := strconv.Atoi(m[1])
		t.Cleanup(func() { f.stopAndCheck(newPid) })
	}
	if code != ExitFailure || !strings.Contains(errOut, "stop and start instead") || !strings.Contains(errOut, "still serves") {
		t.Errorf("restart: %d %q %q", code, out, errOut)
	}
	var servedBy int
	if err := call(t, f.addr, "pid", &servedBy); err != nil || servedBy != pid {
		t.Errorf("after the refused restart: served by %d, want %d: %v", servedBy, pid, err)
	}
}
