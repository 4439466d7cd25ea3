package codec

import (
	"reflect"
	"strings"
	"sync"
)

// Encoding fast path for flat structs (the usual IDL proto: exported fields of
// string, bool, integer and float64 kinds). Encoding them through
// shamaton/msgpack's reflection costs several hundred ns per call; a per-type
// plan of field names and kinds, cached once, avoids most of it. Structs the
// plan does not cover are encoded by shamaton/msgpack, to the same bytes.
// (Decoding: typed.go.)

// structField is one encoded field of a planned struct.
type structField struct {
	index int
	name  string
	kind  reflect.Kind
	omit  bool // omitempty
}

// structPlan is the fields of a struct type, in declaration order; nil when
// the type is not covered by the fast path.
type structPlan struct {
	fields []structField
}

// plans caches *structPlan (or a nil one) per reflect.Type. It is a cache of
// facts about types, the same for every caller, so sharing it is safe.
var plans sync.Map

func planFor(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	p := makePlan(t)
	plans.Store(t, p)
	return p
}

func makePlan(t reflect.Type) *structPlan {
	if t.Kind() != reflect.Struct || t.NumField() == 0 {
		return nil
	}
	p := &structPlan{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous || f.Name[0] < 'A' || f.Name[0] > 'Z' {
			return nil
		}
		switch f.Type.Kind() {
		case reflect.String, reflect.Bool, reflect.Float64,
			reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		default:
			return nil
		}
		name, omit, ok := fieldTag(f)
		if !ok {
			continue
		}
		p.fields = append(p.fields, structField{index: i, name: name, kind: f.Type.Kind(), omit: omit})
	}
	return p
}

// fieldTag reads a field's msgpack tag as shamaton/msgpack does: `msgpack:"-"`
// skips the field, `msgpack:"name,omitempty"` renames it and omits zero values.
func fieldTag(f reflect.StructField) (name string, omit, ok bool) {
	tag := f.Tag.Get("msgpack")
	if tag == "" {
		return f.Name, false, true
	}
	parts := strings.Split(tag, ",")
	if parts[0] == "-" {
		return "", false, false
	}
	for _, part := range parts[1:] {
		if part == "omitempty" {
			omit = true
		}
	}
	name = f.Name
	if parts[0] != "" {
		name = parts[0]
	}
	return name, omit, true
}

func isStr(c byte) bool { return (c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb) }

// appendStructFast appends v, a struct or a non-nil pointer to one, as a map
// keyed by field name; false when the fast path does not apply.
func appendStructFast(b []byte, v any) ([]byte, bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return b, false
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return b, false
	}
	p := planFor(rv.Type())
	if p == nil {
		return b, false
	}
	n := 0
	for i := range p.fields {
		if !p.fields[i].omit || !rv.Field(p.fields[i].index).IsZero() {
			n++
		}
	}
	b = appendMapLen(b, n)
	for i := range p.fields {
		f := &p.fields[i]
		fv := rv.Field(f.index)
		if f.omit && fv.IsZero() {
			continue
		}
		b = appendStr(b, f.name)
		switch f.kind {
		case reflect.String:
			b = appendStr(b, fv.String())
		case reflect.Bool:
			if fv.Bool() {
				b = append(b, 0xc3)
			} else {
				b = append(b, 0xc2)
			}
		case reflect.Float64:
			b, _ = appendValue(b, fv.Float(), 0)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			b = appendInt(b, fv.Int())
		default:
			b = appendUint(b, fv.Uint())
		}
	}
	return b, true
}
