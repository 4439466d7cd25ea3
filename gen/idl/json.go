package idl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds JSON nesting; a real IDL needs about 6 levels.
const maxDepth = 64

type jsonKind int

const (
	jObject jsonKind = iota
	jArray
	jString
	jNumber
	jBool
	jNull
)

func (k jsonKind) String() string {
	return [...]string{"an object", "an array", "a string", "a number", "a boolean", "null"}[k]
}

// node is a JSON value with the byte offset where it starts. Objects keep key order.
type node struct {
	kind jsonKind
	off  int
	str  string      // jString
	num  json.Number // jNumber
	b    bool        // jBool
	keys []member    // jObject
	arr  []*node     // jArray
}

type member struct {
	key string
	off int // offset of the key
	val *node
}

// syntaxError is a JSON syntax error at a byte offset.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// parseJSON builds the node tree. Duplicate object keys are reported to c, not fatal.
func parseJSON(data []byte, c *collector) (*node, error) {
	p := &jsonParser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), c: c}
	p.dec.UseNumber()
	n, err := p.value(0, "")
	if err != nil {
		return nil, p.wrap(err)
	}
	off := p.start()
	if _, err := p.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, p.wrap(err)
		}
		return nil, &syntaxError{off, "unexpected data after the top-level JSON value"}
	}
	return n, nil
}

type jsonParser struct {
	data []byte
	dec  *json.Decoder
	c    *collector
}

// start is the offset of the next token: the decoder's offset past whitespace and separators.
func (p *jsonParser) start() int {
	off := int(p.dec.InputOffset())
	for off < len(p.data) {
		switch p.data[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *jsonParser) wrap(err error) error {
	var se *syntaxError
	if errors.As(err, &se) {
		return se
	}
	var jse *json.SyntaxError
	if errors.As(err, &jse) {
		// Offset is usually the bad byte, sometimes the separator before it.
		off := int(jse.Offset)
		for off < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
			off++
		}
		return &syntaxError{off, "JSON syntax error: " + runeMessage(jse, p.data, off)}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &syntaxError{len(p.data), "JSON syntax error: unexpected end of input"}
	}
	return &syntaxError{p.start(), "JSON syntax error: " + err.Error()}
}

// runeMessage is jse's message with the bad character shown as the rune it starts
// at data[bad] (encoding/json quotes the single byte: 'Ã' for the first byte of 'ë').
func runeMessage(jse *json.SyntaxError, data []byte, bad int) string {
	msg := jse.Error()
	const prefix = "invalid character '"
	if !strings.HasPrefix(msg, prefix) || bad < 0 || bad >= len(data) || data[bad] < utf8.RuneSelf {
		return msg
	}
	end := strings.Index(msg[len(prefix):], "' ")
	if end < 0 {
		return msg
	}
	r, _ := utf8.DecodeRune(data[bad:])
	return "invalid character " + strconv.QuoteRune(r) + msg[len(prefix)+end+1:]
}

func (p *jsonParser) value(depth int, path string) (*node, error) {
	if depth > maxDepth {
		return nil, &syntaxError{p.start(), fmt.Sprintf("JSON nested deeper than %d levels", maxDepth)}
	}
	off := p.start()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: jObject, off: off}
			seen := map[string]int{}
			for p.dec.More() {
				koff := p.start()
				kt, err := p.dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, &syntaxError{koff, "JSON syntax error: object key is not a string"}
				}
				v, err := p.value(depth+1, join(path, key))
				if err != nil {
					return nil, err
				}
				if _, dup := seen[key]; dup {
					p.c.errorf(koff, join(path, key), "duplicate key %q in the same object", key)
					continue
				}
				seen[key] = koff
				n.keys = append(n.keys, member{key: key, off: koff, val: v})
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &node{kind: jArray, off: off}
			for p.dec.More() {
				v, err := p.value(depth+1, fmt.Sprintf("%s[%d]", path, len(n.arr)))
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, &syntaxError{off, fmt.Sprintf("JSON syntax error: unexpected %q", rune(t))}
	case string:
		return &node{kind: jString, off: off, str: t}, nil
	case json.Number:
		return &node{kind: jNumber, off: off, num: t}, nil
	case bool:
		return &node{kind: jBool, off: off, b: t}, nil
	case nil:
		return &node{kind: jNull, off: off}, nil
	}
	return nil, &syntaxError{off, fmt.Sprintf("JSON syntax error: unexpected token %v", tok)}
}

// join appends an object key to a JSON path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
