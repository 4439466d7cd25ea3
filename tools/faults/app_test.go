package faults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/service"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
)

// faultApp is the service under test:
//
//	echo(msg) msg          pid() int
//	slow(ms) "slow done"   sleeps, returns early with ctx's error when the connection goes
//	put(key) key           appends key to dir/put.<pid> before answering (acknowledged = stored)
//	note(key)              notification; appends key to dir/note.<pid>
//	notes() int            notifications delivered to this process
//
// The self handler (any group) writes dir/self.<group>.<index>.<pid> and runs until stopped.
func faultApp(dir string) service.App {
	var mu sync.Mutex
	var putF, noteF *os.File
	var notes atomic.Int64
	appendLine := func(f **os.File, kind, key string) error {
		mu.Lock()
		defer mu.Unlock()
		if *f == nil {
			var err error
			*f, err = os.OpenFile(filepath.Join(dir, fmt.Sprintf("%s.%d", kind, os.Getpid())), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				return err
			}
		}
		_, err := (*f).WriteString(key + "\n")
		return err
	}
	str := func(params []byte, name string) (string, error) {
		var s string
		err := codec.DecodeParams(params, []string{name}, &s)
		return s, err
	}
	self := func(ctx context.Context, w workers.Worker) error {
		name := fmt.Sprintf("self.%s.%d.%d", w.Group, w.Index, os.Getpid())
		_ = os.WriteFile(filepath.Join(dir, name), nil, 0o644)
		<-ctx.Done()
		return nil
	}
	return service.App{
		Name: "faults",
		Register: func(s *transport.Server, cfg *workers.Config) error {
			s.Register("echo", func(ctx context.Context, p []byte) (any, error) { return str(p, "msg") })
			s.Register("pid", func(ctx context.Context, p []byte) (any, error) { return os.Getpid(), nil })
			s.Register("slow", func(ctx context.Context, p []byte) (any, error) {
				var ms int64
				if err := codec.DecodeParams(p, []string{"ms"}, &ms); err != nil {
					return nil, err
				}
				select {
				case <-time.After(time.Duration(ms) * time.Millisecond):
					return "slow done", nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			})
			s.Register("put", func(ctx context.Context, p []byte) (any, error) {
				k, err := str(p, "key")
				if err != nil {
					return nil, err
				}
				return k, appendLine(&putF, "put", k)
			})
			s.Register("note", func(ctx context.Context, p []byte) (any, error) {
				k, err := str(p, "key")
				if err != nil {
					return nil, err
				}
				notes.Add(1)
				return nil, appendLine(&noteF, "note", k)
			})
			s.Register("notes", func(ctx context.Context, p []byte) (any, error) { return notes.Load(), nil })
			return nil
		},
		Self: map[string]workers.SelfFunc{"simple": self, "event": self},
	}
}
