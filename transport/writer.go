package transport

import (
	"context"
	"io"
	"runtime"
	"sync"
	"time"
)

const (
	// maxPendingWrite bounds the bytes queued behind a write in progress;
	// writers beyond it wait (backpressure) until the queue drains. With the
	// write in progress, a connection whose peer does not read holds at most
	// about twice this (plus one message).
	maxPendingWrite = 256 << 10
	// maxKeptBuffer is the largest write buffer kept for reuse.
	maxKeptBuffer = 4 << 20
)

// connWriter coalesces writes to one connection without a goroutine hop:
// the first writer to find the connection idle writes its bytes itself, and
// everything appended while that write is in progress goes out in the next
// single write, by the same goroutine.
type connWriter struct {
	conn    io.Writer
	mu      sync.Mutex
	buf     []byte // queued bytes
	spare   []byte // the buffer being written, reused after
	busy    bool   // a goroutine is writing (or a background flush is due)
	corked  bool   // hold writes: the read loop will flush after a batch
	err     error  // sticky: set when the connection failed or was closed
	drained chan struct{}
	onErr   func(error)   // called once, outside the lock, on the first write error
	timeout time.Duration // > 0: a write that makes no progress for this long fails
	kick    chan struct{}
}

// lock waits for room in the queue and returns with mu held, or an error
// (with mu released) when the request can no longer be sent.
func (w *connWriter) lock(ctx context.Context) error {
	w.mu.Lock()
	for {
		if w.err != nil {
			err := w.err
			w.mu.Unlock()
			return err
		}
		if len(w.buf) < maxPendingWrite || !w.busy {
			return nil
		}
		if w.drained == nil {
			w.drained = make(chan struct{})
		}
		ch := w.drained
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		w.mu.Lock()
	}
}

// commit is called with mu held after appending to buf. When no write is in
// progress it writes now (inline) or hands off to the background flusher
// (background: notifications, and calls made while others are in flight, so
// that concurrent writers share one write). It returns the
// error of a write that carried this goroutine's bytes.
func (w *connWriter) commit(background bool) error {
	if w.busy || w.corked {
		w.mu.Unlock()
		return nil
	}
	w.busy = true
	if background && w.kick != nil {
		w.mu.Unlock()
		select {
		case w.kick <- struct{}{}:
		default:
		}
		return nil
	}
	return w.flushLocked()
}

// cork holds commits back until uncork, so that responses to a batch of
// requests read at once go out in one write.
func (w *connWriter) cork() {
	w.mu.Lock()
	w.corked = true
	w.mu.Unlock()
}

// uncork ends cork and writes what was held.
func (w *connWriter) uncork() {
	w.mu.Lock()
	w.corked = false
	if w.busy || len(w.buf) == 0 {
		w.mu.Unlock()
		return
	}
	w.busy = true
	_ = w.flushLocked()
}

// flushLocked writes until the queue is empty; mu held and busy set on entry,
// mu released on return.
func (w *connWriter) flushLocked() error {
	for len(w.buf) > 0 && w.err == nil {
		out := w.buf
		w.buf = w.spare[:0]
		if w.drained != nil {
			close(w.drained)
			w.drained = nil
		}
		w.mu.Unlock()
		if d, ok := w.conn.(writeDeadliner); ok && w.timeout > 0 {
			_ = d.SetWriteDeadline(time.Now().Add(w.timeout))
		}
		_, err := w.conn.Write(out)
		w.mu.Lock()
		if cap(out) <= maxKeptBuffer {
			w.spare = out[:0]
		}
		if err != nil {
			w.busy = false
			first := w.err == nil
			w.failLocked(err)
			w.mu.Unlock()
			if first && w.onErr != nil {
				w.onErr(err)
			}
			return err
		}
	}
	w.busy = false
	w.mu.Unlock()
	return nil
}

// writeDeadliner is a connection whose writes can time out (a net.Conn).
type writeDeadliner interface{ SetWriteDeadline(t time.Time) error }

// background runs the flusher for commit(true) until stop is closed.
func (w *connWriter) background(stop <-chan struct{}) {
	for {
		select {
		case <-w.kick:
			runtime.Gosched() // let runnable writers append their bytes first
			w.mu.Lock()
			if !w.busy {
				w.busy = true
			}
			_ = w.flushLocked()
		case <-stop:
			return
		}
	}
}

// fail makes every later write fail with err and wakes waiters.
func (w *connWriter) fail(err error) {
	w.mu.Lock()
	w.failLocked(err)
	w.mu.Unlock()
}

func (w *connWriter) failLocked(err error) {
	if w.err == nil {
		w.err = err
	}
	w.buf = w.buf[:0]
	if w.drained != nil {
		close(w.drained)
		w.drained = nil
	}
}
