package faults

import (
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/daemon"
)

// TestKillWorkersUnderLoad: process model (2 rpc worker processes, 1 self worker process);
// rpc workers and the self worker are killed with SIGKILL while clients call put. Every
// acknowledged put must be stored; every failure must be an error returned in time.
func TestKillWorkersUnderLoad(t *testing.T) {
	p := prof()
	s := newSvr(t, "process", 2, "[self_server]\ndispatch_type=simple\nworker_type=process\nworker_sum=1\n")
	pid := s.start()
	waitFor(t, "3 worker processes", 10*time.Second, func() bool { return len(daemon.Children(pid)) == 3 })

	tl := newTally()
	stop := make(chan struct{})
	wg := persistentLoad(t, s.addr, p.Clients, tl, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	var notesSent, notesFailed atomic.Int64
	nwg := notifyLoad(s.addr, &notesSent, &notesFailed, stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		nwg.Wait()
	}()
	waitFor(t, "load running", 10*time.Second, func() bool { return tl.acked.Load() > 50 })

	rpcKills, selfKills := 0, 0
	pause := p.Load / time.Duration(2*p.Kills+1)
	for round := 0; round < p.Kills; round++ {
		for _, kind := range []string{"rpc worker", "self simple worker"} {
			time.Sleep(pause)
			victim := 0
			for _, c := range daemon.Children(pid) {
				if strings.Contains(cmdline(c), kind) {
					victim = c
					break
				}
			}
			if victim == 0 {
				t.Fatalf("no %s child of %d", kind, pid)
			}
			if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if kind == "rpc worker" {
				rpcKills++
			} else {
				selfKills++
			}
			// The supervisor's crash-loop backoff doubles per quick death, up to 10 s.
			waitFor(t, "replacement of "+kind, 20*time.Second, func() bool {
				kids := daemon.Children(pid)
				if len(kids) != 3 || contains(kids, victim) {
					return false
				}
				if kind == "rpc worker" {
					return true
				}
				m, _ := filepath.Glob(filepath.Join(s.dir, "self.simple.0.*"))
				return len(m) == selfKills+1 // the new incarnation's handler runs
			})
		}
	}
	time.Sleep(pause)
	close(stop)
	wg.Wait()
	nwg.Wait()

	lost := tl.lost(s.lines("put"))
	notes := s.lines("note")
	dups := 0
	for _, n := range notes {
		if n > 1 {
			dups++
		}
	}
	t.Logf("FIGURE kill -9 notifications (%s): sent %d (accepted by the client), failed-with-error %d, delivered %d, duplicated %d, lost in killed workers %d",
		p.Name, notesSent.Load(), notesFailed.Load(), len(notes), dups, notesSent.Load()-int64(len(notes)))
	if dups != 0 || int64(len(notes)) > notesSent.Load() {
		t.Errorf("notifications: %d delivered more than once, %d delivered of %d sent", dups, len(notes), notesSent.Load())
	}
	markers, _ := filepath.Glob(filepath.Join(s.dir, "self.simple.0.*"))
	t.Logf("FIGURE kill -9 (%s): %d rpc worker kills, %d self worker kills, %d clients, %s; acknowledged-then-lost %d; self worker incarnations %d",
		p.Name, rpcKills, selfKills, p.Clients, tl, len(lost), len(markers))
	if len(lost) != 0 {
		t.Errorf("%d acknowledged puts lost, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
	if tl.hung.Load() != 0 {
		t.Errorf("%d calls hung past their deadline", tl.hung.Load())
	}
	if len(markers) != selfKills+1 {
		t.Errorf("self worker started %d times; want %d (1 + kills)", len(markers), selfKills+1)
	}
	if got := tl.acked.Load(); got < 100 {
		t.Errorf("only %d calls acknowledged under load", got)
	}
	if !strings.Contains(s.log(), "worker process died; restarting") {
		t.Error("restarts not logged")
	}
}
