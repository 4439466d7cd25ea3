package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/svrkit/svrkit/codec"
	"github.com/svrkit/svrkit/transport"
	"github.com/svrkit/svrkit/workers"
	"go.uber.org/goleak"
)

// envFake makes the test binary act as a generated echo_svr (calling Main); envDir is where
// its self handlers leave a marker file per (group, worker, coroutine).
const (
	envFake = "SERVICE_TEST_FAKE_SVR"
	envDir  = "SERVICE_TEST_DIR"
)

func TestMain(m *testing.M) {
	if os.Getenv(envFake) != "" {
		Main(testApp(os.Getenv(envDir)))
	}
	goleak.VerifyTestMain(m)
}

// Files in the test app's dir that make its start-up fail (ready_test.go).
const (
	failRegisterFile = "fail-register" // Register returns errRegister
	panicInitFile    = "panic-init"    // Init panics in self worker processes
)

var errRegister = errors.New("test register failure")

// testApp is a tiny generated-looking app: rpc echo, slow(ms), pid; self handlers for the
// groups simple, event and value_log that mark themselves in dir and run until stopped.
func testApp(dir string) App {
	exists := func(name string) bool {
		if dir == "" {
			return false
		}
		_, err := os.Stat(filepath.Join(dir, name))
		return err == nil
	}
	self := func(ctx context.Context, w workers.Worker) error {
		if dir != "" {
			name := fmt.Sprintf("%s.%d.%d", w.Group, w.Index, w.Coroutine)
			_ = os.WriteFile(filepath.Join(dir, name), []byte(strconv.Itoa(os.Getpid())), 0o644)
		}
		w.Log.Info("self worker running")
		<-ctx.Done()
		return nil
	}
	return App{
		Name: "echo",
		Init: func(ctx context.Context, cfg *workers.Config) error {
			if RoleOf(ctx).Kind == RoleSelf && exists(panicInitFile) {
				panic("test init crash")
			}
			cfg.Middleware = append(cfg.Middleware, refuseMiddleware(RoleOf(ctx).Kind))
			return nil
		},
		Register: func(s *transport.Server, cfg *workers.Config) error {
			if exists(failRegisterFile) {
				return errRegister
			}
			s.Register("echo", func(ctx context.Context, params []byte) (any, error) {
				var msg string
				if err := codec.DecodeParams(params, []string{"msg"}, &msg); err != nil {
					return nil, err
				}
				return msg, nil
			})
			s.Register("slow", func(ctx context.Context, params []byte) (any, error) {
				var ms int64
				if err := codec.DecodeParams(params, []string{"ms"}, &ms); err != nil {
					return nil, err
				}
				if dir != "" {
					_ = os.WriteFile(filepath.Join(dir, "slow-started"), nil, 0o644)
				}
				time.Sleep(time.Duration(ms) * time.Millisecond) // deliberately ignores ctx: a call to drain
				return "slow done", nil
			})
			s.Register("pid", func(ctx context.Context, params []byte) (any, error) {
				return os.Getpid(), nil
			})
			s.Register("callctx", callCtxHandler)
			s.Register("waitctx", func(ctx context.Context, params []byte) (any, error) {
				// Blocks until its ctx ends and records why, in waitctx-ended.
				_ = os.WriteFile(filepath.Join(dir, "waitctx-started"), nil, 0o644)
				<-ctx.Done()
				_ = os.WriteFile(filepath.Join(dir, "waitctx-ended"), []byte(ctx.Err().Error()), 0o644)
				return nil, ctx.Err()
			})
			return nil
		},
		Self: map[string]workers.SelfFunc{"simple": self, "event": self, "value_log": self},
	}
}
