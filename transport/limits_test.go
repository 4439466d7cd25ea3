package transport

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// rawDial opens a plain TCP connection for a hostile client.
func rawDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// partialEcho is the first n bytes of an echo request of size bytes.
func partialEcho(t *testing.T, size, n int) []byte {
	t.Helper()
	b, err := codec.AppendRequest(nil, 1, "echo", strings.Repeat("p", size))
	if err != nil {
		t.Fatal(err)
	}
	return b[:n]
}

// readClosed reads c until the server closes it; it returns what was read.
func readClosed(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	return b
}

func echoOK(t *testing.T, c *Client, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got string
	if err := c.Call(ctx, "echo", &got, what); err != nil || got != what {
		t.Fatalf("echo %s: %q %v", what, got, err)
	}
}

// TestMessageTimeout: a connection that began a message and stalls, and one
// that sends it at a trickle (slowloris), are closed MessageTimeout after the
// message began; other connections are served throughout.
func TestMessageTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, ServerOptions{MessageTimeout: timeout})
	c := dial(t, ts.addr)
	echoOK(t, c, "before")

	stalled := rawDial(t, ts.addr)
	begin := time.Now()
	if _, err := stalled.Write(partialEcho(t, 100<<10, 50<<10)); err != nil {
		t.Fatal(err)
	}
	slow := rawDial(t, ts.addr)
	trickle := partialEcho(t, 1000, 1000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // one byte every 20 ms until the server closes the connection
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for _, b := range trickle {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := slow.Write([]byte{b}); err != nil {
				return
			}
		}
	}()
	echoOK(t, c, "during")
	readClosed(t, stalled)
	if d := time.Since(begin); d < timeout {
		t.Errorf("stalled connection closed after %v, before the %v message timeout", d, timeout)
	}
	readClosed(t, slow)
	close(stop)
	wg.Wait()
	echoOK(t, c, "after")
	if st := ts.Stats(); st.TimedOut != 2 {
		t.Errorf("Stats().TimedOut = %d, want 2", st.TimedOut)
	}
}

// TestIdleTimeout: an idle connection is sent GoAwayMethod and closed; one
// with a call in flight is left alone, and its call is answered.
func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, ServerOptions{IdleTimeout: 200 * time.Millisecond})
	idle := dial(t, ts.addr)
	echoOK(t, idle, "x")
	busy := dial(t, ts.addr)
	res := make(chan error, 1)
	go func() { res <- busy.Call(context.Background(), "block", nil) }()

	raw := rawDial(t, ts.addr)
	got := readClosed(t, raw)
	goaway, _ := codec.AppendNotification(nil, GoAwayMethod)
	if !bytes.Equal(got, goaway) {
		t.Errorf("idle connection got %x before close, want the goaway notification %x", got, goaway)
	}
	select {
	case <-idle.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("idle client not told to go away")
	}
	if !errors.Is(idle.Err(), ErrDraining) {
		t.Errorf("idle client: %v, want ErrDraining", idle.Err())
	}
	if busy.Draining() {
		t.Error("connection with a call in flight told to go away")
	}
	close(ts.release)
	if err := <-res; err != nil {
		t.Errorf("call in flight: %v", err)
	}
	if st := ts.Stats(); st.IdleShut < 2 {
		t.Errorf("Stats().IdleShut = %d, want >= 2", st.IdleShut)
	}
}

// TestMaxConns: past MaxConns a new connection is closed at once and those
// open keep working; a closed one frees its place.
func TestMaxConns(t *testing.T) {
	ts := startServer(t, ServerOptions{MaxConns: 2})
	a, b := dial(t, ts.addr), dial(t, ts.addr)
	echoOK(t, a, "a")
	echoOK(t, b, "b")
	if got := readClosed(t, rawDial(t, ts.addr)); len(got) != 0 {
		t.Errorf("refused connection got %x", got)
	}
	echoOK(t, a, "a again")
	echoOK(t, b, "b again")
	if st := ts.Stats(); st.Refused != 1 || st.Conns != 2 {
		t.Errorf("stats %+v, want 1 refused, 2 open", st)
	}
	b.Close()
	for ts.Stats().Conns > 1 {
		time.Sleep(time.Millisecond)
	}
	echoOK(t, dial(t, ts.addr), "c")
}

// TestMaxBufferedBytes: connections sending most of a large request and
// stalling are not read past MaxBufferedBytes in total, small calls go on, and
// MessageTimeout sheds the stalled ones.
func TestMaxBufferedBytes(t *testing.T) {
	const bound, size, conns = 256 << 10, 200 << 10, 8
	ts := startServer(t, ServerOptions{MaxBufferedBytes: bound, MessageTimeout: 2 * time.Second})
	c := dial(t, ts.addr)
	var wg sync.WaitGroup
	var raws []net.Conn
	for range conns {
		r := rawDial(t, ts.addr)
		raws = append(raws, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.Write(partialEcho(t, size, size-10)) // blocks while the server does not read; fails at close
		}()
	}
	// Wait until the server holds what it will: the bound, plus what one read may add.
	for ts.Stats().Buffered < bound {
		time.Sleep(time.Millisecond)
	}
	echoOK(t, c, "while over the bound")
	peak := ts.Stats().Buffered
	if peak > bound+size {
		t.Errorf("buffered %d bytes, bound %d", peak, bound)
	}
	for _, r := range raws {
		readClosed(t, r)
	}
	wg.Wait()
	for ts.Stats().Buffered != 0 {
		time.Sleep(time.Millisecond)
	}
	echoOK(t, c, "after")
	if st := ts.Stats(); st.TimedOut != conns {
		t.Errorf("Stats().TimedOut = %d, want %d", st.TimedOut, conns)
	}
}

// TestPing: the server answers PingMethod itself with a nil result; a
// notification of it is ignored.
func TestPing(t *testing.T) {
	ts := startServer(t, ServerOptions{})
	c := dial(t, ts.addr)
	if err := c.Notify(context.Background(), PingMethod); err != nil {
		t.Fatal(err)
	}
	reply := any("not nil")
	if err := c.Call(context.Background(), PingMethod, &reply); err != nil || reply != nil {
		t.Fatalf("ping: %v %v", reply, err)
	}
	if st := ts.Stats(); st.NotifyFailed != 0 {
		t.Errorf("ping notification counted as failed: %+v", st)
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNotifyFailuresLogged: a notification whose handler fails, one with bad
// params and one for an unknown method are logged at Warn (visible at Info)
// with method and peer, and counted; a flood is logged at a bounded rate.
func TestNotifyFailuresLogged(t *testing.T) {
	var logBuf syncBuffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ts := startServer(t, ServerOptions{Logger: log})
	c := dial(t, ts.addr)
	ctx := context.Background()
	for _, n := range []struct {
		method string
		args   []any
	}{{"panic", nil}, {"echo", []any{42}}, {"nosuch", nil}} {
		if err := c.Notify(ctx, n.method, n.args...); err != nil {
			t.Fatal(err)
		}
	}
	for ts.Stats().NotifyFailed < 3 {
		time.Sleep(time.Millisecond)
	}
	out := logBuf.String()
	for _, want := range []string{"method=panic", "method=echo", "arg 0 (value)", "method=nosuch", "method not found", "remote=127.0.0.1:", "level=WARN"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	const flood = 200
	for range flood {
		if err := c.Notify(ctx, "nosuch"); err != nil {
			t.Fatal(err)
		}
	}
	for ts.Stats().NotifyFailed < 3+flood {
		time.Sleep(time.Millisecond)
	}
	out = logBuf.String()
	if n := strings.Count(out, "notification failed"); n > 2*warnPerSecond {
		t.Errorf("%d lines logged for %d failed notifications in about a second", n, 3+flood)
	}
}

// emfileListener fails its first n Accepts with EMFILE, as a process out of
// file descriptors does.
type emfileListener struct {
	net.Listener
	n     int
	calls []time.Time
}

func (l *emfileListener) Accept() (net.Conn, error) {
	l.calls = append(l.calls, time.Now())
	if len(l.calls) <= l.n {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptEMFILEBacksOff: accept failing with EMFILE does not spin: Serve
// waits before each retry (5 ms, doubling) and serves once it succeeds.
func TestAcceptEMFILEBacksOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &emfileListener{Listener: ln, n: 4}
	s := NewServer(ServerOptions{})
	s.Register("echo", func(ctx context.Context, params []byte) (any, error) { return "ok", nil })
	served := make(chan error, 1)
	go func() { served <- s.Serve(el) }()
	c := dial(t, ln.Addr().String())
	var got string
	if err := c.Call(context.Background(), "echo", &got); err != nil || got != "ok" {
		t.Fatalf("echo after EMFILE: %q %v", got, err)
	}
	s.Close()
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	for i, want := 1, 5*time.Millisecond; i <= el.n; i, want = i+1, 2*want {
		if d := el.calls[i].Sub(el.calls[i-1]); d < want {
			t.Errorf("accept retry %d after %v, want >= %v", i, d, want)
		}
	}
}
