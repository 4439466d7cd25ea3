package supervise

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

// envChild makes the test binary act as a worker process (see procs_test.go).
const envChild = "SUPERVISE_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		goleak.VerifyTestMain(m)
	case "sleep": // a well-behaved worker: runs until SIGTERM
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
		os.Exit(0)
	case "ignoreterm": // a stuck worker: only SIGKILL stops it
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
	case "fail":
		os.Exit(3)
	case "done":
		os.Exit(0)
	case "ready": // reports ok when it has a readiness pipe (first start only), then runs
		rp := procenv.WorkerReady.Take()
		if rp == nil {
			os.Exit(5) // a restart: no pipe
		}
		rp.Report(nil)
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
		os.Exit(0)
	case "notready": // start-up fails: reports why and exits
		procenv.WorkerReady.Take().Report(errors.New("register: boom\nsecond line"))
		os.Exit(1)
	}
}
