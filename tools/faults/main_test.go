package faults

import (
	"flag"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/svrkit/svrkit/service"
	"go.uber.org/goleak"
)

// Environment switches that make the test binary act as the service under test.
const (
	envSvr = "FAULTS_SVR" // "1": run service.Main(faultApp(dir))
	envDir = "FAULTS_DIR" // the service's scratch directory (delivery logs, markers)
)

var longFlag = flag.Bool("faults.long", false, "run the long fault profile (also SVRKIT_FAULTS=long)")
var genBin = flag.String("faults.gen", "", "path of a built svrkit gen CLI (default: go build ./gen/cmd/svrkit when go is on PATH)")

// profile sizes the scenarios.
type profile struct {
	Name     string
	Load     time.Duration // how long load runs in each scenario
	Clients  int           // concurrent load clients
	Kills    int           // kill -9 rounds per worker kind
	Restarts int           // graceful restarts
	Idle     int           // idle connections held open
}

func prof() profile {
	if *longFlag || os.Getenv("SVRKIT_FAULTS") == "long" {
		return profile{Name: "long", Load: 8 * time.Second, Clients: 16, Kills: 8, Restarts: 5, Idle: 10000}
	}
	return profile{Name: "quick", Load: 1500 * time.Millisecond, Clients: 4, Kills: 2, Restarts: 2, Idle: 2000}
}

func TestMain(m *testing.M) {
	if os.Getenv(envSvr) != "" {
		service.Main(faultApp(os.Getenv(envDir)))
	}
	raiseNoFile()
	goleak.VerifyTestMain(m)
}

// raiseNoFile lifts RLIMIT_NOFILE to its hard limit (the service children inherit it).
func raiseNoFile() {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) == nil && r.Cur < r.Max {
		r.Cur = r.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
	}
}
