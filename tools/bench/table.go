package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// printTable writes results as a Markdown table. The ratio columns compare
// throughput with the raw TCP and the first svrkit row of the same mode
// (for idle: server RSS, so there lower is better).
func printTable(w io.Writer, rs []result, p params) {
	fmt.Fprintln(w, "| mode | contender | n | req/s (msg/s) | × raw TCP | × svrkit | p50 | p99 | p99.9 | CPU/call (server) | syscalls/call client/server | allocs/call | server RSS | note |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	for _, r := range rs {
		var raw, svk *result
		for i := range rs {
			o := &rs[i]
			if o.mode != r.mode || o.err != nil {
				continue
			}
			if raw == nil && o.name == "raw TCP" {
				raw = o
			}
			if svk == nil && strings.HasPrefix(o.name, "svrkit") {
				svk = o
			}
		}
		ratio := func(b *result) string {
			if b == nil || r.err != nil {
				return "-"
			}
			if r.mode == "idle" {
				if b.rss == 0 {
					return "-"
				}
				return fmt.Sprintf("%.2f", float64(r.rss)/float64(b.rss))
			}
			if b.rate() == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", r.rate()/b.rate())
		}
		note := r.note
		if r.err != nil && !errors.Is(r.err, errUnsupported) {
			note = "FAILED: " + r.err.Error()
		}
		rate, cpu, allocs, sys := "-", "-", "-", "-"
		if r.err == nil && r.mode != "idle" && r.n > 0 {
			rate = fmt.Sprintf("%.0f", r.rate())
			cpu = fmt.Sprintf("%.1f µs", float64(r.cpu.Nanoseconds())/1e3/float64(r.n))
			if r.srvCPU > 0 {
				cpu += fmt.Sprintf(" (%.1f)", float64(r.srvCPU.Nanoseconds())/1e3/float64(r.n))
			}
			allocs = fmt.Sprintf("%.1f", float64(r.allocs)/float64(r.n))
			sys = fmt.Sprintf("%.2f", float64(r.cliSys)/float64(r.n))
			if r.srvSys > 0 {
				sys += fmt.Sprintf(" / %.2f", float64(r.srvSys)/float64(r.n))
			}
		}
		p50, p99, p999 := "-", "-", "-"
		if r.lat != nil && r.err == nil {
			p50, p99, p999 = dur(r.lat.quantile(0.5)), dur(r.lat.quantile(0.99)), dur(r.lat.quantile(0.999))
		}
		rss := "-"
		if r.rss > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(r.rss)/(1<<20))
		}
		n := "-"
		if r.n > 0 {
			n = fmt.Sprint(r.n)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.mode, r.name, n, rate, ratio(raw), ratio(svk), p50, p99, p999, cpu, sys, allocs, rss, note)
	}
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
}
