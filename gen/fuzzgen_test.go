package gen

import (
	"os"
	"testing"

	"github.com/svrkit/svrkit/gen/idl"
)

// FuzzGenerate checks that every IDL the parser accepts generates (all Go output
// parses and formats). Seeds: the golden cases and testdata/fuzz/FuzzGenerate.
func FuzzGenerate(f *testing.F) {
	for _, name := range goldenCases {
		data, err := os.ReadFile(caseIDL(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := idl.Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		if _, err := Generate(spec, Options{ImportPath: "example.com/x"}); err != nil {
			t.Fatalf("accepted IDL does not generate: %v", err)
		}
	})
}
