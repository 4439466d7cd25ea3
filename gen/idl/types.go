package idl

import "fmt"

// parseType parses an IDL type expression: a builtin, a proto name, list<T> or
// dict<string,T> (spaces allowed). protos is the set of declared proto names.
func parseType(s string, protos map[string]bool) (Type, error) {
	p := typeParser{s: s, protos: protos}
	t, err := p.typ(0)
	if err != nil {
		return Type{}, err
	}
	p.space()
	if p.i != len(p.s) {
		return Type{}, fmt.Errorf("unexpected %q at character %d", p.s[p.i:], p.i+1)
	}
	return t, nil
}

type typeParser struct {
	s      string
	i      int
	protos map[string]bool
}

const maxTypeDepth = 16

func (p *typeParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *typeParser) ident() string {
	p.space()
	j := p.i
	for p.i < len(p.s) && isIdentByte(p.s[p.i], p.i == j) {
		p.i++
	}
	return p.s[j:p.i]
}

func (p *typeParser) expect(c byte) error {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != c {
		if p.i >= len(p.s) {
			return fmt.Errorf("missing %q at the end", c)
		}
		return fmt.Errorf("want %q at character %d, got %q", c, p.i+1, p.s[p.i])
	}
	p.i++
	return nil
}

func (p *typeParser) peek(c byte) bool {
	p.space()
	return p.i < len(p.s) && p.s[p.i] == c
}

func (p *typeParser) typ(depth int) (Type, error) {
	if depth > maxTypeDepth {
		return Type{}, fmt.Errorf("type nested deeper than %d levels", maxTypeDepth)
	}
	name := p.ident()
	switch name {
	case "":
		if p.i >= len(p.s) {
			return Type{}, fmt.Errorf("missing type name")
		}
		return Type{}, fmt.Errorf("unexpected %q at character %d", p.s[p.i], p.i+1)
	case "string":
		return Type{Kind: String}, nil
	case "bool":
		return Type{Kind: Bool}, nil
	case "int":
		return Type{Kind: Int}, nil
	case "float":
		return Type{Kind: Float}, nil
	case "tuple":
		if p.peek('<') {
			return Type{}, fmt.Errorf("tuple takes no element type (use list<T> for a typed sequence)")
		}
		return Type{Kind: Tuple}, nil
	case "list":
		if !p.peek('<') {
			return Type{Kind: List}, nil
		}
		p.i++
		e, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if err := p.expect('>'); err != nil {
			return Type{}, err
		}
		return Type{Kind: List, Elem: &e}, nil
	case "dict":
		if !p.peek('<') {
			return Type{Kind: Dict}, nil
		}
		p.i++
		if k := p.ident(); k != "string" {
			return Type{}, fmt.Errorf("dict key type must be string, got %q (msgpack maps of a proto are keyed by strings)", k)
		}
		if err := p.expect(','); err != nil {
			return Type{}, err
		}
		e, err := p.typ(depth + 1)
		if err != nil {
			return Type{}, err
		}
		if err := p.expect('>'); err != nil {
			return Type{}, err
		}
		return Type{Kind: Dict, Elem: &e}, nil
	}
	if !p.protos[name] {
		return Type{}, fmt.Errorf("unknown type %q", name)
	}
	return Type{Kind: ProtoKind, Proto: name}, nil
}

func isIdentByte(c byte, first bool) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9')
}

// isName reports whether s is an IDL name: an ASCII letter followed by letters, digits and '_'.
func isName(s string) bool {
	if s == "" || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentByte(s[i], false) {
			return false
		}
	}
	return true
}
