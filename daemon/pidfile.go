package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/svrkit/svrkit/internal/nofollow"
)

// ErrRunning is wrapped by AcquirePidFile's error when another live process holds the pidfile.
var ErrRunning = errors.New("already running")

// PidFile is a pidfile held by this process: written atomically and locked with
// flock(LOCK_EX) for as long as it is held.
type PidFile struct {
	path string
	f    *os.File // the locked file, the one at path
}

// AcquirePidFile writes this process's pid to path and locks it. name is used in errors:
// when this service's master holds it, the error reads "<name> already running (pid N,
// pidfile PATH)" and wraps ErrRunning; when a process that cannot be proven to be it holds
// the lock, the error wraps ErrNotOurs. A pidfile left by a dead process (nobody holds its
// lock) is replaced. The file is written to a temporary file in the same directory, locked,
// fsynced and renamed into place, so a reader never sees a partial pid. A symbolic link at
// path is refused, never followed.
func AcquirePidFile(path, name string) (*PidFile, error) {
	empty := false // the last attempt found a locked, empty file
	for attempt := 0; attempt < 100; attempt++ {
		old, err := nofollow.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("daemon: open pidfile: %w", err)
		}
		if err := syscall.Flock(int(old.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			if !errors.Is(err, syscall.EWOULDBLOCK) {
				old.Close()
				return nil, fmt.Errorf("daemon: lock pidfile %s: %w", path, err)
			}
			if empty = readText(old) == ""; empty { // a competitor between creating and renaming: look again
				old.Close()
				time.Sleep(10 * time.Millisecond)
				continue
			}
			err := heldBy(old, path, name)
			old.Close()
			return nil, err
		}
		// We hold the lock, but on the file we opened: it may have been replaced or removed
		// since (by a holder that just exited or a competitor that just won). Retry then.
		if !samePath(old, path) {
			old.Close()
			continue
		}
		f, err := writeLocked(path)
		if err != nil {
			if st, serr := old.Stat(); serr == nil && st.Size() == 0 && samePath(old, path) {
				os.Remove(path) // the empty file we just created
			}
			old.Close()
			return nil, err
		}
		old.Close() // releases the old inode's lock; path now names f, locked by us
		return &PidFile{path: path, f: f}, nil
	}
	if empty {
		return nil, fmt.Errorf("%s %w (pidfile %s is locked by a start that has not written its pid)", name, ErrRunning, path)
	}
	return nil, fmt.Errorf("daemon: pidfile %s keeps changing under us; giving up", path)
}

// heldBy is the error for a pidfile f (at path) that another process holds locked.
func heldBy(f *os.File, path, name string) error {
	rec, err := parseRecord(readText(f))
	if err == nil {
		err = checkOwner(f)
	}
	if err == nil {
		err = rec.verify()
	}
	if err != nil {
		return fmt.Errorf("%s: cannot start: pidfile %s is locked by another process: %w (remove the file if no %s master runs)", name, path, err, name)
	}
	return fmt.Errorf("%s %w (pid %d, pidfile %s)", name, ErrRunning, rec.pid, path)
}

// writeLocked writes our pid to a locked temp file and renames it over path.
func writeLocked(path string) (*os.File, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("daemon: write pidfile %s: %w", path, err)
	}
	fail := func(err error) (*os.File, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("daemon: write pidfile %s: %w", path, err)
	}
	if err := syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	rec, err := procRecord(os.Getpid())
	if err != nil {
		return fail(err)
	}
	if _, err := tmp.WriteString(rec.String()); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	return tmp, nil
}

// samePath reports whether f is still the file at path.
func samePath(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// Path is the pidfile's path.
func (p *PidFile) Path() string { return p.path }

// Release removes the pidfile and drops the lock. Safe to call more than once.
func (p *PidFile) Release() error {
	if p == nil || p.f == nil {
		return nil
	}
	var err error
	if samePath(p.f, p.path) {
		err = os.Remove(p.path)
	}
	p.f.Close()
	p.f = nil
	if err != nil {
		return fmt.Errorf("daemon: remove pidfile %s: %w", p.path, err)
	}
	return nil
}

// readText returns the start of f's contents.
func readText(f *os.File) string {
	b := make([]byte, 256)
	n, _ := f.ReadAt(b, 0)
	return string(b[:n])
}

// ReadPidFile returns the pid in path and whether some process holds its lock. It proves
// nothing about that process (Status does). A missing file is (0, false, nil).
func ReadPidFile(path string) (pid int, locked bool, err error) {
	rec, locked, err := readPidFile(path, false)
	return rec.pid, locked, err
}

// readPidFile reads path's record and whether some process holds its lock; with owned, a
// file not owned by the caller or root is an error wrapping ErrNotOurs. A symbolic link at
// path is an error. A missing file is a zero record, unlocked, and no error.
func readPidFile(path string, owned bool) (record, bool, error) {
	f, err := nofollow.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, fmt.Errorf("daemon: open pidfile: %w", err)
	}
	defer f.Close()
	if owned {
		if err := checkOwner(f); err != nil {
			return record{}, false, fmt.Errorf("daemon: pidfile %s: %w", path, err)
		}
	}
	text := readText(f)
	rec, perr := parseRecord(text)
	switch {
	case text == "":
		perr = fmt.Errorf("daemon: pidfile %s is empty (a start in progress?)", path)
	case perr != nil:
		perr = fmt.Errorf("daemon: pidfile %s %w", path, perr)
	}
	lerr := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	switch {
	case lerr == nil:
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return rec, false, nil
	case errors.Is(lerr, syscall.EWOULDBLOCK):
		return rec, true, perr
	default:
		return rec, false, fmt.Errorf("daemon: probe lock of pidfile %s: %w", path, lerr)
	}
}

// File is the open, locked pidfile. A graceful restart passes it to the new master (as an
// inherited fd), which then holds the same lock and takes the pidfile over with TakeOverPidFile,
// so the pidfile stays locked during the hand-off.
func (p *PidFile) File() *os.File { return p.f }

// TakeOverPidFile is AcquirePidFile for a process that inherited inherited, an open file
// description of the pidfile at path locked by a still running predecessor (see File): it
// writes this process's pid atomically to a newly locked file, renames it over path and closes
// inherited. The path is locked throughout, so a concurrent start or status never sees the
// service as stopped. The predecessor's Release then leaves the path alone (it no longer names
// its file).
func TakeOverPidFile(inherited *os.File, path string) (*PidFile, error) {
	defer inherited.Close()
	if err := syscall.Flock(int(inherited.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("daemon: inherited pidfile %s is not locked by our predecessor: %w", path, err)
	}
	if !samePath(inherited, path) {
		return nil, fmt.Errorf("daemon: inherited pidfile is no longer the file at %s", path)
	}
	f, err := writeLocked(path)
	if err != nil {
		return nil, err
	}
	return &PidFile{path: path, f: f}, nil
}
