package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
)

// The raw TCP contender: the physical limit of loopback request/response.
// A frame is a 4-byte big-endian body length, then the body: op (1 byte),
// call id (4 bytes), payload. The server echoes 'E' frames verbatim, counts
// 'N' frames and answers 'C' with the count; it works in its read loop and
// flushes only when no more input is buffered (natural write coalescing).
const (
	opEcho   = 'E'
	opNotify = 'N'
	opCount  = 'C'
)

// rawPayload is the same bytes svrkit puts on the wire for the argument:
// msgpack {"value": "testtest"}.
var rawPayload = []byte("\x81\xa5value\xa8testtest")

func appendFrame(b []byte, op byte, id uint32, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(5+len(payload)))
	b = append(b, op)
	b = binary.BigEndian.AppendUint32(b, id)
	return append(b, payload...)
}

// readFrame reads one frame into buf (grown as needed) and returns its body.
func readFrame(r *bufio.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 5 || n > 1<<20 {
		return nil, fmt.Errorf("raw: bad frame length %d", n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return buf, err
}

func serveRaw(ln net.Listener) (stop func()) {
	var count atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[nc] = struct{}{}
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				rawConn(nc, &count)
				mu.Lock()
				delete(conns, nc)
				mu.Unlock()
				nc.Close()
			}()
		}
	}()
	return func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

func rawConn(nc net.Conn, count *atomic.Int64) {
	r := bufio.NewReaderSize(nc, 32<<10)
	w := bufio.NewWriterSize(nc, 32<<10)
	var buf, out []byte
	for {
		body, err := readFrame(r, buf)
		if err != nil {
			return
		}
		buf = body
		switch body[0] {
		case opEcho:
			out = appendFrame(out[:0], opEcho, binary.BigEndian.Uint32(body[1:]), body[5:])
			w.Write(out)
		case opNotify:
			count.Add(1)
		case opCount:
			out = appendFrame(out[:0], opCount, binary.BigEndian.Uint32(body[1:]), binary.BigEndian.AppendUint64(nil, uint64(count.Load())))
			w.Write(out)
		}
		if r.Buffered() == 0 {
			if w.Flush() != nil {
				return
			}
		}
	}
}

// rawPingPong is a raw connection used by one goroutine: write, flush, read.
type rawPingPong struct {
	nc  net.Conn
	r   *bufio.Reader
	w   *bufio.Writer
	out []byte
	in  []byte
}

func dialRaw(ctx context.Context, addr string, shared bool) (conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if shared {
		return newRawMux(nc), nil
	}
	return &rawPingPong{nc: nc, r: bufio.NewReaderSize(nc, 32<<10), w: bufio.NewWriterSize(nc, 32<<10)}, nil
}

func (c *rawPingPong) roundTrip(op byte, payload []byte) ([]byte, error) {
	c.out = appendFrame(c.out[:0], op, 1, payload)
	c.w.Write(c.out)
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	body, err := readFrame(c.r, c.in)
	c.in = body
	return body, err
}

func (c *rawPingPong) call(ctx context.Context) error {
	body, err := c.roundTrip(opEcho, rawPayload)
	if err != nil {
		return err
	}
	if string(body[5:]) != string(rawPayload) {
		return errors.New("raw: echo mismatch")
	}
	return nil
}

func (c *rawPingPong) notify(ctx context.Context) error {
	c.out = appendFrame(c.out[:0], opNotify, 0, rawPayload)
	_, err := c.w.Write(c.out) // buffered; count flushes
	return err
}

func (c *rawPingPong) count(ctx context.Context) (int64, error) {
	body, err := c.roundTrip(opCount, nil)
	if err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(body[5:])), nil
}

func (c *rawPingPong) close() error { return c.nc.Close() }

// rawMux multiplexes goroutines over one raw connection: callers append
// frames to a shared buffer and kick a flusher goroutine, which writes
// everything queued in one syscall (so callers that run while it is busy or
// not yet scheduled share a write; the flusher yields once before taking
// the buffer so that runnable callers get to append first); a reader goroutine routes replies by id.
type rawMux struct {
	nc      net.Conn
	wmu     sync.Mutex
	buf     []byte
	kicked  bool
	kick    chan struct{}
	mu      sync.Mutex
	pending map[uint32]chan []byte
	nextID  uint32
	err     error
	done    chan struct{}
	flushed chan struct{}
}

var rawChanPool = sync.Pool{New: func() any { return make(chan []byte, 1) }}

func newRawMux(nc net.Conn) *rawMux {
	m := &rawMux{nc: nc, pending: map[uint32]chan []byte{}, kick: make(chan struct{}, 1),
		done: make(chan struct{}), flushed: make(chan struct{})}
	go m.readLoop()
	go m.flushLoop()
	return m
}

func (m *rawMux) flushLoop() {
	defer close(m.flushed)
	var out []byte
	for range m.kick {
		runtime.Gosched() // let callers that are ready queue their frames too
		m.wmu.Lock()
		out, m.buf = m.buf, out[:0]
		m.kicked = false
		m.wmu.Unlock()
		if _, err := m.nc.Write(out); err != nil {
			m.nc.Close()
			return
		}
	}
}

func (m *rawMux) readLoop() {
	defer close(m.done)
	r := bufio.NewReaderSize(m.nc, 32<<10)
	for {
		body, err := readFrame(r, nil)
		if err != nil {
			m.mu.Lock()
			m.err = err
			for id, ch := range m.pending {
				delete(m.pending, id)
				ch <- nil
			}
			m.mu.Unlock()
			return
		}
		id := binary.BigEndian.Uint32(body[1:])
		m.mu.Lock()
		ch := m.pending[id]
		delete(m.pending, id)
		m.mu.Unlock()
		if ch != nil {
			ch <- body
		}
	}
}

func (m *rawMux) send(op byte, payload []byte, ch chan []byte) (uint32, error) {
	m.mu.Lock()
	if m.err != nil {
		m.mu.Unlock()
		return 0, m.err
	}
	m.nextID++
	id := m.nextID
	if ch != nil {
		m.pending[id] = ch
	}
	m.mu.Unlock()
	m.wmu.Lock()
	m.buf = appendFrame(m.buf, op, id, payload)
	kick := !m.kicked
	m.kicked = true
	m.wmu.Unlock()
	if kick {
		m.kick <- struct{}{}
	}
	return id, nil
}

func (m *rawMux) roundTrip(op byte, payload []byte) ([]byte, error) {
	ch := rawChanPool.Get().(chan []byte)
	if _, err := m.send(op, payload, ch); err != nil {
		return nil, err
	}
	body := <-ch
	rawChanPool.Put(ch)
	if body == nil {
		return nil, fmt.Errorf("raw: connection lost")
	}
	return body, nil
}

func (m *rawMux) call(ctx context.Context) error {
	body, err := m.roundTrip(opEcho, rawPayload)
	if err != nil {
		return err
	}
	if string(body[5:]) != string(rawPayload) {
		return errors.New("raw: echo mismatch")
	}
	return nil
}

func (m *rawMux) notify(ctx context.Context) error {
	_, err := m.send(opNotify, rawPayload, nil)
	return err
}

func (m *rawMux) count(ctx context.Context) (int64, error) {
	body, err := m.roundTrip(opCount, nil)
	if err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(body[5:])), nil
}

func (m *rawMux) close() error {
	err := m.nc.Close()
	<-m.done
	close(m.kick) // no sends are in progress once callers are done
	<-m.flushed
	return err
}
