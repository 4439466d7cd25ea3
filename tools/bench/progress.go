package main

import (
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"
)

// progress draws a one-line progress bar (\r-rewritten) on w while a run is going.
type progress struct {
	done  atomic.Int64
	stop  chan struct{}
	ended chan struct{}
}

// startProgress starts drawing label's progress towards total every 250 ms.
// A nil w draws nothing. Call end to stop and erase the line.
func startProgress(w io.Writer, label string, total int64) *progress {
	p := &progress{stop: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(p.ended)
		if w == nil || total <= 0 {
			<-p.stop
			return
		}
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-p.stop:
				fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", 79))
				return
			case <-t.C:
				n := min(p.done.Load(), total)
				const width = 30
				fill := int(n * width / total)
				rate := float64(n) / time.Since(start).Seconds()
				fmt.Fprintf(w, "\r%-28.28s [%s%s] %3d%% %d/%d %.0f/s ",
					label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), n*100/total, n, total, rate)
			}
		}
	}()
	return p
}

func (p *progress) end() {
	close(p.stop)
	<-p.ended
}
