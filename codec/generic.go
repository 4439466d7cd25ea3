package codec

import (
	"math"
	"reflect"
	"sync"
)

// shamaton/msgpack decodes values stored in interfaces (an IDL list, tuple or dict
// field: []any, map[string]any) in its own shapes: uint8 for 2, map[any]any for a
// nested dict. normalize rewrites them in place into the shapes Decode gives for
// *any (int64, float64, map[string]any), so a value reads the same wherever it sits.

// hasIface caches, per type, whether a value of it can hold an interface.
var hasIface sync.Map // reflect.Type -> bool

func needsNormalize(t reflect.Type) bool {
	if v, ok := hasIface.Load(t); ok {
		return v.(bool)
	}
	r := containsIface(t, map[reflect.Type]bool{})
	hasIface.Store(t, r)
	return r
}

func containsIface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // a recursive type: answered where it started
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return containsIface(t.Elem(), seen)
	case reflect.Map:
		return containsIface(t.Key(), seen) || containsIface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && containsIface(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// normalize rewrites, in place, every interface value reachable from v.
func normalize(v reflect.Value) {
	if !needsNormalize(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() && v.CanSet() {
			if g := generic(v.Interface()); g != nil {
				v.Set(reflect.ValueOf(g))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			normalize(v.Elem())
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			normalize(v.Index(i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalize(v.Field(i))
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			normalize(e)
			v.SetMapIndex(it.Key(), e)
		}
	}
}

// generic maps one decoded value to the shapes of readAny.
func generic(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x)
		}
		return uint64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return x
	case float32:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = generic(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = generic(e)
		}
		return x
	case map[any]any:
		sm := make(map[string]any, len(x))
		for k, e := range x {
			s, ok := k.(string)
			if !ok {
				for k2, e2 := range x {
					x[k2] = generic(e2)
				}
				return x
			}
			sm[s] = generic(e)
		}
		return sm
	}
	return v
}
