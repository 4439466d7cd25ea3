package daemon

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/internal/procenv"
	"go.uber.org/goleak"
)

// Env switches that make the test binary act as a daemon (see detach_test.go).
const (
	envChild   = "DAEMON_TEST_CHILD"
	envPidFile = "DAEMON_TEST_PIDFILE"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		goleak.VerifyTestMain(m)
	case "serve", "stuck": // take the pidfile, report ready, run until SIGTERM
		n := procenv.DetachReady.Take()
		if os.Getenv(string(procenv.DetachReady)) != "" {
			n.Report(errors.New("procenv.DetachReady still set"))
			os.Exit(1)
		}
		pf, err := AcquirePidFile(os.Getenv(envPidFile), "testd")
		if err != nil {
			n.Report(err)
			os.Exit(1)
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		if os.Getenv(envChild) == "stuck" {
			signal.Ignore(syscall.SIGTERM)
		}
		n.Report(nil)
		<-c
		pf.Release()
		os.Exit(0)
	case "die":
		os.Exit(7)
	case "slow":
		procenv.DetachReady.Take()
		time.Sleep(time.Hour)
	}
}
