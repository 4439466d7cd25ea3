package transport

import (
	"context"
	"time"

	"github.com/svrkit/svrkit/codec"
)

// callerReads is the read side of a Client on a connection with read
// deadlines (readDeadliner: every net.Conn). A caller waiting for its
// response reads the connection itself when nobody else does, delivering the
// other callers' responses it meets, so a lone call costs no goroutine hop:
// on loopback that is about a third more round trips per second than a
// reader goroutine handing every response over a channel (readLoop; see
// docs/BENCHMARKS.md). A watcher goroutine reads when no caller does: for
// the waiting calls when the reading caller is done, and when the connection
// is idle, so that a server going away is noticed (Done) without a call.
//
// One goroutine at a time holds the turn to read. The turn moves so:
//
//	         a caller waits and finds the turn free (take)
//	     ┌───────────────────────────────────────────────┐
//	     │                                               ▼
//	 ┌──────┐       the caller is done (release)     ┌────────┐
//	 │ free │ ◄───────────────────────────────────── │ caller │
//	 └──────┘                                        └────────┘
//	     │                                               ▲
//	     │ the watcher finds the turn still free:        │ a lone caller kicked the
//	     │ calls pending, or free for a whole            │ watcher, which hands the
//	     │ idle interval (watch)                         │ turn to a waiting call (hand)
//	     ▼                                               │
//	┌─────────┐ ─────────────────────────────────────────┘
//	│ watcher │
//	└─────────┘
//
// "Done" is: the caller read its own response, or its ctx ended. A reader is
// made to stop reading by a read deadline in the past (interrupt): the
// watcher when kicked, a caller when its ctx ends (a context.AfterFunc hook,
// registered once per Done channel, since callers tend to pass the same ctx
// over and over). A caller's read deadline is its ctx's deadline; when that
// fires before ctx's own timer has, the caller waits for ctx to end, so its
// error is ctx's and ctx.Err() is set when it returns. Any other timeout is
// stale (an interruption meant for an earlier reader) and the read goes on.
// When the client fails, the reader sees a read error and gives up the turn;
// the watcher exits.
//
// Every field, and the Client's pending calls, are guarded by c.mu.
type callerReads struct {
	c    *Client
	conn readDeadliner

	state      turnState
	reader     *call           // turnCaller: the call whose goroutine reads
	readerDone <-chan struct{} // turnCaller: the reader's ctx.Done()
	kicked     bool            // turnWatcher: a lone caller asked for the turn
	takes      uint64          // turns taken by callers: the watcher's idleness test
	deadline   time.Time       // the read deadline set on conn

	hookDone <-chan struct{} // the Done channel of the ctx hook (see armLocked)
	hookStop func() bool

	wake  chan struct{}            // release left calls pending: the watcher should look
	trace func(from, to turnState) // tests: every transition
}

type turnState uint8

const (
	turnFree turnState = iota
	turnCaller
	turnWatcher
)

func (s turnState) String() string {
	return [...]string{"free", "caller", "watcher"}[s]
}

// readDeadliner is a connection whose reads can be cut short by a deadline.
type readDeadliner interface{ SetReadDeadline(t time.Time) error }

// watcherIdle is how long the turn must stay free before the watcher reads;
// while callers keep taking it the watcher looks again less and less often,
// up to watcherMaxIdle.
const (
	watcherIdle    = 2 * time.Millisecond
	watcherMaxIdle = 64 * time.Millisecond
)

// pastDeadline interrupts a read at once.
var pastDeadline = time.Unix(1, 0)

func newCallerReads(c *Client, conn readDeadliner) *callerReads {
	return &callerReads{c: c, conn: conn, wake: make(chan struct{}, 1)}
}

func (t *callerReads) setStateLocked(s turnState) {
	if t.trace != nil {
		t.trace(t.state, s)
	}
	t.state = s
}

// wait implements receiver.
func (t *callerReads) wait(ctx context.Context, cl *call) error {
	c := t.c
	c.mu.Lock()
	if ctx.Err() != nil {
		c.mu.Unlock()
		return t.abandon(ctx, cl)
	}
	if c.pending[cl.id] == cl && c.err == nil {
		switch t.state {
		case turnFree: // take
			t.reader = cl
			t.takes++
			t.setStateLocked(turnCaller)
			t.armLocked(ctx)
			c.mu.Unlock()
			return t.read(ctx, cl)
		case turnWatcher:
			// Alone on an idle connection: ask the watcher for the turn, so
			// that this goroutine reads its own response. With other calls in
			// flight the watcher delivers.
			if !t.kicked && len(c.pending) == 1 {
				t.kicked = true
				t.interruptLocked()
			}
		}
		cl.waiting = true
	}
	c.mu.Unlock()
	select {
	case sig := <-cl.ch:
		if sig == sigDone {
			return nil
		}
		c.mu.Lock()
		t.armLocked(ctx)
		c.mu.Unlock()
		return t.read(ctx, cl)
	case <-ctx.Done():
		return t.abandon(ctx, cl)
	}
}

// abandon gives up cl, whose ctx ended while it waited.
func (t *callerReads) abandon(ctx context.Context, cl *call) error {
	c := t.c
	c.mu.Lock()
	if t.reader == cl {
		// Handed the turn meanwhile: take its signal, then give the turn up.
		c.mu.Unlock()
		<-cl.ch
		return t.giveUp(ctx, cl)
	}
	ok, drained := c.withdrawLocked(cl)
	c.mu.Unlock()
	if !ok {
		<-cl.ch // completed meanwhile: its sigDone
		return nil
	}
	if drained {
		c.stopDrained()
	}
	return ctx.Err()
}

// giveUp withdraws cl, whose goroutine holds the turn and whose ctx ended,
// and releases the turn.
func (t *callerReads) giveUp(ctx context.Context, cl *call) error {
	c := t.c
	c.mu.Lock()
	ok, drained := c.withdrawLocked(cl)
	t.releaseLocked()
	c.mu.Unlock()
	if !ok {
		<-cl.ch // the client failed meanwhile: its sigDone
		return nil
	}
	if drained {
		c.stopDrained()
	}
	return ctx.Err()
}

// armLocked prepares the reading caller's reads: its ctx's deadline, and the
// hook that interrupts its read when ctx ends.
func (t *callerReads) armLocked(ctx context.Context) {
	dl, _ := ctx.Deadline()
	t.setDeadlineLocked(dl)
	done := ctx.Done()
	t.readerDone = done
	if done == nil || t.c.err != nil {
		return
	}
	if t.hookDone != done {
		if t.hookStop != nil {
			t.hookStop()
		}
		t.hookDone = done
		t.hookStop = context.AfterFunc(ctx, func() {
			t.c.mu.Lock()
			if t.readerDone == done {
				t.interruptLocked()
			}
			if t.hookDone == done {
				t.hookDone, t.hookStop = nil, nil
			}
			t.c.mu.Unlock()
		})
	}
	if ctx.Err() != nil { // it may have ended before the hook saw this reader
		t.interruptLocked()
	}
}

// read reads responses, delivering them, until cl's own arrives or ctx ends.
// cl's goroutine holds the turn.
func (t *callerReads) read(ctx context.Context, cl *call) error {
	c := t.c
	var m codec.Message
	for {
		err := c.dec.Next(&m)
		if err == nil {
			if c.deliver(&m, cl) {
				c.mu.Lock()
				t.releaseLocked()
				c.mu.Unlock()
				return nil
			}
			continue
		}
		c.mu.Lock()
		failed := c.err != nil
		c.mu.Unlock()
		if failed || !isTimeoutErr(err) {
			c.readErr(err) // fail removed cl and signalled it
			c.mu.Lock()
			t.releaseLocked()
			c.mu.Unlock()
			<-cl.ch
			return nil
		}
		// Checked under c.mu: a hook that finds ctx ended interrupts after this.
		c.mu.Lock()
		if ctx.Err() == nil {
			if dl, ok := ctx.Deadline(); !ok || time.Now().Before(dl) {
				// Stale: an interruption meant for an earlier reader.
				t.setDeadlineLocked(dl)
				c.mu.Unlock()
				continue
			}
		}
		c.mu.Unlock()
		// ctx ended, or its deadline passed and fired the socket's deadline
		// before ctx's own timer, which is due: wait for it, so that the
		// error is ctx's and ctx.Err() is set on return.
		<-ctx.Done()
		return t.giveUp(ctx, cl)
	}
}

// releaseLocked ends the reading caller's turn. With calls pending it wakes
// the watcher, which reads for them unless a caller took the turn first.
func (t *callerReads) releaseLocked() {
	t.reader, t.readerDone = nil, nil
	t.setStateLocked(turnFree)
	if t.c.awaitingLocked() && t.c.err == nil {
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

func (t *callerReads) setDeadlineLocked(d time.Time) {
	if !d.Equal(t.deadline) {
		t.deadline = d
		t.conn.SetReadDeadline(d)
	}
}

func (t *callerReads) interruptLocked() { t.setDeadlineLocked(pastDeadline) }

// failedLocked implements receiver: the ctx no longer holds on to the client.
func (t *callerReads) failedLocked() {
	if t.hookStop != nil {
		t.hookStop()
		t.hookDone, t.hookStop = nil, nil
	}
}

// run implements receiver: the watcher. It takes the turn when it finds it
// free with calls pending, or free for a whole interval.
func (t *callerReads) run(stop <-chan struct{}) {
	c := t.c
	timer := time.NewTimer(watcherIdle)
	defer timer.Stop()
	idle, seen := watcherIdle, ^uint64(0)
	for {
		woken := false
		select {
		case <-stop:
			return
		case <-t.wake:
			woken = true
		case <-timer.C:
		}
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return
		}
		switch {
		case t.state == turnFree && (woken && c.awaitingLocked() || t.takes == seen): // watch
			t.setStateLocked(turnWatcher)
		default:
			if t.takes != seen {
				idle = min(2*idle, watcherMaxIdle)
			}
			seen = t.takes
			c.mu.Unlock()
			timer.Reset(idle)
			continue
		}
		t.kicked = false
		t.setDeadlineLocked(time.Time{})
		c.mu.Unlock()
		if !t.watch() {
			return
		}
		idle, seen = watcherIdle, t.takesNow()
		timer.Reset(idle)
	}
}

func (t *callerReads) takesNow() uint64 {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.takes
}

// watch reads as the watcher until it hands the turn to a kicking caller
// (true) or the client fails (false).
func (t *callerReads) watch() bool {
	c := t.c
	var m codec.Message
	for {
		err := c.dec.Next(&m)
		if err == nil {
			c.deliver(&m, nil)
			continue
		}
		c.mu.Lock()
		if c.err != nil || !isTimeoutErr(err) {
			c.mu.Unlock()
			c.readErr(err)
			return false
		}
		if t.kicked {
			t.kicked = false
			for _, x := range c.pending { // hand
				if !x.waiting {
					continue // not reading yet (still writing its request)
				}
				t.reader = x
				t.takes++
				t.setStateLocked(turnCaller)
				x.ch <- sigTurn
				c.mu.Unlock()
				return true
			}
			// No call waits (the kicker was answered meanwhile): read on.
		}
		t.setDeadlineLocked(time.Time{})
		c.mu.Unlock()
	}
}
