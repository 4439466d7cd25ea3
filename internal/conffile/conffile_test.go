package conffile

import (
	"strings"
	"testing"
)

func TestStrict(t *testing.T) {
	owned := func(s string) bool { return s == "a" || s == "b" }
	cases := []struct{ text, want string }{
		{"[a]\nx=1\ny=2\n[mine]\nanything=1\n", ""},
		{"[a]\nx=1\nx=2\n", `[a] x: given 2 times (values ["1" "2"]); give it once`},
		{"[a]\nx=1\nx=1\n", `[a] x: given 2 times`},
		{"[a]\nx=1\n[a]\nx=2\n", `[a] x: given 2 times`},
		{"[mine]\nz=1\nz=2\n", `[mine] z: given 2 times`},
		{"[a]\nx=1\nmax_queu=3\n", "[a] max_queu: unknown key (did you mean max_queue?)"},
		{"[a]\nx=1\nMAX_QUEUE=3\n", "[a] MAX_QUEUE: unknown key (did you mean max_queue?)"},
		{"[a]\nx=1\nfrobnicate=3\n", "[a] frobnicate: unknown key (known keys here: max_queue, x, y; put your own"},
		{"[b]\nq=1\n", "[b] q: svrkit reads no key of this section"},
		{"top=1\n[a]\nx=1\n", "[DEFAULT] top: key before the first section header"},
	}
	for _, c := range cases {
		f, err := Parse([]byte(c.text))
		if err == nil {
			for _, k := range []string{"x", "y", "max_queue"} {
				f.Get("a", k)
			}
			err = f.CheckUnknown(owned)
		}
		if c.want == "" {
			if err != nil {
				t.Errorf("%q: %v", c.text, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

func TestSection(t *testing.T) {
	f, err := Parse([]byte("[mine]\nk = v \n"))
	if err != nil {
		t.Fatal(err)
	}
	m := f.Section("mine")
	if len(m) != 1 || m["k"] != "v" {
		t.Errorf("Section = %v", m)
	}
	m["k"] = "changed"
	if f.Section("mine")["k"] != "v" {
		t.Error("Section is not a copy")
	}
	if f.Section("none") != nil {
		t.Error("absent section not nil")
	}
}
