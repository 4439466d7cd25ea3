package faults

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/svrkit/svrkit/daemon"
)

// TestGracefulRestartUnderLoad: `-s restart` hands the listening socket to a new master
// while clients dial a new connection per call (goal and requirement: 0 failures) and
// other clients keep persistent connections (the old worker says goaway; a call refused
// as not sent on the draining connection is resent on a new one and counted; any call
// that fails is counted, never acknowledged-then-lost).
func TestGracefulRestartUnderLoad(t *testing.T) {
	for _, model := range []string{"process", "thread"} {
		t.Run(model, func(t *testing.T) {
			p := prof()
			s := newSvr(t, model, 2, "")
			first := s.start()
			dial, pers := newTally(), newTally()
			// A connection accepted as the old server begins to drain is told
			// goaway before its call leaves: not sent, and sent again on a new
			// connection, as the router does (counted in resent).
			dial.resend, pers.resend = true, true
			stop := make(chan struct{})
			wg1 := dialPerCallLoad(s.addr, p.Clients, dial, stop)
			wg2 := persistentLoad(t, s.addr, p.Clients, pers, stop)
			waitFor(t, "load running", 10*time.Second, func() bool { return dial.acked.Load() > 20 && pers.acked.Load() > 20 })
			pids := []int{first}
			for r := 0; r < p.Restarts; r++ {
				time.Sleep(p.Load / time.Duration(p.Restarts+1))
				old := s.pid()
				tree := append(daemon.Descendants(old), old)
				out, errOut, code := s.run("-f", s.conf, "-s", "restart")
				m := startedRE.FindStringSubmatch(out)
				if code != 0 || m == nil || !strings.Contains(out, "restarted gracefully") {
					close(stop)
					wg1.Wait()
					wg2.Wait()
					t.Fatalf("restart %d: exit %d %q %q\nlog:\n%s", r, code, out, errOut, s.log())
				}
				np, _ := strconv.Atoi(m[1])
				pids = append(pids, np)
				for _, q := range tree {
					if daemon.Alive(q) {
						t.Errorf("restart %d: old process %d (%s) still alive", r, q, cmdline(q))
					}
				}
				if s.pid() != np {
					t.Errorf("restart %d: pidfile names %d, want %d", r, s.pid(), np)
				}
			}
			time.Sleep(p.Load / time.Duration(p.Restarts+1))
			close(stop)
			wg1.Wait()
			wg2.Wait()
			stored := s.lines("put")
			lostD, lostP := dial.lost(stored), pers.lost(stored)
			t.Logf("FIGURE graceful restart (%s, %s model): %d restarts (masters %v); dial-per-call: %s; persistent: %s; acknowledged-then-lost %d",
				p.Name, model, p.Restarts, pids, dial, pers, len(lostD)+len(lostP))
			if dial.failed.Load() != 0 {
				t.Errorf("%d dial-per-call calls failed across graceful restarts: %s", dial.failed.Load(), dial)
			}
			if pers.failed.Load() != 0 {
				t.Errorf("%d persistent-connection calls failed across graceful restarts (goaway should move them): %s", pers.failed.Load(), pers)
			}
			if len(lostD)+len(lostP) != 0 || dial.hung.Load()+pers.hung.Load() != 0 {
				t.Errorf("lost %d/%d, hung %d/%d", len(lostD), len(lostP), dial.hung.Load(), pers.hung.Load())
			}
		})
	}
}
