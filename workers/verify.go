package workers

import (
	"errors"
	"fmt"

	"github.com/svrkit/svrkit/internal/names"
)

// Verify checks a Config built by hand (service.Start calls it; what LoadConfig returns
// always passes): the app and group names follow the IDL's rules, the worker and dispatch
// types are ones svrkit runs, worker_sum is 1..1024, and no duration or bound is negative
// (MaxQueue may be -1). Zero values that have a default (StopTimeout, the rpc bounds,
// CoroutineSum) are fine.
func (c *Config) Verify() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := names.App(c.App.Name); err != nil {
		bad("App.Name: %v", err)
	}
	if c.App.StopTimeout < 0 {
		bad("App.StopTimeout %v is negative", c.App.StopTimeout)
	}
	r := c.RPC
	if r.WorkerType != Thread && r.WorkerType != Process {
		bad("RPC.WorkerType %q (allowed: %s | %s)", r.WorkerType, Thread, Process)
	}
	if r.WorkerSum < 1 || r.WorkerSum > maxWorkers {
		bad("RPC.WorkerSum %d (allowed: 1..%d)", r.WorkerSum, maxWorkers)
	}
	if r.MaxQueue < -1 || r.MaxConnInFlight < 0 || r.MaxMessageSize < 0 || r.MaxConns < 0 || r.MaxBufferedBytes < 0 ||
		r.QueueTimeout < 0 || r.WriteTimeout < 0 || r.MessageTimeout < 0 || r.IdleTimeout < 0 {
		bad("RPC: a negative bound in %+v", r)
	}
	if (r.TLSCert == "") != (r.TLSKey == "") || r.TLSClientCA != "" && r.TLSCert == "" {
		bad("RPC: TLSCert %q, TLSKey %q, TLSClientCA %q: a certificate needs its key, and TLSClientCA needs both", r.TLSCert, r.TLSKey, r.TLSClientCA)
	}
	if s := c.Self; s != nil {
		if s.DispatchType != Simple && s.DispatchType != Custom {
			bad("Self.DispatchType %q (allowed: %s | %s)", s.DispatchType, Simple, Custom)
		}
		if s.WorkerType != Thread && s.WorkerType != Process && s.WorkerType != ProcessCoroutine {
			bad("Self.WorkerType %q (allowed: %s | %s | %s)", s.WorkerType, Thread, Process, ProcessCoroutine)
		}
		if len(s.Groups) == 0 || len(s.Groups) > maxGroups || (s.DispatchType == Simple && (len(s.Groups) != 1 || s.Groups[0].Name != names.Simple)) {
			bad("Self.Groups: %d groups (allowed: one named %q for simple dispatch, 1..%d for custom)", len(s.Groups), names.Simple, maxGroups)
		}
		seen := map[string]bool{}
		for _, g := range s.Groups {
			if s.DispatchType == Custom {
				if err := names.Group(g.Name); err != nil {
					bad("Self.Groups: %v", err)
				}
			}
			if seen[g.Name] {
				bad("Self.Groups: duplicate group name %q", g.Name)
			}
			seen[g.Name] = true
			if g.WorkerSum < 1 || g.WorkerSum > maxWorkers || g.CoroutineSum < 0 || g.CoroutineSum > maxCoroutines {
				bad("Self.Groups: group %q: WorkerSum %d (allowed: 1..%d), CoroutineSum %d (allowed: 0..%d, 0 = 1)",
					g.Name, g.WorkerSum, maxWorkers, g.CoroutineSum, maxCoroutines)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("workers: config %s: %w", c.Path, err)
	}
	return nil
}
