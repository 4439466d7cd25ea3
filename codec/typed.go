package codec

import (
	"encoding/binary"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
)

// Typed decoding: a decoder compiled once per Go type for the types IDL
// protos are made of (structs of exported fields, string, bool, integers,
// floats, slices, maps with string keys, pointers, any), so that a value
// follows the same conversion rules at the top level (a param) and deep
// inside a struct, list or dict:
//
//   - integers take msgpack integers only, within the Go type's range (no
//     float is truncated, no uint64 wraps);
//   - floats take floats and integers; strings take str or bin;
//   - nil leaves a field or element at its zero value (a top-level bool,
//     string or number param refuses it);
//   - a struct (an IDL proto) takes a map keyed by field name and, as
//     pysvrkit's clients send them, a positional array of its fields in
//     declaration (IDL) order, or a str/bin holding one packed map.
//
// Errors name the path to the value and say what was wanted and what came,
// in IDL terms (`.pos.x: want int, got float 1.9`). Types outside this set
// (arrays, other map keys, interfaces with methods, structs with unexported
// or embedded fields) are decoded by shamaton/msgpack as before.

// Bounds of the bytes inside a packed (str/bin) proto: they are held to the
// default message limits, nesting counted from the top of the message.
const (
	maxPackedDepth = DefaultMaxDepth
	maxPackedLen   = DefaultMaxContainerLen
)

// tdec decodes one Go type.
type tdec struct {
	t       reflect.Type
	kind    reflect.Kind
	special uint8          // one of the spec* constants
	elem    *tdec          // slice, map and pointer elements
	fields  []tfield       // struct: its encoded fields, declaration order, shadowed names dropped
	byName  map[string]int // struct with many fields: name -> index in fields
	name    string         // struct: its proto name, for errors
}

const (
	specNone uint8 = iota
	specRaw
	specUnmarshaler
	specBytes
)

type tfield struct {
	index int // in the Go struct
	name  string
	str   bool // a plain string field (decoded inline)
	dec   *tdec
}

// lookupFields is the field count from which a struct looks names up in a map.
const lookupFields = 8

var (
	typed           sync.Map // reflect.Type -> *tdec (nil: not covered)
	rawType         = reflect.TypeFor[Raw]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
)

// recent is a direct-mapped memory of typed's latest answers, in front of
// it: a hit costs an atomic load and a compare instead of a sync.Map lookup
// (a good part of decoding a small struct). Like typed, it holds facts about
// types, the same for every caller.
var recent [64]atomic.Pointer[typedEntry]

type typedEntry struct {
	t reflect.Type
	d *tdec
}

// typedFor returns t's decoder, nil when t is not covered.
func typedFor(t reflect.Type) *tdec {
	slot := &recent[(reflect.ValueOf(t).Pointer()>>5)%uintptr(len(recent))]
	if e := slot.Load(); e != nil && e.t == t {
		return e.d
	}
	var d *tdec
	if v, ok := typed.Load(t); ok {
		d = v.(*tdec)
	} else {
		d = compile(t, map[reflect.Type]*tdec{})
		typed.Store(t, d)
	}
	slot.Store(&typedEntry{t, d})
	return d
}

// compile builds t's decoder; building holds the struct types being built,
// so that a recursive type refers to itself.
func compile(t reflect.Type, building map[reflect.Type]*tdec) *tdec {
	if d := building[t]; d != nil {
		return d
	}
	d := &tdec{t: t, kind: t.Kind()}
	switch {
	case t == rawType:
		d.special = specRaw
		return d
	case t.Kind() != reflect.Interface && reflect.PointerTo(t).Implements(unmarshalerType):
		d.special = specUnmarshaler
		return d
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return nil
		}
		return d
	case reflect.Pointer:
		building[t] = d
		if d.elem = compile(t.Elem(), building); d.elem == nil {
			return nil
		}
		return d
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			d.special = specBytes
			return d
		}
		building[t] = d
		if d.elem = compile(t.Elem(), building); d.elem == nil {
			return nil
		}
		return d
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil
		}
		building[t] = d
		if d.elem = compile(t.Elem(), building); d.elem == nil {
			return nil
		}
		return d
	case reflect.Struct:
		if t.NumField() == 0 {
			return nil
		}
		building[t] = d
		d.name = protoName(t.Name())
		seen := map[string]bool{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || f.Anonymous {
				return nil
			}
			name, _, ok := fieldTag(f)
			if !ok || seen[name] {
				continue // skipped, or shadowed by an earlier field of the same name
			}
			seen[name] = true
			fd := compile(f.Type, building)
			if fd == nil {
				return nil
			}
			str := fd.kind == reflect.String && fd.special == specNone
			d.fields = append(d.fields, tfield{index: i, name: name, str: str, dec: fd})
		}
		if len(d.fields) >= lookupFields {
			d.byName = make(map[string]int, len(d.fields))
			for i, f := range d.fields {
				d.byName[f.name] = i
			}
		}
		return d
	}
	return nil
}

// protoName is the IDL name of a generated struct type: its Go name in
// snake case (Echomsg -> echomsg, EchoInner -> echo_inner).
func protoName(goName string) string {
	if goName == "" {
		return "the struct"
	}
	var b strings.Builder
	prev := rune(0)
	for _, r := range goName {
		if unicode.IsUpper(r) {
			if unicode.IsLower(prev) || unicode.IsDigit(prev) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
		prev = r
		if unicode.IsUpper(prev) {
			prev = 'A'
		}
	}
	return b.String()
}

// scalar reports whether d decodes a bool, string or number.
func (d *tdec) scalar() bool {
	switch d.kind {
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return d.special == specNone
	}
	return false
}

// want names what d decodes, in IDL terms.
func (d *tdec) want() string {
	if d.special == specBytes {
		return "string"
	}
	switch d.kind {
	case reflect.Bool:
		return "bool"
	case reflect.String:
		return "string"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.Slice:
		return "list"
	case reflect.Map:
		return "dict"
	case reflect.Struct:
		return "a map of " + d.name + "'s fields"
	case reflect.Pointer:
		return d.elem.want()
	}
	return "int"
}

// decodeTop decodes raw, one validated value, into v; outer is the number of
// containers around raw in its message.
func (d *tdec) decodeTop(raw []byte, v reflect.Value, outer int) error {
	var end int
	var err error
	switch {
	case raw[0] == 0xc0 && d.scalar():
		return valueError("want " + d.want() + ", got nil")
	case d.kind == reflect.Struct && d.special == specNone && raw[0] != 0xc0:
		end, err = d.decodeStruct(raw, 0, outer, v)
	default:
		end, err = d.decode(raw, 0, outer, v)
	}
	if err != nil {
		return err
	}
	if end != len(raw) {
		return valueError("trailing bytes after value")
	}
	return nil
}

// decode decodes the value at b[pos] into v (settable) and returns the
// position after it; depth is the number of containers around it.
func (d *tdec) decode(b []byte, pos, depth int, v reflect.Value) (int, error) {
	if pos >= len(b) {
		return 0, errTruncated
	}
	c := b[pos]
	switch d.special {
	case specRaw:
		end, err := skip(b, pos)
		if err != nil {
			return 0, err
		}
		v.SetBytes(append([]byte(nil), b[pos:end]...))
		return end, nil
	case specUnmarshaler:
		end, err := skip(b, pos)
		if err != nil {
			return 0, err
		}
		return end, v.Addr().Interface().(Unmarshaler).UnmarshalMsgpack(b[pos:end])
	}
	if c == 0xc0 {
		v.SetZero()
		return pos + 1, nil
	}
	switch d.kind {
	case reflect.String:
		s, p, err := readStrBytes(b, pos)
		if err != nil {
			return 0, err
		}
		v.SetString(string(s))
		return p, nil
	case reflect.Bool:
		x, p, err := readBool(b, pos)
		if err != nil {
			return 0, err
		}
		v.SetBool(x)
		return p, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, p, err := readInt(b, pos)
		if err != nil {
			return 0, err
		}
		if v.OverflowInt(x) {
			return 0, rangeError(strconv.FormatInt(x, 10), d.t)
		}
		v.SetInt(x)
		return p, nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, neg, p, err := readUint(b, pos)
		if err != nil {
			return 0, err
		}
		if neg < 0 {
			return 0, rangeError(strconv.FormatInt(neg, 10), d.t)
		}
		if v.OverflowUint(x) {
			return 0, rangeError(strconv.FormatUint(x, 10), d.t)
		}
		v.SetUint(x)
		return p, nil
	case reflect.Float32, reflect.Float64:
		x, p, err := readFloat(b, pos)
		if err != nil {
			return 0, err
		}
		if v.OverflowFloat(x) {
			return 0, rangeError(strconv.FormatFloat(x, 'g', -1, 64), d.t)
		}
		v.SetFloat(x)
		return p, nil
	case reflect.Interface:
		x, p, err := readAny(b, pos, depth)
		if err != nil {
			return 0, err
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
		return p, nil
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(d.t.Elem()))
		}
		return d.elem.decode(b, pos, depth, v.Elem())
	case reflect.Slice:
		if d.special == specBytes {
			s, p, err := readStrBytes(b, pos)
			if err != nil {
				return 0, err
			}
			v.SetBytes(append(make([]byte, 0, len(s)), s...))
			return p, nil
		}
		return d.decodeSlice(b, pos, depth, v)
	case reflect.Map:
		return d.decodeMap(b, pos, depth, v)
	case reflect.Struct:
		return d.decodeStruct(b, pos, depth, v)
	}
	return 0, valueError("cannot decode into " + d.t.String())
}

func (d *tdec) decodeSlice(b []byte, pos, depth int, v reflect.Value) (int, error) {
	if !isArray(b[pos]) {
		return 0, valueError("want list, got " + gotName(b, pos))
	}
	n, p, err := readArrayLen(b, pos)
	if err != nil {
		return 0, err
	}
	if n > len(b)-p {
		return 0, errTruncated
	}
	s := reflect.MakeSlice(d.t, n, n)
	for i := range n {
		if p, err = d.elem.decode(b, p, depth+1, s.Index(i)); err != nil {
			return 0, atPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	v.Set(s)
	return p, nil
}

func (d *tdec) decodeMap(b []byte, pos, depth int, v reflect.Value) (int, error) {
	if !isMap(b[pos]) {
		return 0, valueError("want dict, got " + gotName(b, pos))
	}
	n, p, err := readMapLen(b, pos)
	if err != nil {
		return 0, err
	}
	if n > (len(b)-p)/2 {
		return 0, errTruncated
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(d.t, n))
	}
	key := reflect.New(d.t.Key()).Elem()
	val := reflect.New(d.t.Elem()).Elem()
	for range n {
		if p >= len(b) {
			return 0, errTruncated
		}
		if !isStr(b[p]) && !isBin(b[p]) {
			return 0, valueError("want dict, got a map with " + article(gotName(b, p)) + " key")
		}
		var kb []byte
		if kb, p, err = readStrBytes(b, p); err != nil {
			return 0, err
		}
		k := string(kb)
		val.SetZero()
		if p, err = d.elem.decode(b, p, depth+1, val); err != nil {
			return 0, atPath(err, "["+strconv.Quote(k)+"]")
		}
		key.SetString(k)
		v.SetMapIndex(key, val)
	}
	return p, nil
}

func (d *tdec) decodeStruct(b []byte, pos, depth int, v reflect.Value) (int, error) {
	c := b[pos]
	switch {
	case isMap(c):
		n, p, err := readMapLen(b, pos)
		if err != nil {
			return 0, err
		}
		for i := range n {
			if p >= len(b) {
				return 0, errTruncated
			}
			if !isStr(b[p]) && !isBin(b[p]) {
				return 0, valueError("want " + d.want() + ", got a map with " + article(gotName(b, p)) + " key")
			}
			var key []byte
			if key, p, err = readStrBytes(b, p); err != nil {
				return 0, err
			}
			f := d.field(key, i)
			if f == nil {
				if p, err = skip(b, p); err != nil {
					return 0, err
				}
				continue
			}
			fv := v.Field(f.index)
			if f.str && p < len(b) && isStr(b[p]) {
				// The usual field, inline: the same as decode does.
				var s []byte
				if s, p, err = readStrBytes(b, p); err != nil {
					return 0, err
				}
				fv.SetString(string(s))
				continue
			}
			if p, err = f.dec.decode(b, p, depth+1, fv); err != nil {
				return 0, atPath(err, "."+f.name)
			}
		}
		return p, nil
	case isArray(c):
		// pysvrkit's later form: the fields in IDL order.
		n, p, err := readArrayLen(b, pos)
		if err != nil {
			return 0, err
		}
		if n > len(d.fields) {
			return 0, valueError("want " + d.want() + ", got an array of " + strconv.Itoa(n) +
				" (" + d.name + " has " + plural(len(d.fields), "field") + ")")
		}
		for i := range n {
			f := &d.fields[i]
			if p, err = f.dec.decode(b, p, depth+1, v.Field(f.index)); err != nil {
				return 0, atPath(err, "."+f.name)
			}
		}
		return p, nil
	case isStr(c) || isBin(c):
		// pysvrkit's 2016 form: msgpack.dumps({field: value}) inside a string.
		inner, p, err := readStrBytes(b, pos)
		if err != nil {
			return 0, err
		}
		if len(inner) == 0 || !isMap(inner[0]) {
			return 0, valueError("want " + d.want() + ", got a string that is not a packed map")
		}
		if depth >= maxPackedDepth {
			return 0, valueError("want " + d.want() + ", got a packed map nested deeper than " + strconv.Itoa(maxPackedDepth))
		}
		lim := Limits{MaxMessageSize: len(inner), MaxContainerLen: maxPackedLen, MaxDepth: maxPackedDepth - depth}
		if err := validate(inner, lim); err != nil {
			return 0, valueError("want " + d.want() + ", got a packed map that is not valid within the limits: " + err.Error())
		}
		if _, err := d.decodeStruct(inner, 0, depth, v); err != nil {
			return 0, err
		}
		return p, nil
	}
	return 0, valueError("want " + d.want() + ", got " + gotName(b, pos))
}

// field finds the field named key; hint is its likely index (encoders write
// fields in declaration order).
func (d *tdec) field(key []byte, hint int) *tfield {
	if hint < len(d.fields) && d.fields[hint].name == string(key) {
		return &d.fields[hint]
	}
	if d.byName != nil {
		if i, ok := d.byName[string(key)]; ok {
			return &d.fields[i]
		}
		return nil
	}
	for i := range d.fields {
		if d.fields[i].name == string(key) {
			return &d.fields[i]
		}
	}
	return nil
}

// readUint reads any msgpack integer as uint64; a negative one comes back
// in neg (u is then 0).
func readUint(b []byte, pos int) (u uint64, neg int64, end int, err error) {
	if pos+9 <= len(b) && b[pos] == 0xcf {
		return binary.BigEndian.Uint64(b[pos+1:]), 0, pos + 9, nil
	}
	x, end, err := readInt(b, pos)
	if err != nil || x < 0 {
		return 0, x, end, err
	}
	return uint64(x), 0, end, nil
}

// rangeError reports a number outside what Go type t holds.
func rangeError(num string, t reflect.Type) error {
	got := "int "
	want := "int"
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		got, want = "float ", "float"
	}
	return valueError("want " + want + ", got " + got + num + " (out of " + t.Kind().String() + " range)")
}

// pathError is an error at a path inside the value being decoded.
type pathError struct {
	path string // ".pos.x", "[2]", `["k"]`...
	err  error
}

func (e *pathError) Error() string {
	return strings.TrimPrefix(e.path, ".") + ": " + e.err.Error()
}

func (e *pathError) Unwrap() error { return e.err }

// atPath puts seg in front of err's path.
func atPath(err error, seg string) error {
	if pe, ok := err.(*pathError); ok {
		pe.path = seg + pe.path
		return pe
	}
	return &pathError{path: seg, err: err}
}

func isMap(c byte) bool   { return (c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf }
func isArray(c byte) bool { return (c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd }
func isBin(c byte) bool   { return c >= 0xc4 && c <= 0xc6 }

// article puts "a" or "an" before a bare type name ("an int key").
func article(name string) string {
	if strings.HasPrefix(name, "a ") || strings.HasPrefix(name, "an ") {
		return name
	}
	switch name[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an " + name
	}
	return "a " + name
}

// gotName names the value at b[pos] for an error: its type and, for a
// float, its value (want int, got float 1.9).
func gotName(b []byte, pos int) string {
	c := b[pos]
	if c == 0xca || c == 0xcb {
		if x, _, err := readFloat(b, pos); err == nil {
			bits := 64
			if c == 0xca {
				bits = 32
			}
			return "float " + strconv.FormatFloat(x, 'g', -1, bits)
		}
	}
	return typeName(c)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
