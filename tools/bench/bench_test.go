package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if kind := os.Getenv(envServe); kind != "" { // a server child: the test binary re-executed
		os.Exit(serveChild(kind))
	}
	goleak.VerifyTestMain(m)
}

func TestHistQuantiles(t *testing.T) {
	h := new(hist)
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}} {
		got := h.quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d < -0.04 || d > 0.04 {
			t.Errorf("quantile(%v) = %v, want %v within 4%%", c.q, got, c.want)
		}
	}
	for v := int64(0); v < 1<<20; v += 977 {
		if mid := bucketMid(bucketOf(v)); float64(mid-v) > 0.04*float64(v)+1 || float64(v-mid) > 0.04*float64(v)+1 {
			t.Fatalf("bucketMid(bucketOf(%d)) = %d", v, mid)
		}
	}
}

// TestSmoke runs every contender in every mode with tiny sizes: in-process
// servers, plus svrkit's process model as a real child (this test binary).
func TestSmoke(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-calls", "300", "-idle", "50", "-conc", "8", "-conns", "2", "-inproc", "-noprogress"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	table := out.String()
	if strings.Contains(table, "FAILED") {
		t.Fatalf("a run failed:\n%s\nstderr:\n%s", table, errOut.String())
	}
	for _, want := range []string{"| seq | raw TCP | 300 |", "| seq | gRPC-Go |", "| seq | net/rpc |", "| seq | svrkit thread |",
		"| seq | svrkit process |", "| notify | svrkit thread +echo client |", "| conc | svrkit thread +echo client | 300 |", "| conc | svrkit thread | 300 |", "| notify | net/rpc | - |"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestIdleChild(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-mode", "idle", "-idle", "50", "-peers", "grpc", "-models", "thread", "-router=false", "-noprogress", "-pin=false"}, &out, &errOut)
	if code != 0 || strings.Contains(out.String(), "FAILED") || !strings.Contains(out.String(), "| idle | svrkit thread | 50 |") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-mode", "nope"}, {"-calls", "0"}, {"-peers", "zmq"}, {"-models", "fiber"}, {"-conns", "5", "-conc", "2"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("run(%q) = %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}
