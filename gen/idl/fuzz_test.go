package idl

import (
	"errors"
	"go/token"
	"testing"
)

// FuzzParse checks that Parse never panics or hangs, that failures are non-empty
// ErrorLists naming the file, and that successes hold only valid Go names.
// Seed corpus: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(seed))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.json")
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
			}
			for _, e := range list {
				if e.File != "fuzz.json" || e.Msg == "" {
					t.Fatalf("bad error %#v", e)
				}
			}
			return
		}
		if !token.IsIdentifier(s.App) || token.IsKeyword(s.App) {
			t.Fatalf("app %q", s.App)
		}
		for _, p := range s.Protos {
			checkExported(t, p.GoName)
			for _, fl := range p.Fields {
				checkExported(t, fl.GoName)
			}
		}
		for _, a := range s.Server.APIs {
			checkExported(t, a.GoName)
			for _, arg := range a.Args {
				if !token.IsIdentifier(arg.GoName) || token.IsKeyword(arg.GoName) {
					t.Fatalf("arg local name %q", arg.GoName)
				}
			}
		}
		if s.Self != nil {
			for _, g := range s.Self.Groups {
				checkExported(t, "Self"+g.GoName)
			}
		}
	})
}

func checkExported(t *testing.T, name string) {
	t.Helper()
	if !token.IsIdentifier(name) || !token.IsExported(name) {
		t.Fatalf("Go name %q is not an exported identifier", name)
	}
}
