package nofollow

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	dangling := filepath.Join(dir, "dangling")
	os.Symlink(target, link)
	os.Symlink(filepath.Join(dir, "created"), dangling)
	for _, p := range []string{link, dangling} {
		if f, err := Append(p); err == nil || !strings.Contains(err.Error(), p+" is a symbolic link") {
			f.Close()
			t.Errorf("Append(%s): %v", p, err)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("target now holds %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "created")); !os.IsNotExist(err) {
		t.Errorf("dangling link's target created: %v", err)
	}
	f, err := Append(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
