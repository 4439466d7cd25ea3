package faults

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// The attacks of issue 17 item 3, replayed against a real service process:
// partial near-max requests left pending, slowloris, and connections beyond
// the cap. The quick profile scales them down with lower limits in the conf;
// the long profile (-faults.long) is the full-size reproduction with
// the default limits.

// attackSize sizes the attacks.
type attackSize struct {
	conf     string // [rpc_server] keys
	partials int    // connections sending most of a near-max request, then stalling
	msgSize  int    // the request's size
	timeout  time.Duration
	slow     int // slowloris connections at 1 byte/s
	capConns int // connections opened against max_conns
	maxConns int
	rssBound int64 // KiB the partial attack may add to the server's RSS
}

func attackProfile() attackSize {
	if prof().Name == "long" {
		return attackSize{conf: "max_conns=5000\n", partials: 300, msgSize: 4_000_010, timeout: transport.DefaultMessageTimeout,
			slow: 200, capConns: 6000, maxConns: 5000, rssBound: 4 * transport.DefaultMaxBufferedBytes >> 10}
	}
	return attackSize{conf: "max_message_size=1100000\nmax_buffered_bytes=16777216\nmessage_timeout=2s\nmax_conns=200\n",
		partials: 300, msgSize: 1_000_010, timeout: 2 * time.Second, slow: 100, capConns: 300, maxConns: 200, rssBound: 96 << 10}
}

// attackers runs attack on n connections at once and returns on how many it
// saw the server close the connection (attack's result).
func attackers(t *testing.T, addr string, n int, attack func(c net.Conn) bool) int64 {
	var closed atomic.Int64
	var wg sync.WaitGroup
	for range n {
		c := dialRaw(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if attack(c) {
				closed.Add(1)
			}
		}()
	}
	wg.Wait()
	return closed.Load()
}

// closedWithin reads c until the server closes it, at most limit; it tells
// whether the server closed it.
func closedWithin(c net.Conn, limit time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

func TestAttacks(t *testing.T) {
	a := attackProfile()
	s := newSvr(t, "thread", 8, "")
	s.writeConf(strings.Replace(readFile(t, s.conf), "worker_sum=8\n", "worker_sum=8\n"+a.conf, 1))
	pid := s.start()

	t.Run("partial requests", func(t *testing.T) {
		req := request(t, "echo", strings.Repeat("p", a.msgSize-10)) // a.msgSize bytes
		pr := startProbe(t, s.addr)
		before := rssKiB(pid)
		rs := sampleRSS(pid)
		closed := attackers(t, s.addr, a.partials, func(c net.Conn) bool {
			c.SetWriteDeadline(time.Now().Add(a.timeout + 10*time.Second))
			if _, err := c.Write(req[:len(req)-10]); err != nil && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
				return false // timed out: the server neither read nor closed it
			}
			return closedWithin(c, a.timeout+5*time.Second)
		})
		peak := rs.end()
		tl := pr.end()
		t.Logf("FIGURE partial requests: %d connections each sending %d bytes of a %d-byte request: server RSS %d KiB before, peak %d KiB (+%d KiB); %d closed by message_timeout; probe: %s",
			a.partials, len(req)-10, len(req), before, peak, peak-before, closed, tl)
		if peak-before > memSlack*a.rssBound {
			t.Errorf("server RSS grew by %d KiB (bound %d KiB)", peak-before, memSlack*a.rssBound)
		}
		if closed != int64(a.partials) {
			t.Errorf("%d of %d stalled connections closed by the server", closed, a.partials)
		}
		if tl.failed.Load() != 0 || tl.acked.Load() == 0 {
			t.Errorf("probe suffered: %s", tl)
		}
	})

	t.Run("slowloris", func(t *testing.T) {
		req := request(t, "echo", strings.Repeat("s", 100))
		pr := startProbe(t, s.addr)
		begin := time.Now()
		closed := attackers(t, s.addr, a.slow, func(c net.Conn) bool {
			for i := range req {
				if time.Since(begin) > a.timeout+5*time.Second {
					return false // never closed
				}
				if _, err := c.Write(req[i : i+1]); err != nil || closedWithin(c, time.Second) {
					return true
				}
			}
			return false
		})
		tl := pr.end()
		t.Logf("FIGURE slowloris: %d connections at 1 byte/s: %d closed by the server within %v; probe: %s",
			a.slow, closed, time.Since(begin).Round(time.Second), tl)
		if closed != int64(a.slow) {
			t.Errorf("%d of %d slowloris connections closed", closed, a.slow)
		}
		if tl.failed.Load() != 0 || tl.acked.Load() == 0 {
			t.Errorf("probe suffered: %s", tl)
		}
	})

	t.Run("connections beyond the cap", func(t *testing.T) { capAttack(t, s.addr, a.capConns, a.maxConns, true) })

	// The service logs at Info: a failed notification's Warn line gets through.
	t.Run("failed notifications logged", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		c, err := transport.Dial(ctx, s.addr, transport.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Notify(ctx, "nosuch", "x"); err != nil {
			t.Fatal(err)
		}
		if err := c.Notify(ctx, "note", 42); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "failed notifications in the log", 10*time.Second, func() bool {
			log := s.log()
			return strings.Contains(log, "notification failed") && strings.Contains(log, "method=nosuch") &&
				strings.Contains(log, "method=note") && strings.Contains(log, "remote=127.0.0.1:")
		})
	})
}

// TestAttackCapProcessModel: max_conns reaches the worker processes (each
// has its own cap).
func TestAttackCapProcessModel(t *testing.T) {
	s := newSvr(t, "process", 2, "")
	s.writeConf(strings.Replace(readFile(t, s.conf), "worker_sum=2\n", "worker_sum=2\nmax_conns=50\n", 1))
	s.start()
	capAttack(t, s.addr, 300, 100, false)
}

// capAttack holds n connections against a service capped at max open ones: those beyond
// it are closed at once (exactly those with one server; with worker processes sharing
// the listener, a worker at its cap refuses even when another has room), an echo client connected before keeps working, and the
// service takes new connections once the held ones go.
func capAttack(t *testing.T, addr string, n, max int, exact bool) {
	pr := startProbe(t, addr)
	waitFor(t, "probe connected", 5*time.Second, func() bool { return pr.tl.acked.Load() > 0 })
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		conns = append(conns, dialRaw(t, addr))
	}
	// A held connection answers ping; a refused one is closed.
	refused := 0
	ping := request(t, transport.PingMethod)
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		_, werr := c.Write(ping)
		_, rerr := c.Read(make([]byte, 64))
		if werr != nil || rerr != nil {
			refused++
		}
	}
	tl := pr.end()
	t.Logf("FIGURE connections beyond the cap: %d opened against max_conns %d: %d refused at once; probe: %s", n, max, refused, tl)
	if held := n - refused; held > max || held == 0 || exact && held != max-1 { // the probe holds one place
		t.Errorf("%d of %d connections held against max_conns %d", held, n, max)
	}
	if tl.failed.Load() != 0 || tl.acked.Load() == 0 {
		t.Errorf("probe suffered: %s", tl)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	waitFor(t, "a new client served after the attack", 10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		c, err := transport.Dial(ctx, addr, transport.ClientOptions{})
		if err != nil {
			return false
		}
		defer c.Close()
		var got string
		return c.Call(ctx, "echo", &got, "after") == nil && got == "after"
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
