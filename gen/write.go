package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteOptions control Write.
type WriteOptions struct {
	// Force overwrites user files (handlers) too. Zero value: existing user files are kept.
	Force bool
	// Log receives one line per kept user file ("<path>: exists, kept"). Nil: io.Discard.
	Log io.Writer
}

// Write writes files under dir, creating directories. Generated files are always
// rewritten (atomically: temp file + rename); user files are created once and kept when
// they exist. It returns the paths it wrote.
func Write(dir string, files []File, opts WriteOptions) ([]string, error) {
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	// Check every target first, so that a file that cannot be written stops Write
	// before it has written anything.
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil {
				if !st.IsDir() {
					return nil, fmt.Errorf("gen: cannot write %s: %s is not a directory", p, d)
				}
				break
			}
			if d == filepath.Dir(d) {
				break
			}
		}
		if st, err := os.Lstat(p); err == nil && st.IsDir() {
			return nil, fmt.Errorf("gen: cannot write %s: it is a directory", p)
		}
	}
	var wrote []string
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if f.User && !opts.Force {
			if _, err := os.Lstat(p); err == nil {
				fmt.Fprintf(log, "%s: exists, kept\n", p)
				continue
			} else if !errors.Is(err, fs.ErrNotExist) {
				return wrote, fmt.Errorf("gen: %w", err)
			}
		}
		if err := writeFile(p, f.Data, f.Mode); err != nil {
			return wrote, err
		}
		wrote = append(wrote, p)
	}
	return wrote, nil
}

func writeFile(p string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".tmp*")
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), mode)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("gen: write %s: %w", p, werr)
	}
	return nil
}

// ImportPathFor derives the Go import path of dir from the nearest go.mod above it (dir
// need not exist yet).
func ImportPathFor(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("gen: %w", err)
	}
	for d := abs; ; {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil {
			mod := modulePath(data)
			if mod == "" {
				return "", fmt.Errorf("gen: %s has no module line", filepath.Join(d, "go.mod"))
			}
			rel, err := filepath.Rel(d, abs)
			if err != nil {
				return "", fmt.Errorf("gen: %w", err)
			}
			if rel == "." {
				return mod, nil
			}
			return mod + "/" + filepath.ToSlash(rel), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("gen: no go.mod in %s or any parent; pass -importpath", abs)
		}
		d = parent
	}
}

// modulePath returns the module path from go.mod contents.
func modulePath(data []byte) string {
	for _, line := range bytes.Split(data, []byte("\n")) {
		f := strings.Fields(string(line))
		if len(f) >= 2 && f[0] == "module" {
			if s, err := strconv.Unquote(f[1]); err == nil {
				return s
			}
			return f[1]
		}
	}
	return ""
}

// GoMod renders a create-once go.mod for a new service directory: the module is app,
// and it requires svrkit from the checkout at root (svrkit is not on the module proxy),
// with the Go version of that checkout's go.mod.
func GoMod(app, root string) (File, error) {
	if root == "" {
		return File{}, errors.New("gen: the svrkit checkout for a new go.mod is unknown")
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || modulePath(data) != DefaultRuntime {
		return File{}, fmt.Errorf("gen: %s is not a svrkit checkout (its go.mod is not module %s)", root, DefaultRuntime)
	}
	goVersion := ""
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "go" {
			goVersion = "\ngo " + f[1] + "\n"
		}
	}
	src := fmt.Sprintf("module %s\n%s\nrequire %s v0.0.0\n\n// svrkit is not on the module proxy: use the local checkout.\nreplace %s => %s\n",
		app, goVersion, DefaultRuntime, DefaultRuntime, strconv.Quote(root))
	return File{Path: "go.mod", Data: []byte(src), Mode: 0o644, User: true}, nil
}
