package readypipe

import (
	"errors"
	"io"
	"os"
	"strconv"
	"testing"
)

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
			t.Setenv("TEST_READY_FD", strconv.Itoa(int(w.Fd())))
			p := Take("TEST_READY_FD")
			if p == nil || os.Getenv("TEST_READY_FD") != "" {
				t.Fatal("Take: no writer, or the variable is still set")
			}
			p.Report(tc.err)
			p.Report(errors.New("second report")) // no effect
			b, _ := io.ReadAll(r)
			reported, got := Parse(string(b))
			if !reported {
				t.Fatalf("Parse(%q): not reported", b)
			}
			if (got == nil) != (tc.wantErr == "") || got != nil && got.Error() != tc.wantErr {
				t.Fatalf("Parse(%q) = %v, want %q", b, got, tc.wantErr)
			}
		})
	}
}

func TestParse(t *testing.T) {
	if reported, err := Parse("  \n"); reported || err != nil {
		t.Errorf("empty line: %v, %v; want not reported", reported, err)
	}
	if reported, err := Parse("ready?\n"); !reported || !errors.Is(err, ErrBadReport) {
		t.Errorf("malformed line: %v, %v; want an error", reported, err)
	}
}

func TestTakeWithoutPipe(t *testing.T) {
	t.Setenv("TEST_READY_FD", "")
	if Take("TEST_READY_FD") != nil {
		t.Error("Take without the variable: want nil")
	}
	t.Setenv("TEST_READY_FD", "1")
	if Take("TEST_READY_FD") != nil {
		t.Error("Take of fd 1: want nil")
	}
	var w *Writer
	w.Report(nil) // a nil Writer does nothing
}
