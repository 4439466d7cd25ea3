package dnssrv

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/svrkit/svrkit/router"
	"github.com/svrkit/svrkit/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dnsServer answers SRV queries for one name on 127.0.0.1 (UDP) from a record list the
// test changes; every other question gets an empty answer.
type dnsServer struct {
	pc      net.PacketConn
	name    string // lower case, with the final dot
	mu      sync.Mutex
	records []net.SRV
	mute    bool // drop queries (an outage)
	done    chan struct{}
}

func startDNS(t *testing.T, name string) *dnsServer {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dnsServer{pc: pc, name: strings.ToLower(name), done: make(chan struct{})}
	go d.serve()
	t.Cleanup(func() { pc.Close(); <-d.done })
	return d
}

func (d *dnsServer) set(f func(d *dnsServer)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(d)
}

func (d *dnsServer) serve() {
	defer close(d.done)
	buf := make([]byte, 512)
	for {
		n, from, err := d.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := d.answer(buf[:n]); resp != nil {
			d.pc.WriteTo(resp, from)
		}
	}
}

// answer builds the response to query q, or nil to drop it.
func (d *dnsServer) answer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	// The question: labels up to the root, then type and class.
	i, labels := 12, []string{}
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mute {
		return nil
	}
	var records []net.SRV
	if qtype == 33 && strings.ToLower(strings.Join(labels, ".")+".") == d.name {
		records = d.records
	}
	resp := binary.BigEndian.AppendUint16(nil, binary.BigEndian.Uint16(q)) // id
	resp = append(resp, 0x85, 0x80)                                        // response, authoritative, recursion desired+available
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(records)))
	resp = append(resp, 0, 0, 0, 0)
	resp = append(resp, question...)
	for _, r := range records {
		var target []byte
		for _, l := range strings.Split(strings.TrimSuffix(r.Target, "."), ".") {
			target = append(append(target, byte(len(l))), l...)
		}
		target = append(target, 0)
		resp = append(resp, 0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 1) // name pointer, SRV, IN, ttl 1
		resp = binary.BigEndian.AppendUint16(resp, uint16(6+len(target)))
		resp = binary.BigEndian.AppendUint16(resp, r.Priority)
		resp = binary.BigEndian.AppendUint16(resp, r.Weight)
		resp = binary.BigEndian.AppendUint16(resp, r.Port)
		resp = append(resp, target...)
	}
	return resp
}

func (d *dnsServer) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", d.pc.LocalAddr().String())
	}}
}

// echo is a real server answering "whoami" with its port.
func startEcho(t *testing.T) uint16 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	s := transport.NewServer(transport.ServerOptions{})
	s.Register("whoami", func(ctx context.Context, params []byte) (any, error) { return int64(port), nil })
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ln) }()
	t.Cleanup(func() { s.Close(); <-done })
	return port
}

func shares(t *testing.T, c *router.Client, n int) map[uint16]float64 {
	t.Helper()
	count := map[uint16]float64{}
	for i := range n {
		var port int64
		if err := c.Call(context.Background(), "whoami", &port, nil, router.CallOptions{Key: fmt.Sprint("k", i)}); err != nil {
			t.Fatal(err)
		}
		count[uint16(port)] += 1.0 / float64(n)
	}
	return count
}

func TestSRVMembership(t *testing.T) {
	const name = "_echo._tcp.echo.svc.test."
	d := startDNS(t, name)
	a, b, c3 := startEcho(t), startEcho(t), startEcho(t)
	d.set(func(d *dnsServer) {
		d.records = []net.SRV{{Target: "localhost.", Port: a, Weight: 10}, {Target: "localhost.", Port: b, Weight: 30}}
	})
	reg := &Registry{Name: name, Interval: 20 * time.Millisecond, Resolver: d.resolver()}
	c, err := router.New(&router.Config{Mode: router.ModeHashring}, router.Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Weights from the SRV weights: 1:3.
	s := shares(t, c, 4000)
	if s[a] < 0.18 || s[a] > 0.32 || s[b] < 0.68 || s[b] > 0.82 {
		t.Errorf("shares %v, want about 25%% on %d and 75%% on %d", s, a, b)
	}
	// A third record appears: picked up by the next resolution, without any failure.
	d.set(func(d *dnsServer) { d.records = append(d.records, net.SRV{Target: "localhost.", Port: c3, Weight: 40}) })
	deadline := time.Now().Add(5 * time.Second)
	for shares(t, c, 200)[c3] == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the new SRV record was not picked up")
		}
	}
	// DNS goes silent: the client keeps routing on the last membership.
	d.set(func(d *dnsServer) { d.mute = true })
	if s := shares(t, c, 1000); s[a]+s[b]+s[c3] < 0.999 || s[c3] == 0 {
		t.Errorf("during a DNS outage: %v", s)
	}
}

func TestSRVConfig(t *testing.T) {
	cfg, err := router.ParseConfig([]byte("[server]\nmode=hashring\n[registry]\nsrv=_echo._tcp.nowhere.invalid.\ninterval=1s\nwait=200ms\n"), "echo_cli.conf")
	if err != nil {
		t.Fatal(err)
	}
	if r := cfg.Registry; r.Kind != "srv" || r.SRV != "_echo._tcp.nowhere.invalid." || r.Interval != time.Second {
		t.Fatalf("got %+v", r)
	}
	// Through the init-time registration; the name does not resolve: a clear error in time.
	_, err = router.New(cfg, router.Options{})
	if err == nil || !strings.Contains(err.Error(), "no membership within 200ms") {
		t.Fatalf("got %v", err)
	}
	for _, tc := range []struct{ conf, want string }{
		{"[registry]\nsrv=a\netcd=h:1\n", "[registry] srv: set etcd or srv, not both"},
		{"[registry]\nsrv=\n", "[registry] srv: missing"},
		{"[registry]\nsrv=a\ninterval=-1s\n", "[registry] interval: \"-1s\" is not a positive duration"},
	} {
		_, err := router.ParseConfig([]byte("[server]\nmode=hashring\n"+tc.conf), "x_cli.conf")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.conf, err, tc.want)
		}
	}
}
