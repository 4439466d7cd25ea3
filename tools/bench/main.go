// Command bench measures svrkit's echo service against a raw TCP ping-pong,
// gRPC-Go and net/rpc on the same payload (a struct with one string field,
// "testtest") and prints one table: req/s, latency percentiles, CPU and
// allocations per call, server RSS, and each row as a ratio to raw TCP and
// to svrkit.
//
//	go run . [-calls 1000000] [-mode seq|notify|conc|idle|all] [-conc 64] [-conns 1]
//	         [-models thread,process] [-peers raw,grpc,netrpc] [-router] [-quick]
//	         [-idle 10000] [-rounds 1] [-inproc] [-pin] [-cpuprofile file] [-srvprofile dir]
//
// Servers run as child processes (this binary re-executed; svrkit as a real
// echo_svr running service.Main with a generated-style echo_svr.conf) pinned
// with taskset to the other half of the CPUs, or in this process with -inproc.
// It is a separate Go module so gRPC never enters svrkit's own dependencies.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"

	"github.com/svrkit/svrkit/service"
)

func main() {
	if kind := os.Getenv(envServe); kind != "" {
		os.Exit(serveChild(kind))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// env is what the runs share.
type env struct {
	dir       string    // temp dir for configs, pidfiles, logs
	inproc    bool      // servers in this process (svrkit process model still a child)
	place     placement // taskset pinning of server children
	workerSum int       // [rpc_server] worker_sum of the svrkit echo service
	progress  io.Writer // nil: no progress bar
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	calls := fs.Int64("calls", 1_000_000, "calls (or notifications) per contender and mode")
	mode := fs.String("mode", "all", "seq | notify | conc | idle | setup | all (comma-separated list allowed; all = seq,notify,conc,idle)")
	conc := fs.Int("conc", 64, "concurrent callers in conc mode")
	conns := fs.Int("conns", 1, "connections shared by the callers in conc mode")
	models := fs.String("models", "thread,process", "svrkit rpc worker models to run (thread, process)")
	peers := fs.String("peers", "raw,grpc,netrpc", "peers to run beside svrkit (raw, grpc, netrpc; empty for none)")
	withTLS := fs.Bool("tls", false, "also run each svrkit model over TLS ([rpc_server] tls_cert/tls_key, a throw-away certificate)")
	withRouter := fs.Bool("router", true, "also run svrkit through the generated echo client (examples/echo/api/echo, router.Client underneath)")
	quick := fs.Bool("quick", false, "short run: 50,000 calls, 2,000 idle connections (unless -calls / -idle say otherwise)")
	idle := fs.Int("idle", 10_000, "idle connections in idle mode")
	inproc := fs.Bool("inproc", false, "run servers in this process (no pinning, no per-server RSS)")
	pin := fs.Bool("pin", true, "pin client and server children to different CPUs with taskset (when available and nproc >= 2)")
	workerSum := fs.Int("workers", 4, "svrkit [rpc_server] worker_sum (the seed's svr.json has 4)")
	cpuprofile := fs.String("cpuprofile", "", "write this process's CPU profile (client side; with -inproc also the servers)")
	srvprofile := fs.String("srvprofile", "", "directory for CPU profiles of the server children (<kind>-<pid>.prof)")
	noProgress := fs.Bool("noprogress", false, "no progress bar on stderr")
	deadline := fs.Duration("deadline", 0, "give every seq and conc call a ctx with this timeout (context.WithTimeout per call; svrkit sends it to the server with the per-call context); 0: none")
	rounds := fs.Int("rounds", 1, "repeat every mode and contender this many times (interleaved) and report each one's median round")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *quick { // sizes given explicitly win over -quick's
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["calls"] {
			*calls = 50_000
		}
		if !set["idle"] {
			*idle = 2_000
		}
	}
	if *calls <= 0 || *conc <= 0 || *conns <= 0 || *conns > *conc || *idle <= 0 || *workerSum <= 0 || *rounds <= 0 {
		fmt.Fprintln(stderr, "bench: -calls, -conc, -conns, -idle, -workers, -rounds must be positive and -conns <= -conc")
		return 2
	}
	modes, err := parseModes(*mode)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	cs, err := pickContenders(*peers, *models, *withRouter, *withTLS)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}

	dir, err := os.MkdirTemp("", "svrkit-bench-")
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	e := &env{dir: dir, inproc: *inproc, workerSum: *workerSum}
	if !*noProgress {
		e.progress = stderr
	}
	if lim, err := raiseNoFile(); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
	} else if lim < uint64(*idle)+100 {
		fmt.Fprintf(stderr, "bench: RLIMIT_NOFILE hard limit %d is below -idle %d; idle mode may fail\n", lim, *idle)
	}
	pinned := "no"
	if ts, err := exec.LookPath("taskset"); err == nil && *pin && !*inproc && runtime.NumCPU() >= 2 {
		n := runtime.NumCPU()
		clientCPUs, serverCPUs := cpuRange(0, n/2), cpuRange(n/2, n)
		if err := pinSelf(ts, clientCPUs, n/2); err != nil {
			fmt.Fprintln(stderr, "bench: not pinning:", err)
		} else {
			e.place = placement{taskset: ts, serverCPUs: serverCPUs}
			pinned = fmt.Sprintf("client on CPU %s (GOMAXPROCS %d), server children on CPU %s", clientCPUs, n/2, serverCPUs)
		}
	}
	fmt.Fprintf(stderr, "bench: %d calls, modes %s, conc %d over %d conn(s), svrkit worker_sum %d, servers %s, pinning: %s\n",
		*calls, strings.Join(modes, ","), *conc, *conns, *workerSum, map[bool]string{true: "in-process", false: "child processes"}[*inproc], pinned)

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}

	if *srvprofile != "" {
		if err := os.MkdirAll(*srvprofile, 0o755); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 1
		}
		abs, _ := filepath.Abs(*srvprofile)
		os.Setenv(envProfile, abs) // inherited by the server children
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	p := params{calls: *calls, conc: *conc, conns: *conns, idle: *idle, deadline: *deadline}
	all := make([][]result, len(modes)*len(cs)) // [mode*len(cs)+contender][round]
	for round := 0; round < *rounds; round++ {
		for mi, m := range modes {
			for ci, c := range cs {
				if ctx.Err() != nil {
					break
				}
				r := runOne(ctx, e, c, m, p)
				if r.err != nil && !errors.Is(r.err, errUnsupported) {
					fmt.Fprintf(stderr, "bench: %s %s: %v\n", m, c.name, r.err)
				}
				all[mi*len(cs)+ci] = append(all[mi*len(cs)+ci], r)
			}
		}
	}
	var results []result
	for _, rs := range all {
		if len(rs) > 0 {
			results = append(results, median(rs))
		}
	}
	printTable(stdout, results, p)
	if ctx.Err() != nil {
		return 1
	}
	return 0
}

// median returns the round with the median throughput (for idle: median
// RSS); a failed round counts as the slowest. Its note says how many rounds.
func median(rs []result) result {
	key := func(r result) float64 {
		if r.err != nil {
			return -1
		}
		if r.mode == "idle" {
			return float64(r.rss)
		}
		return r.rate()
	}
	sorted := slices.Clone(rs)
	slices.SortFunc(sorted, func(a, b result) int { return cmp.Compare(key(a), key(b)) })
	m := sorted[len(sorted)/2]
	if len(rs) > 1 && m.err == nil {
		var lo, hi float64 = key(sorted[0]), key(sorted[len(sorted)-1])
		unit := "/s"
		if m.mode == "idle" {
			lo, hi, unit = lo/(1<<20), hi/(1<<20), " MiB"
		}
		m.note = strings.TrimSpace(fmt.Sprintf("median of %d rounds (range %.0f-%.0f%s) %s", len(rs), lo, hi, unit, m.note))
	}
	return m
}

func cpuRange(lo, hi int) string {
	if hi-lo == 1 {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi-1)
}

func parseModes(s string) ([]string, error) {
	if s == "all" {
		return []string{"seq", "notify", "conc", "idle"}, nil
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		switch m = strings.TrimSpace(m); m {
		case "seq", "notify", "conc", "idle", "setup":
			out = append(out, m)
		default:
			return nil, fmt.Errorf("-mode %q: allowed: seq, notify, conc, idle, setup, all", m)
		}
	}
	return out, nil
}

// envProfile, when set in a server child, is a directory for its CPU profile
// (<kind>-<pid>.prof; each svrkit worker process writes its own).
const envProfile = "SVRKIT_BENCH_SRVPROFILE"

// serveChild is the server side when this binary runs as a child server.
func serveChild(kind string) int {
	if dir := os.Getenv(envProfile); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.prof", kind, os.Getpid())))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	if kind == "svrkit" {
		// What service.Main does, minus os.Exit (so the profile is written).
		return service.Run(echoApp(), os.Args[1:], os.Stdout, os.Stderr)
	}
	return serveSimpleChild(kind)
}
