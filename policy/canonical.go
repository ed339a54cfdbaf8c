package policy

// The canonical JSON form of a parsed document.

import "unicode/utf8"

// String returns the canonical JSON form.
func (d *Document) String() string {
	b, _ := d.MarshalJSON()
	return string(b)
}

// MarshalJSON renders the canonical form: keys in a fixed order, every list
// as an array, conditions sorted by operator and key, condition values as
// strings, and characters above U+00FF escaped so the output is also a valid
// session policy. Parsing the output yields an equivalent Document.
func (d *Document) MarshalJSON() ([]byte, error) {
	var b []byte
	b = append(b, '{')
	sep := ""
	field := func(name string) {
		b = append(b, sep...)
		b = appendJSONString(b, name)
		b = append(b, ':')
		sep = ","
	}
	if d.version != "" {
		field("Version")
		b = appendJSONString(b, d.version)
	}
	if d.id != "" {
		field("Id")
		b = appendJSONString(b, d.id)
	}
	field("Statement")
	b = append(b, '[')
	for i := range d.statements {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStatement(b, &d.statements[i])
	}
	b = append(b, ']', '}')
	return b, nil
}

func appendStatement(b []byte, s *Statement) []byte {
	b = append(b, '{')
	sep := ""
	field := func(name string) {
		b = append(b, sep...)
		b = appendJSONString(b, name)
		b = append(b, ':')
		sep = ","
	}
	list := func(name string, v []string) {
		if v == nil {
			return
		}
		field(name)
		b = appendJSONList(b, v)
	}
	if s.Sid != "" {
		field("Sid")
		b = appendJSONString(b, s.Sid)
	}
	field("Effect")
	b = appendJSONString(b, string(s.Effect))
	for _, pe := range []struct {
		name string
		ps   *Principals
	}{{"Principal", s.Principal}, {"NotPrincipal", s.NotPrincipal}} {
		if pe.ps == nil {
			continue
		}
		field(pe.name)
		if pe.ps.All {
			b = appendJSONString(b, "*")
			continue
		}
		b = append(b, '{')
		psep := ""
		for _, kv := range []struct {
			k string
			v []string
		}{{"AWS", pe.ps.AWS}, {"CanonicalUser", pe.ps.CanonicalUser}, {"Federated", pe.ps.Federated}, {"Service", pe.ps.Service}} {
			if kv.v == nil {
				continue
			}
			b = append(b, psep...)
			b = appendJSONString(b, kv.k)
			b = append(b, ':')
			b = appendJSONList(b, kv.v)
			psep = ","
		}
		b = append(b, '}')
	}
	list("Action", s.Action)
	list("NotAction", s.NotAction)
	list("Resource", s.Resource)
	list("NotResource", s.NotResource)
	if len(s.Condition) > 0 {
		field("Condition")
		b = append(b, '{')
		for i := 0; i < len(s.Condition); {
			op := s.Condition[i].Operator
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, op)
			b = append(b, ':', '{')
			for j := i; j < len(s.Condition) && s.Condition[j].Operator == op; j++ {
				if j > i {
					b = append(b, ',')
				}
				b = appendJSONString(b, s.Condition[j].Key)
				b = append(b, ':')
				b = appendJSONList(b, s.Condition[j].Values)
			}
			b = append(b, '}')
			for i < len(s.Condition) && s.Condition[i].Operator == op {
				i++
			}
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendJSONList(b []byte, v []string) []byte {
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONString quotes s as a JSON string. Control characters, quotes,
// backslashes, <, >, & and runes above U+00FF are escaped; invalid UTF-8
// becomes U+FFFD (escaped).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	u := func(b []byte, r rune) []byte {
		return append(b, '\\', 'u', hex[r>>12&0xF], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
	}
	b = append(b, '"')
	for _, r := range s { // invalid bytes decode as U+FFFD
		switch {
		case r == '"':
			b = append(b, '\\', '"')
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20, r == '<', r == '>', r == '&':
			b = u(b, r)
		case r <= 0xFF:
			b = utf8.AppendRune(b, r)
		case r > 0xFFFF:
			r1, r2 := utf16Surrogates(r)
			b = u(u(b, r1), r2)
		default:
			b = u(b, r)
		}
	}
	return append(b, '"')
}

func utf16Surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}
