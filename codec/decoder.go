package codec

import (
	"errors"
	"fmt"
	"io"
	"math"
)

const (
	initialBufSize = 16 << 10
	shrinkAbove    = 256 << 10
	maxMethodCache = 64
)

// Message is one decoded msgpack-rpc message. Its byte slices alias the
// Decoder's buffer and are valid only until the next call to Next.
type Message struct {
	Kind   int
	ID     uint32
	Method string // Request, Notification
	Params []byte // raw msgpack params (Request, Notification); an array when the peer follows the spec
	Ext    []byte // raw extension element of an extended request or notification (see ParseCallExt); nil for plain msgpack-rpc
	Error  []byte // raw msgpack error field (Response); msgpack nil (0xc0) when no error
	Result []byte // raw msgpack result (Response)
}

// Decoder reads msgpack-rpc messages from a stream. It reads as much as the
// buffer holds (many messages per read), keeps partial messages across reads,
// and reuses its buffer. Not safe for concurrent use.
type Decoder struct {
	r       io.Reader
	lim     Limits
	buf     []byte // len(buf) == cap(buf)
	start   int    // first unconsumed byte
	end     int    // end of read data
	off     int64  // stream offset of buf[0]
	sc      scanner
	rerr    error // read error, returned once buffered messages are used up
	ferr    error // sticky frame error
	methods map[string]string
}

// NewDecoder returns a Decoder reading from r within lim (zero fields = defaults).
func NewDecoder(r io.Reader, lim Limits) *Decoder {
	d := &Decoder{r: r, lim: lim.withDefaults()}
	d.sc.init(d.lim, make([]int, 0, 8))
	return d
}

// Buffered returns the number of bytes already read but not yet returned as
// messages (0 means the next Next will read from the stream).
func (d *Decoder) Buffered() int { return d.end - d.start }

// Ready reports whether Next will return without reading from the stream:
// a complete message (or a frame error) is already buffered.
func (d *Decoder) Ready() bool {
	if d.ferr != nil {
		return true
	}
	if d.start == d.end {
		return false
	}
	if d.sc.pos == 0 && len(d.sc.stack) == 1 && d.sc.stack[0] == 1 {
		if d.checkStart() != nil {
			return true
		}
	}
	_, done, err := d.sc.scan(d.buf[d.start:d.end])
	if err != nil {
		d.fail(err)
		return true
	}
	return done
}

// Next decodes the next complete message into m. It returns io.EOF at a clean
// end of stream, a wrapped io.ErrUnexpectedEOF when the stream ends inside a
// message, a *FrameError for a malformed or oversized message (sticky: the
// stream cannot be resynchronised), or the reader's error. A timeout from
// the reader (an error with Timeout() true) is not sticky: after moving the
// deadline, Next resumes where it stopped, keeping any partial message.
func (d *Decoder) Next(m *Message) error {
	if d.ferr != nil {
		return d.ferr
	}
	for {
		if d.start < d.end {
			if d.sc.pos == 0 && len(d.sc.stack) == 1 && d.sc.stack[0] == 1 {
				if err := d.checkStart(); err != nil {
					return err
				}
			}
			n, done, err := d.sc.scan(d.buf[d.start:d.end])
			if err != nil {
				return d.fail(err)
			}
			if done {
				msg := d.buf[d.start : d.start+n]
				at := d.off + int64(d.start)
				d.start += n
				d.sc.reset()
				if err := d.envelope(msg, m); err != nil {
					d.ferr = &FrameError{Offset: at, Err: ErrBadEnvelope, Detail: err.Error()}
					return d.ferr
				}
				return nil
			}
		}
		if d.rerr != nil {
			if d.rerr == io.EOF && d.start < d.end {
				return fmt.Errorf("codec: stream ended inside a message (%d bytes buffered): %w", d.end-d.start, io.ErrUnexpectedEOF)
			}
			err := d.rerr
			if isTimeout(err) {
				d.rerr = nil // not sticky: the caller may extend the deadline and retry
			}
			return err
		}
		d.fill()
	}
}

// checkStart rejects a message whose first bytes cannot start an envelope,
// without waiting for the rest of it.
func (d *Decoder) checkStart() error {
	c := d.buf[d.start]
	switch {
	case c >= 0x93 && c <= 0x95:
		return nil
	case c == 0xdc || c == 0xdd:
		avail := d.end - d.start
		if c == 0xdc && avail >= 3 || c == 0xdd && avail >= 5 {
			n, _, _ := readArrayLen(d.buf[d.start:d.end], 0)
			if n < 3 || n > 5 {
				return d.fail(&scanErr{ErrBadEnvelope, fmt.Sprintf("array of %d elements, want 3, 4 or 5", n)})
			}
		}
		return nil
	}
	return d.fail(&scanErr{ErrBadEnvelope, fmt.Sprintf("first byte 0x%02x is not an array of 3, 4 or 5", c)})
}

func (d *Decoder) fail(err error) error {
	fe := &FrameError{Offset: d.off + int64(d.start), Err: ErrMalformed, Detail: err.Error()}
	var se *scanErr
	if errors.As(err, &se) {
		fe.Err, fe.Detail = se.cause, se.detail
	}
	d.ferr = fe
	return fe
}

// fill reads more bytes, making room for at least d.sc.need bytes of the
// current message.
func (d *Decoder) fill() {
	if d.start == d.end {
		d.off += int64(d.end)
		d.start, d.end = 0, 0
		if len(d.buf) > shrinkAbove {
			d.buf = nil
		}
	}
	if d.buf == nil {
		d.buf = make([]byte, initialBufSize)
	}
	need := d.sc.need
	if need < d.end-d.start+1 {
		need = d.end - d.start + 1
	}
	if d.start+need > len(d.buf) || len(d.buf)-d.end < 512 {
		if need <= len(d.buf) && d.start > 0 {
			// Compact.
			copy(d.buf, d.buf[d.start:d.end])
			d.off += int64(d.start)
			d.end -= d.start
			d.start = 0
		}
		if need > len(d.buf) {
			size := 2 * len(d.buf)
			for size < need {
				size *= 2
			}
			if lim := d.lim.MaxMessageSize + 512; size > lim && need <= lim {
				size = lim
			}
			nb := make([]byte, size)
			copy(nb, d.buf[d.start:d.end])
			d.off += int64(d.start)
			d.end -= d.start
			d.start = 0
			d.buf = nb
		}
	}
	n, err := d.r.Read(d.buf[d.end:])
	if n < 0 || n > len(d.buf)-d.end {
		err = fmt.Errorf("codec: reader returned invalid count %d", n)
		n = 0
	}
	d.end += n
	if err != nil {
		d.rerr = err
	} else if n == 0 {
		// A reader returning 0, nil repeatedly must not spin forever.
		d.rerr = io.ErrNoProgress
	}
}

// envelope parses a validated message array into m: a msgpack-rpc message,
// or an extended request (5 elements) or notification (4), whose last
// element is the extension (docs/WIRE.md, "Per-call context").
func (d *Decoder) envelope(b []byte, m *Message) error {
	n, pos, err := readArrayLen(b, 0)
	if err != nil {
		return err
	}
	if n < 3 || n > 5 {
		return fmt.Errorf("array of %d elements, want 3, 4 or 5", n)
	}
	kind, pos, err := readInt(b, pos)
	if err != nil {
		return fmt.Errorf("message type: %v", err)
	}
	*m = Message{Kind: int(kind)}
	ext := false
	switch {
	case n == 4 && (kind == Request || kind == Response), n == 5 && kind == Request:
		ext = n == 5
		id, p, err := readInt(b, pos)
		if err != nil {
			return fmt.Errorf("msgid: %v", err)
		}
		if id < 0 || id > math.MaxUint32 {
			return fmt.Errorf("msgid %d out of uint32 range", id)
		}
		m.ID, pos = uint32(id), p
		if kind == Response {
			e, err := skip(b, pos)
			if err != nil {
				return fmt.Errorf("error field: %v", err)
			}
			m.Error, m.Result = b[pos:e], b[e:]
			return nil
		}
	case n == 3 && kind == Notification, n == 4 && kind == Notification:
		ext = n == 4
	default:
		return fmt.Errorf("message type %d with %d elements", kind, n)
	}
	name, pos, err := readStrBytes(b, pos)
	if err != nil {
		return fmt.Errorf("method: %v", err)
	}
	m.Method = d.intern(name)
	if !ext {
		m.Params = b[pos:]
		return nil
	}
	e, err := skip(b, pos)
	if err != nil {
		return fmt.Errorf("params: %v", err)
	}
	m.Params, m.Ext = b[pos:e], b[e:]
	return nil
}

// intern returns a string for a method name without allocating for names it
// has seen (bounded, so random names from a hostile peer cannot grow it).
func (d *Decoder) intern(b []byte) string {
	if s, ok := d.methods[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.methods == nil {
		d.methods = make(map[string]string)
	}
	if len(d.methods) < maxMethodCache {
		d.methods[s] = s
	}
	return s
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
