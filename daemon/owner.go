package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrNotOurs is wrapped by the error of Status, Stop and AcquirePidFile when a locked
// pidfile cannot be proven to name the master that wrote it: the file is not owned by the
// caller (or root), or the process it names did not start at the recorded time from the
// recorded executable.
var ErrNotOurs = errors.New("not this service's master")

// record is what a pidfile says about its master: the pid, the start time the kernel gave
// it (clock ticks since boot, /proc/<pid>/stat field 22) and the device and inode of its
// executable. A pid can be reused; the three together cannot.
type record struct {
	pid   int
	start uint64
	exe   fileID
}

// fileID names an inode.
type fileID struct{ dev, ino uint64 }

// String is the record as written in a pidfile: the pid alone on the first line (for
// humans and `kill $(head -1 pidfile)`), then the proof of identity.
func (r record) String() string {
	return fmt.Sprintf("%d\nstart=%d exe=%d:%d\n", r.pid, r.start, r.exe.dev, r.exe.ino)
}

// parseRecord parses a pidfile's text. A file holding only a pid (an older svrkit, or one
// planted by hand) parses with start 0, which never verifies.
func parseRecord(text string) (record, error) {
	first, rest, _ := strings.Cut(text, "\n")
	var r record
	var err error
	if r.pid, err = strconv.Atoi(strings.TrimSpace(first)); err != nil || r.pid <= 0 {
		return record{}, fmt.Errorf("holds %q, not a pid", strings.TrimSpace(first))
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return r, nil
	}
	if _, err := fmt.Sscanf(rest, "start=%d exe=%d:%d", &r.start, &r.exe.dev, &r.exe.ino); err != nil {
		return record{}, fmt.Errorf("second line %q is not \"start=N exe=DEV:INO\"", rest)
	}
	return r, nil
}

// procRecord returns the identity of the live process pid.
func procRecord(pid int) (record, error) {
	start, ok := procStart(pid)
	if !ok {
		return record{}, fmt.Errorf("pid %d is not running", pid)
	}
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		return record{}, fmt.Errorf("cannot read the executable of pid %d: %w", pid, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return record{pid: pid, start: start, exe: fileID{uint64(st.Dev), st.Ino}}, nil
}

// verify checks that r's process is alive, started at the recorded time and runs the
// recorded executable. The error says which differs.
func (r record) verify() error {
	if r.start == 0 {
		return fmt.Errorf("%w: the pidfile names pid %d without its start time and executable", ErrNotOurs, r.pid)
	}
	now, err := procRecord(r.pid)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %v", ErrNotOurs, err)
	case now.start != r.start:
		return fmt.Errorf("%w: pid %d started at tick %d, the pidfile's master at tick %d (pid reused)", ErrNotOurs, r.pid, now.start, r.start)
	case now.exe != r.exe:
		return fmt.Errorf("%w: pid %d runs executable %d:%d, the pidfile's master ran %d:%d", ErrNotOurs, r.pid, now.exe.dev, now.exe.ino, r.exe.dev, r.exe.ino)
	}
	return nil
}

// checkOwner accepts a pidfile owned by the caller's effective uid or by root, and only a
// regular file: a pidfile anyone else could have written proves nothing.
func checkOwner(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: the pidfile is not a regular file (%v)", ErrNotOurs, fi.Mode().Type())
	}
	uid := fi.Sys().(*syscall.Stat_t).Uid
	if me := os.Geteuid(); uid != 0 && int(uid) != me {
		return fmt.Errorf("%w: the pidfile is owned by uid %d, not by you (uid %d) or root", ErrNotOurs, uid, me)
	}
	return nil
}
