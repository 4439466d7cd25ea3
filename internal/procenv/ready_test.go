package procenv

import (
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

const testPipe ReadyPipe = "TEST_READY_FD"

func TestReportAndParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantErr string
	}{
		{"ok", nil, ""},
		{"error on one line", errors.New("register: boom\nsecond line"), "register: boom second line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			env := testPipe.Pass([]string{"A=1", string(testPipe) + "=99"}, int(w.Fd()))
			if len(env) != 2 || env[0] != "A=1" {
				t.Fatalf("Pass = %q", env)
			}
			t.Setenv(string(testPipe), env[1][len(testPipe)+1:])
			p := testPipe.Take()
			if p == nil || os.Getenv(string(testPipe)) != "" {
				t.Fatal("Take: no writer, or the variable is still set")
			}
			p.Report(tc.err)
			p.Report(errors.New("second report")) // no effect
			b, _ := io.ReadAll(r)
			reported, got := ParseReport(string(b))
			if !reported {
				t.Fatalf("ParseReport(%q): not reported", b)
			}
			if (got == nil) != (tc.wantErr == "") || got != nil && got.Error() != tc.wantErr {
				t.Fatalf("ParseReport(%q) = %v, want %q", b, got, tc.wantErr)
			}
		})
	}
}

func TestParseReport(t *testing.T) {
	if reported, err := ParseReport("  \n"); reported || err != nil {
		t.Errorf("empty line: %v, %v; want not reported", reported, err)
	}
	if reported, err := ParseReport("ready?\n"); !reported || !errors.Is(err, ErrBadReport) {
		t.Errorf("malformed line: %v, %v; want an error", reported, err)
	}
}

func TestTakeWithoutPipe(t *testing.T) {
	t.Setenv(string(testPipe), "")
	if testPipe.Take() != nil {
		t.Error("Take without the variable: want nil")
	}
	t.Setenv(string(testPipe), "1")
	if testPipe.Take() != nil {
		t.Error("Take of fd 1: want nil")
	}
	var w *Reporter
	w.Report(nil) // a nil Reporter does nothing
}

func TestRoleRoundTrip(t *testing.T) {
	for _, r := range []Role{{Kind: RoleRPC, Index: 2}, {Kind: RoleSelf, Group: "ev-1", Index: 0}} {
		for _, e := range []string{envRole, envGroup, envIndex} {
			t.Setenv(e, "")
		}
		for _, kv := range r.Env() {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		got, ok, err := RoleFromEnv()
		if !ok || err != nil || got != r {
			t.Errorf("RoleFromEnv after %q = %+v, %v, %v; want %+v", r.Env(), got, ok, err, r)
		}
	}
	t.Setenv(envRole, "")
	if _, ok, err := RoleFromEnv(); ok || err != nil {
		t.Errorf("no role: ok=%v err=%v", ok, err)
	}
	for _, bad := range [][3]string{{"boss", "0", ""}, {RoleRPC, "-1", ""}, {RoleSelf, "0", ""}} {
		t.Setenv(envRole, bad[0])
		t.Setenv(envIndex, bad[1])
		t.Setenv(envGroup, bad[2])
		if _, ok, err := RoleFromEnv(); !ok || err == nil {
			t.Errorf("RoleFromEnv with %q: ok=%v err=%v, want an error", bad, ok, err)
		}
	}
}

func TestHandoff(t *testing.T) {
	env := HandoffEnv(4, 5)
	if !slices.Equal(env, []string{envHandoffListen + "=4", envHandoffPid + "=5"}) {
		t.Fatalf("HandoffEnv = %q", env)
	}
	t.Setenv(envHandoffListen, "")
	t.Setenv(envHandoffPid, "")
	if l, p, err := TakeHandoff(); l != nil || p != nil || err != nil {
		t.Fatalf("no hand-off: %v %v %v", l, p, err)
	}
	t.Setenv(envHandoffListen, "1")
	t.Setenv(envHandoffPid, "x")
	if _, _, err := TakeHandoff(); err == nil || os.Getenv(envHandoffListen) != "" {
		t.Fatalf("bad fds: err=%v, variable left %q", err, os.Getenv(envHandoffListen))
	}
}
