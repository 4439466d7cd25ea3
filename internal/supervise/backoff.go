package supervise

import (
	"fmt"
	"time"
)

// Backoff is the restart delay policy for workers that die or fail: Min, doubled after each
// consecutive failure up to Max. A worker that ran at least ResetAfter before failing starts
// again from Min. Zero fields mean DefaultBackoff's.
type Backoff struct {
	Min, Max, ResetAfter time.Duration
}

// DefaultBackoff is Min 100ms, Max 10s, ResetAfter 10s.
func DefaultBackoff() Backoff {
	return Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second, ResetAfter: 10 * time.Second}
}

// Verify returns b with zero fields set to the defaults, or an error for a negative field
// or a Max below Min.
func (b Backoff) Verify() (Backoff, error) {
	if b.Min < 0 || b.Max < 0 || b.ResetAfter < 0 {
		return b, fmt.Errorf("backoff: negative duration in %+v", b)
	}
	d := DefaultBackoff()
	if b.Min == 0 {
		b.Min = d.Min
	}
	if b.Max == 0 {
		b.Max = d.Max
	}
	if b.ResetAfter == 0 {
		b.ResetAfter = d.ResetAfter
	}
	if b.Max < b.Min {
		return b, fmt.Errorf("backoff: Max %v is below Min %v", b.Max, b.Min)
	}
	return b, nil
}

// CrashLoopAfter is the number of consecutive quick failures after which a worker is
// reported (at level ERROR) as crash looping. It keeps being restarted, at most every Max.
const CrashLoopAfter = 5

// restarts tracks consecutive failures of one worker.
type restarts struct {
	b      Backoff // verified
	streak int     // consecutive failures that happened before ResetAfter
}

// failed records a failure after running for ran and returns the delay before the next start.
func (r *restarts) failed(ran time.Duration) time.Duration {
	if ran >= r.b.ResetAfter {
		r.streak = 0
	}
	r.streak++
	d := r.b.Min
	for i := 1; i < r.streak && d < r.b.Max; i++ {
		d *= 2
	}
	if d > r.b.Max {
		d = r.b.Max
	}
	return d
}

// sleep waits d or until done is closed; it reports whether the full delay passed.
func sleep(done <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}
