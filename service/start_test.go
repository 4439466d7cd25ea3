package service

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

func mustConfig(t *testing.T, text string) *workers.Config {
	t.Helper()
	cfg, err := workers.ParseConfig([]byte(text), "test_svr.conf")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startAndDial starts testApp in this process on a fresh loopback port and dials it.
func startAndDial(t *testing.T, cfg *workers.Config, dir string) (*Running, *transport.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Start(context.Background(), testApp(dir), cfg, ln)
	if err != nil {
		t.Fatal(err)
	}
	c, err := transport.Dial(context.Background(), r.Addr().String(), transport.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

func TestStartInProcess(t *testing.T) {
	dir := t.TempDir()
	cfg := mustConfig(t, `[app]
name=echo
pid=`+dir+`/echo.pid
log=`+dir+`/echo.log
[rpc_server]
ip=127.0.0.1
port=0
worker_type=process
worker_sum=2
[self_server]
dispatch_type=custom
worker_type=process_coroutine
group_sum=2
[self_group0]
group_name=event
worker_sum=2
coroutine_sum=2
[self_group1]
group_name=value_log
worker_sum=1
coroutine_sum=3
`)
	ctx := context.Background()
	r, c := startAndDial(t, cfg, dir)
	defer c.Close()
	var got string
	if err := c.Call(ctx, "echo", &got, "testtest"); err != nil || got != "testtest" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	waitFor(t, "7 self goroutines", func() bool { return countMarkers(dir) == 2*2+1*3 })

	// Stop drains a call in flight.
	slow := make(chan error, 1)
	go func() {
		var s string
		err := c.Call(ctx, "slow", &s, 400)
		if err == nil && s != "slow done" {
			err = errors.New("slow returned " + s)
		}
		slow <- err
	}()
	waitFor(t, "slow call in flight", func() bool { _, err := os.Stat(filepath.Join(dir, "slow-started")); return err == nil })
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.Stop(sctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := <-slow; err != nil {
		t.Errorf("in-flight call during stop: %v", err)
	}
	if _, err := net.DialTimeout("tcp", r.Addr().String(), time.Second); err == nil {
		t.Error("still accepting after Stop")
	}
	logs, _ := os.ReadFile(filepath.Join(dir, "echo.log"))
	if !strings.Contains(string(logs), "app=echo role=self group=value_log worker=0 coroutine=2") {
		t.Errorf("log lines lack worker identity:\n%s", logs)
	}
}

func TestStartMissingHandler(t *testing.T) {
	cfg := mustConfig(t, "[app]\nname=echo\npid=/tmp/x.pid\n[rpc_server]\nip=127.0.0.1\nport=0\nworker_type=thread\nworker_sum=1\n"+
		"[self_server]\ndispatch_type=custom\nworker_type=thread\ngroup_sum=1\n[self_group0]\ngroup_name=nohandler\nworker_sum=1\n")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(context.Background(), testApp(""), cfg, ln)
	if err == nil || !strings.Contains(err.Error(), `"nohandler"`) {
		t.Errorf("err = %v", err)
	}
}

func countMarkers(dir string) int {
	n := 0
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Count(e.Name(), ".") == 2 && !strings.HasSuffix(e.Name(), ".conf") && !strings.HasSuffix(e.Name(), ".log") && !strings.HasSuffix(e.Name(), ".pid") {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConfBounds: [rpc_server]'s optional bounds reach the server: with one
// handler slot and max_queue=-1 a call that finds the slot busy is shed, and a
// request over max_message_size costs the sender its connection.
func TestConfBounds(t *testing.T) {
	dir := t.TempDir()
	cfg := mustConfig(t, `[app]
name=echo
pid=`+dir+`/echo.pid
[rpc_server]
ip=127.0.0.1
port=0
worker_type=thread
worker_sum=1
max_queue=-1
max_message_size=1024
`)
	ctx := context.Background()
	r, c := startAndDial(t, cfg, dir)
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		r.Stop(sctx)
	}()
	defer c.Close()
	slow := make(chan error, 1)
	go func() { var s string; slow <- c.Call(ctx, "slow", &s, 300) }()
	waitFor(t, "slow call in flight", func() bool { _, err := os.Stat(filepath.Join(dir, "slow-started")); return err == nil })
	var got string
	err := c.Call(ctx, "echo", &got, "x")
	var se *transport.ServerError
	if !errors.As(err, &se) || !strings.HasPrefix(se.Message, transport.BusyMessage) {
		t.Errorf("call with the only slot busy and max_queue=-1: %v, want %q", err, transport.BusyMessage)
	}
	if err := <-slow; err != nil {
		t.Fatalf("slow: %v", err)
	}
	if err := c.Call(ctx, "echo", &got, strings.Repeat("x", 2000)); !errors.Is(err, transport.ErrBroken) {
		t.Errorf("request over max_message_size: %v, want ErrBroken", err)
	}
}
