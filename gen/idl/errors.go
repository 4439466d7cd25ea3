package idl

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem found in an IDL file. Line and Col are 1-based (Col counts
// characters); both are 0 when the position is unknown.
type Error struct {
	File string // the file name given to Parse
	Line int
	Col  int
	Path string // JSON path such as rpc_server.apis[0].args[1].type; "" for the whole file
	Msg  string // what is wrong and what is allowed
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every error found in one file, in file order. Parse returns it as its
// error (never empty).
type ErrorList []*Error

func (l ErrorList) Error() string {
	s := make([]string, len(l))
	for i, e := range l {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// collector accumulates errors and warnings with positions computed from byte offsets.
type collector struct {
	file  string
	data  []byte
	errs  ErrorList
	warns ErrorList
}

func (c *collector) at(off int, path, format string, a ...any) *Error {
	e := &Error{File: c.file, Path: path, Msg: fmt.Sprintf(format, a...)}
	if off >= 0 {
		e.Line, e.Col = lineCol(c.data, off)
	}
	return e
}

// errorf records an error at byte offset off (-1 = unknown).
func (c *collector) errorf(off int, path, format string, a ...any) {
	c.errs = append(c.errs, c.at(off, path, format, a...))
}

// warnf records a warning at byte offset off.
func (c *collector) warnf(off int, path, format string, a ...any) {
	c.warns = append(c.warns, c.at(off, path, format, a...))
}

func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Line != l[j].Line {
			return l[i].Line < l[j].Line
		}
		return l[i].Col < l[j].Col
	})
}

// lineCol converts a byte offset into a 1-based line and character column.
func lineCol(data []byte, off int) (line, col int) {
	if off > len(data) {
		off = len(data)
	}
	line, col = 1, 1
	for _, r := range string(data[:off]) {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
