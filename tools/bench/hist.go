package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram: 32 sub-buckets per power of two of
// nanoseconds, so every recorded value is known to within about 3%. It does
// not allocate after creation; merge per-goroutine histograms with add.
type hist struct {
	counts [64 << subBits]int64
	n      int64
}

const subBits = 5

func bucketOf(v int64) int {
	if v < 1<<subBits {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - subBits - 1
	return (e+1)<<subBits + int(v>>e) - 1<<subBits
}

// bucketMid is a representative value (the middle) of bucket i.
func bucketMid(i int) int64 {
	if i < 1<<subBits {
		return int64(i)
	}
	e := i>>subBits - 1
	m := int64(i&(1<<subBits-1) + 1<<subBits)
	return m<<e + (int64(1)<<e)/2
}

func (h *hist) record(d time.Duration) {
	h.counts[bucketOf(int64(d))]++
	h.n++
}

func (h *hist) add(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the latency below which a fraction q of the samples lie (0 when empty).
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n-1)) + 1
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return 0
}
