package faults

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/svrkit/svrkit/daemon"
)

// TestPlantedPidfile replays the attack of issue 17 item 1: a pidfile planted at `[app]
// pid` names an unrelated live process (a `sleep` child of the test) that holds its flock.
// status must say it is not the service's master, stop must refuse and signal nothing, a
// start must say why it cannot start; the victim survives. As root, the same holds for a
// file with the victim's genuine start time and executable planted by another user.
func TestPlantedPidfile(t *testing.T) {
	plants := []struct{ name, reason string }{{"pid only", "without its start time"}, {"nobody's file", "owned by uid 65534"}}
	for _, plant := range plants {
		t.Run(plant.name, func(t *testing.T) {
			if plant.name == "nobody's file" && os.Geteuid() != 0 {
				t.Skip("needs root to chown")
			}
			s := newSvr(t, "thread", 1, "")
			f, err := os.Create(s.pidfile)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			defer os.Remove(s.pidfile)
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			victim := exec.Command("sleep", "60")
			victim.ExtraFiles = []*os.File{f} // the victim holds the lock too
			if err := victim.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { victim.Process.Kill(); victim.Wait() }()
			pid := victim.Process.Pid
			text := strconv.Itoa(pid) + "\n"
			if plant.name == "nobody's file" {
				b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
				fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
				var st syscall.Stat_t
				if err := syscall.Stat("/proc/"+strconv.Itoa(pid)+"/exe", &st); err != nil {
					t.Fatal(err)
				}
				text += "start=" + fields[19] + " exe=" + strconv.FormatUint(st.Dev, 10) + ":" + strconv.FormatUint(st.Ino, 10) + "\n"
				if err := f.Chown(65534, 65534); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.WriteString(text); err != nil {
				t.Fatal(err)
			}

			out, errOut, code := s.run("-f", s.conf, "-s", "status")
			if code != 1 || !strings.Contains(errOut, "not this service's master") || !strings.Contains(errOut, s.pidfile) || !strings.Contains(errOut, plant.reason) {
				t.Errorf("status: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			out, errOut, code = s.run("-f", s.conf, "-s", "stop")
			if code != 1 || !strings.Contains(errOut, "sent no signal") || !strings.Contains(errOut, s.pidfile) {
				t.Errorf("stop: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			out, errOut, code = s.run("-f", s.conf, "-s", "restart")
			if code != 1 || !strings.Contains(errOut, "not this service's master") {
				t.Errorf("restart: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			out, errOut, code = s.run("-f", s.conf, "-d")
			if code != 1 || !strings.Contains(errOut, "start failed") || !strings.Contains(errOut, "not this service's master") {
				t.Errorf("start: exit %d, stdout %q, stderr %q", code, out, errOut)
			}
			if !daemon.Alive(pid) {
				t.Fatal("the victim was killed")
			}
		})
	}
}

// TestSymlinkedPidAndLog replays issue 17 item 2: a dangling symbolic link at `[app] pid`
// must not make the service create the link's target, and one at `[app] log` must not make
// it append to the target. Both starts fail saying so.
func TestSymlinkedPidAndLog(t *testing.T) {
	s := newSvr(t, "thread", 1, "")
	created := filepath.Join(s.dir, "created-through-link")
	if err := os.Symlink(created, s.pidfile); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := s.run("-f", s.conf, "-d")
	if code != 1 || !strings.Contains(errOut, s.pidfile+" is a symbolic link") {
		t.Errorf("start with a linked pidfile: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Lstat(created); !os.IsNotExist(err) {
		t.Errorf("the link's target was created: %v", err)
	}
	os.Remove(s.pidfile)

	target, logPath := filepath.Join(s.dir, "victim.txt"), filepath.Join(s.dir, "faults.log")
	os.Remove(logPath) // written by the failed start above
	os.WriteFile(target, []byte("precious\n"), 0o644)
	if err := os.Symlink(target, logPath); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-f", s.conf, "-d"}, {"-f", s.conf}} {
		out, errOut, code = s.run(args...)
		if code != 1 || !strings.Contains(errOut, logPath+" is a symbolic link") {
			t.Errorf("%v with a linked log: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the log link's target was written: %q", b)
	}
	s.checkNothingLeft()
}

// TestRacingStarts: of several `-d` starts at once exactly one wins, and every loser names
// the winner's pid (never "pid 0", which a loser printed when it met the pidfile between
// the winner's create and rename).
func TestRacingStarts(t *testing.T) {
	for round := 0; round < 3; round++ {
		s := newSvr(t, "thread", 1, "")
		type result struct {
			out, errOut string
			code        int
		}
		const n = 6
		results := make(chan result, n)
		for i := 0; i < n; i++ {
			go func() {
				out, errOut, code := s.run("-f", s.conf, "-d")
				results <- result{out, errOut, code}
			}()
		}
		var winners []int
		var losers []string
		for i := 0; i < n; i++ {
			r := <-results
			if m := startedRE.FindStringSubmatch(r.out); r.code == 0 && m != nil {
				pid, _ := strconv.Atoi(m[1])
				winners = append(winners, pid)
			} else {
				losers = append(losers, r.errOut)
			}
		}
		if len(winners) > 0 {
			t.Cleanup(s.stopAndCheck)
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners %v; losers: %q", round, len(winners), winners, losers)
		}
		want := "faults already running (pid " + strconv.Itoa(winners[0]) + ", pidfile " + s.pidfile + ")"
		for _, l := range losers {
			if !strings.Contains(l, want) {
				t.Errorf("round %d: loser says %q, want %q", round, l, want)
			}
		}
	}
}
