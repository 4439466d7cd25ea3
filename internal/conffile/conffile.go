// Package conffile reads svrkit's INI conf files (<app>_svr.conf, <app>_cli.conf) strictly:
// a key given twice is an error, and in a section svrkit owns every key must be one the
// parser asked for, so a typo such as max_queu= is reported (with a "did you mean" hint)
// instead of silently ignored. Sections svrkit does not own are the user's, kept as values.
package conffile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-ini/ini"
)

// Error is a problem with one key of a section (Key is "" for the whole section).
type Error struct {
	Section, Key, Msg string
}

func (e *Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("[%s]: %s", e.Section, e.Msg)
	}
	return fmt.Sprintf("[%s] %s: %s", e.Section, e.Key, e.Msg)
}

// File is a parsed conf file that remembers which keys were asked for.
type File struct {
	f     *ini.File
	asked map[string]map[string]bool // section -> key -> asked for by Get
}

// Parse parses data. A syntax error is a plain error; a key given twice in a section (or
// in two headers of the same section) is an *Error.
func Parse(data []byte) (*File, error) {
	f, err := ini.LoadSources(ini.LoadOptions{AllowShadows: true, AllowDuplicateShadowValues: true}, data)
	if err != nil {
		return nil, err
	}
	for _, s := range f.Sections() {
		for _, k := range s.Keys() {
			if vs := k.ValueWithShadows(); len(vs) > 1 {
				return nil, &Error{Section: s.Name(), Key: k.Name(), Msg: fmt.Sprintf("given %d times (values %q); give it once", len(vs), vs)}
			}
		}
	}
	return &File{f: f, asked: map[string]map[string]bool{}}, nil
}

// HasSection reports whether the file has section name.
func (f *File) HasSection(name string) bool {
	_, err := f.f.GetSection(name)
	return err == nil
}

// Get returns the trimmed value of key in section and whether it is present, and records
// that the parser knows this key (present or not).
func (f *File) Get(section, key string) (string, bool) {
	if f.asked[section] == nil {
		f.asked[section] = map[string]bool{}
	}
	f.asked[section][key] = true
	s, err := f.f.GetSection(section)
	if err != nil || !s.HasKey(key) {
		return "", false
	}
	return strings.TrimSpace(s.Key(key).String()), true
}

// Sections returns the names of the file's sections in file order, without the unnamed
// section of keys before the first header when it is empty.
func (f *File) Sections() []string {
	var out []string
	for _, s := range f.f.Sections() {
		if s.Name() == ini.DefaultSection && len(s.Keys()) == 0 {
			continue
		}
		out = append(out, s.Name())
	}
	return out
}

// Section returns a copy of section name's keys and values, nil when it is absent.
func (f *File) Section(name string) map[string]string {
	s, err := f.f.GetSection(name)
	if err != nil {
		return nil
	}
	out := make(map[string]string, len(s.Keys()))
	for _, k := range s.Keys() {
		out[k.Name()] = strings.TrimSpace(k.String())
	}
	return out
}

// CheckUnknown returns an *Error for the first key, in file order, of a section owned
// reports as svrkit's that no Get asked for: a key before the first section header, a key
// of a section the parser never looked at, or an unknown key, with a "did you mean" hint
// for a near miss. Call it once parsing is done.
func (f *File) CheckUnknown(owned func(section string) bool) error {
	for _, s := range f.f.Sections() {
		name := s.Name()
		if name == ini.DefaultSection {
			if len(s.Keys()) > 0 {
				return &Error{Section: name, Key: s.Keys()[0].Name(), Msg: "key before the first section header; it belongs in a section"}
			}
			continue
		}
		if !owned(name) {
			continue
		}
		asked := f.asked[name]
		for _, k := range s.Keys() {
			if asked[k.Name()] {
				continue
			}
			if len(asked) == 0 {
				return &Error{Section: name, Key: k.Name(), Msg: "svrkit reads no key of this section with these settings (put your own settings in a section of your own)"}
			}
			return &Error{Section: name, Key: k.Name(), Msg: "unknown key " + hint(k.Name(), asked)}
		}
	}
	return nil
}

// hint suggests the known key nearest to key, or lists the known keys.
func hint(key string, known map[string]bool) string {
	names := make([]string, 0, len(known))
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestD := "", 3 // suggest only within 2 edits
	for _, k := range names {
		if d := distance(strings.ToLower(key), k); d < bestD && d < len(k) {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("(did you mean %s?)", best)
	}
	return "(known keys here: " + strings.Join(names, ", ") + "; put your own settings in a section of your own)"
}

// distance is the Levenshtein distance between a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
