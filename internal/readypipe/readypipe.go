// Package readypipe is the one-line start-up report a child process sends its parent
// on an inherited pipe: "ok", or "error: <why>". daemon uses it between a detached
// master and the command that started it, workers between a master and its worker
// processes.
package readypipe

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrBadReport is wrapped by Parse's error for a line that is neither report.
var ErrBadReport = errors.New("bad start-up report")

// Writer is the child's end of the pipe.
type Writer struct{ f *os.File }

// Take returns the pipe whose fd the environment variable env names, else nil. It
// clears env and marks the fd close-on-exec so processes started later do not inherit
// it. Call it once, early.
func Take(env string) *Writer {
	v := os.Getenv(env)
	if v == "" {
		return nil
	}
	os.Unsetenv(env)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return &Writer{f: os.NewFile(uintptr(fd), "ready-pipe")}
}

// Report sends nil as "ok" and an error as "error: <why>" (on one line), then closes
// the pipe. Only the first call has an effect; a nil Writer does nothing.
func (w *Writer) Report(err error) {
	if w == nil || w.f == nil {
		return
	}
	line := "ok\n"
	if err != nil {
		line = "error: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"
	}
	_, _ = w.f.WriteString(line)
	w.f.Close()
	w.f = nil
}

// Parse reads a report line (surrounding space ignored). reported is false when the
// line is empty: the child closed the pipe, or died, without reporting. err is the
// child's error, or says the line is malformed.
func Parse(line string) (reported bool, err error) {
	line = strings.TrimSpace(line)
	switch {
	case line == "":
		return false, nil
	case line == "ok":
		return true, nil
	case strings.HasPrefix(line, "error: "):
		return true, errors.New(strings.TrimPrefix(line, "error: "))
	}
	return true, fmt.Errorf("%w %q", ErrBadReport, line)
}
