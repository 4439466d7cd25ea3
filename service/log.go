package service

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/svrkit/svrkit/internal/nofollow"
	"github.com/svrkit/svrkit/workers"
)

// newLogger returns a text slog.Logger writing to [app] log (appended, created 0644, a
// symbolic link refused) or to stderr when that is empty, with "app" and (unless role is
// "") "role" on every line. Close the returned closer when done (a no-op for stderr).
func newLogger(cfg *workers.Config, role string) (*slog.Logger, io.Closer, error) {
	var w io.Writer = os.Stderr
	var c io.Closer = nopCloser{}
	if cfg.App.LogFile != "" {
		f, err := nofollow.Append(cfg.App.LogFile)
		if err != nil {
			return nil, nil, fmt.Errorf("open log file ([app] log in %s): %w", cfg.Path, err)
		}
		w, c = f, f
	}
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})
	l := slog.New(h).With("app", cfg.App.Name)
	if role != "" {
		l = l.With("role", role)
	}
	return l, c, nil
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
