package faults

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
)

// tally counts what load clients saw. Every call has a deadline (callTimeout); a call that
// returned later than callTimeout+hangSlack is a hang.
type tally struct {
	sent, acked, failed, hung atomic.Int64
	// resend: the loads send a request that failed as not sent (ErrNotSent, e.g.
	// refused on a connection the server said goaway on) again on a new connection,
	// counted in resent; off, such a call counts as failed.
	resend    bool
	resent    atomic.Int64
	moved     atomic.Int64 // resend: connections left because the server said goaway
	mu        sync.Mutex
	ackedKeys []string
	errs      map[string]int // failure classes
	lats      []time.Duration
}

const (
	callTimeout = 2 * time.Second
	hangSlack   = time.Second
)

func newTally() *tally { return &tally{errs: map[string]int{}} }

func (t *tally) record(key string, lat time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lats = append(t.lats, lat)
	if lat > callTimeout+hangSlack {
		t.hung.Add(1)
	}
	if err == nil {
		t.acked.Add(1)
		if key != "" {
			t.ackedKeys = append(t.ackedKeys, key)
		}
		return
	}
	t.failed.Add(1)
	t.errs[errClass(err)]++
}

// errClass buckets an error for the report.
func errClass(err error) string {
	var se *transport.ServerError
	switch {
	case errors.As(err, &se):
		return "server error: " + strings.SplitN(se.Message, ":", 2)[0]
	case errors.Is(err, transport.ErrNotSent):
		return "not sent (safe to retry)"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "broken") || strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "EOF"):
		return "connection lost mid-call"
	}
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}

// lost returns the acknowledged keys missing from stored (acknowledged-then-lost).
func (t *tally) lost(stored map[string]int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, k := range t.ackedKeys {
		if stored[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

// pct returns the p-th percentile latency and the maximum.
func (t *tally) pct(p float64) (time.Duration, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lats) == 0 {
		return 0, 0
	}
	l := append([]time.Duration(nil), t.lats...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[int(float64(len(l)-1)*p)], l[len(l)-1]
}

func (t *tally) String() string {
	p99, mx := t.pct(0.99)
	t.mu.Lock()
	var classes []string
	for k, v := range t.errs {
		classes = append(classes, fmt.Sprintf("%s=%d", k, v))
	}
	t.mu.Unlock()
	sort.Strings(classes)
	resent := ""
	if t.resend {
		resent = fmt.Sprintf(" (moved after goaway %d, resent after not-sent %d)", t.moved.Load(), t.resent.Load())
	}
	return fmt.Sprintf("sent %d, acked %d, failed-with-error %d [%s]%s, hung %d, p99 %v, max %v",
		t.sent.Load(), t.acked.Load(), t.failed.Load(), strings.Join(classes, " "), resent, t.hung.Load(),
		p99.Round(time.Microsecond), mx.Round(time.Microsecond))
}

// persistentLoad runs n clients until stop, each on one connection (re-dialled after a
// failure), calling put with unique keys.
func persistentLoad(tb testing.TB, addr string, n int, tl *tally, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *transport.Client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for i := 0; i < 10_000_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("p%d-%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				begin := time.Now()
				var err error
				if c != nil && tl.resend && c.Draining() {
					// The server said goaway (graceful restart): move to a new connection.
					c.Close()
					c = nil
					tl.moved.Add(1)
				}
				if c == nil {
					c, err = transport.Dial(ctx, addr, transport.ClientOptions{})
				}
				if err == nil {
					tl.sent.Add(1)
					var got string
					err = c.Call(ctx, "put", &got, key)
					for try := 0; tl.resend && try < 3 && errors.Is(err, transport.ErrNotSent) && ctx.Err() == nil; try++ {
						// Not sent: safe to send again, on a new connection.
						c.Close()
						if c, err = transport.Dial(ctx, addr, transport.ClientOptions{}); err != nil {
							c = nil
							break
						}
						tl.resent.Add(1)
						err = c.Call(ctx, "put", &got, key)
					}
					if err == nil && got != key {
						err = fmt.Errorf("put %q answered %q", key, got)
					}
					if err != nil && c != nil {
						c.Close()
						c = nil
					}
					tl.record(key, time.Since(begin), err)
				} else {
					// A dial that failed sent nothing: count it as a failed attempt.
					tl.sent.Add(1)
					tl.record("", time.Since(begin), err)
					time.Sleep(5 * time.Millisecond)
				}
				cancel()
			}
		}()
	}
	return &wg
}

// dialPerCallLoad runs n clients until stop, each dialling a new connection per call.
func dialPerCallLoad(addr string, n int, tl *tally, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10_000_000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("d%d-%d", g, i)
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				begin := time.Now()
				tl.sent.Add(1)
				var got string
				err := dialAndPut(ctx, addr, key, &got)
				for try := 0; tl.resend && try < 3 && errors.Is(err, transport.ErrNotSent) && ctx.Err() == nil; try++ {
					tl.resent.Add(1) // not sent: safe to send again
					err = dialAndPut(ctx, addr, key, &got)
				}
				tl.record(key, time.Since(begin), err)
				cancel()
			}
		}()
	}
	return &wg
}

// dialAndPut calls put(key) on a new connection to addr.
func dialAndPut(ctx context.Context, addr, key string, got *string) error {
	c, err := transport.Dial(ctx, addr, transport.ClientOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Call(ctx, "put", got, key)
}

// notifyLoad sends note notifications with unique keys on one connection (re-dialled after
// a failure) until stop; a notification has no answer, so sent counts those the client
// accepted and failed those it reported as failed.
func notifyLoad(addr string, sent, failed *atomic.Int64, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var c *transport.Client
		defer func() {
			if c != nil {
				c.Close()
			}
		}()
		for i := 0; i < 10_000_000; i++ {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Microsecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			var err error
			if c == nil {
				c, err = transport.Dial(ctx, addr, transport.ClientOptions{})
			}
			if err == nil {
				if err = c.Notify(ctx, "note", fmt.Sprintf("n-%d", i)); err == nil {
					sent.Add(1)
				} else {
					c.Close()
					c = nil
				}
			}
			if err != nil {
				failed.Add(1)
			}
			cancel()
		}
	}()
	return &wg
}
