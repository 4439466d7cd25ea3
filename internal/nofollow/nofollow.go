// Package nofollow opens the files svrkit creates (pidfiles, logs, restart records) without
// following a symbolic link at the path: a link planted there by someone else must not make
// svrkit create, append to or truncate the file it points to.
package nofollow

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// OpenFile is os.OpenFile with O_NOFOLLOW added. A symbolic link at path, dangling or not,
// is refused with an error naming path; nothing is created.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW, perm)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link; refusing to follow it", path)
	}
	return f, err
}

// Append opens the log file path for appending, creating it 0644 if missing.
func Append(path string) (*os.File, error) {
	return OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
}
