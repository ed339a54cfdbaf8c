package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// Patterns are stored in an escaped glob form: '*' matches any run of
// characters, '?' matches exactly one, and a backslash makes the next
// character literal. Text written in a policy is escaped only for its
// backslashes, so its '*' and '?' stay wildcards; text that comes from a
// policy variable or from ${*}, ${?} and ${$} is fully escaped, so it is
// matched literally.

// escapeGlob escapes every wildcard and backslash in s.
func escapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?\`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '?' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// escapeBackslash escapes only backslashes, keeping wildcards active.
func escapeBackslash(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.ReplaceAll(s, `\`, `\\`)
}

// globMatch reports whether s matches the escaped glob pattern p. With fold,
// s is compared case-insensitively against a pattern that is already lower
// case. It runs in O(len(p)*len(s)) worst case and allocates nothing.
func globMatch(p, s string, fold bool) bool {
	px, sx := 0, 0
	starPx, starSx := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				starPx, starSx = px, sx
				px++
				continue
			case '?':
				if sx < len(s) {
					_, w := decodeRune(s, sx)
					px++
					sx += w
					continue
				}
			default:
				pw := 0
				if c == '\\' && px+1 < len(p) {
					pw = 1
				}
				pr, w := decodeRune(p, px+pw)
				pw += w
				if sx < len(s) {
					sr, sw := decodeRune(s, sx)
					if sr == pr || (fold && unicode.ToLower(sr) == pr) {
						px += pw
						sx += sw
						continue
					}
				}
			}
		}
		// Mismatch: let the last star swallow one more character.
		if starPx >= 0 && starSx < len(s) {
			_, w := decodeRune(s, starSx)
			starSx += w
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// tmplPart is one piece of a template: literal (already in the template's
// output form) or a policy variable.
type tmplPart struct {
	text   string // literal output, or the lower-cased variable key
	isVar  bool
	def    string // default value (raw), valid when hasDef
	hasDef bool
}

// template is a policy string that may contain policy variables. When it has
// none, static holds the final form and resolve allocates nothing.
type template struct {
	static string
	parts  []tmplPart // nil when static
	size   int        // literal bytes in parts, to size the output
	glob   bool       // output is an escaped glob pattern (else literal text)
}

// compileTemplate parses raw. With vars false (policy Version other than
// 2012-10-17) "${...}" is ordinary text. With glob, the output is an escaped
// glob pattern whose literal '*' and '?' are wildcards.
func compileTemplate(raw string, vars, glob bool) (template, error) {
	lit := func(s string) string {
		if glob {
			return escapeBackslash(s)
		}
		return s
	}
	exact := func(s string) string {
		if glob {
			return escapeGlob(s)
		}
		return s
	}
	if !vars || !strings.Contains(raw, "${") {
		return template{static: lit(raw), glob: glob}, nil
	}
	var parts []tmplPart
	var cur strings.Builder
	rest := raw
	dynamic := false
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			cur.WriteString(lit(rest))
			break
		}
		j := strings.IndexByte(rest[i+2:], '}')
		if j < 0 { // unterminated: literal text
			cur.WriteString(lit(rest))
			break
		}
		cur.WriteString(lit(rest[:i]))
		body := rest[i+2 : i+2+j]
		rest = rest[i+2+j+1:]
		switch body {
		case "*", "?", "$":
			cur.WriteString(exact(body))
			continue
		}
		key, def, hasDef, err := parseVariable(body)
		if err != nil {
			return template{}, err
		}
		if cur.Len() > 0 {
			parts = append(parts, tmplPart{text: cur.String()})
			cur.Reset()
		}
		parts = append(parts, tmplPart{text: strings.ToLower(key), isVar: true, def: def, hasDef: hasDef})
		dynamic = true
	}
	if cur.Len() > 0 {
		parts = append(parts, tmplPart{text: cur.String()})
	}
	if !dynamic {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.text)
		}
		return template{static: b.String(), glob: glob}, nil
	}
	size := 0
	for _, p := range parts {
		if !p.isVar {
			size += len(p.text)
		}
	}
	return template{parts: parts, glob: glob, size: size}, nil
}

// parseVariable splits the body of ${...}: a context key, optionally followed
// by a comma and a default in single quotes.
func parseVariable(body string) (key, def string, hasDef bool, err error) {
	key = body
	if i := strings.IndexByte(body, ','); i >= 0 {
		key = body[:i]
		d := strings.TrimSpace(body[i+1:])
		if len(d) < 2 || d[0] != '\'' || d[len(d)-1] != '\'' {
			return "", "", false, fmt.Errorf("policy variable ${%s} has a default that is not in single quotes, e.g. ${aws:username, 'anonymous'}", body)
		}
		def, hasDef = d[1:len(d)-1], true
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t\r\n'{$") {
		return "", "", false, fmt.Errorf("policy variable ${%s} does not name a context key", body)
	}
	return key, def, hasDef, nil
}

// resolve produces the template's output for ctx. ok is false when a
// variable has no single value in ctx and no default.
func (t *template) resolve(ctx *Context) (string, bool) {
	if t.parts == nil {
		return t.static, true
	}
	var b strings.Builder
	b.Grow(t.size + 32)
	for _, p := range t.parts {
		if !p.isVar {
			b.WriteString(p.text)
			continue
		}
		v, ok := ctx.single(p.text)
		if !ok {
			if !p.hasDef {
				return "", false
			}
			v = p.def
		}
		if t.glob {
			v = escapeGlob(v)
		}
		b.WriteString(v)
	}
	return b.String(), true
}

// arnSegments splits an ARN into its six colon-separated parts ("arn",
// partition, service, region, account, resource) with aws/arn's parser; the
// resource keeps any further colons. ok is false when s is not an ARN.
func arnSegments(s string) (parts [6]string, ok bool) {
	a, err := arn.Parse(s)
	if err != nil {
		return parts, false
	}
	return [6]string{"arn", a.Partition, a.Service, a.Region, a.AccountID, a.Resource}, true
}

// splitARNPattern splits a raw ARN pattern at its first five colons that are
// not inside a ${...} policy variable.
func splitARNPattern(raw string, vars bool) []string {
	var segs []string
	depth := false
	start := 0
	for i := 0; i < len(raw) && len(segs) < 5; i++ {
		switch {
		case vars && !depth && raw[i] == '$' && i+1 < len(raw) && raw[i+1] == '{':
			if strings.IndexByte(raw[i:], '}') > 0 {
				depth = true
			}
		case depth && raw[i] == '}':
			depth = false
		case !depth && raw[i] == ':':
			segs = append(segs, raw[start:i])
			start = i + 1
		}
	}
	return append(segs, raw[start:])
}

// arnPattern matches ARNs segment by segment, as the Resource element and the
// Arn* condition operators do.
type arnPattern struct {
	any  bool       // "*": matches everything
	segs []template // 1 to 6 glob segments
	// tail: fewer than six segments and the last ends in '*', which then
	// spans the rest of the ARN, colons included.
	tail bool
	// whole is the full pattern, used when the value is not an ARN.
	whole template
}

func compileARNPattern(raw string, vars bool) (arnPattern, error) {
	if raw == "*" {
		return arnPattern{any: true}, nil
	}
	whole, err := compileTemplate(raw, vars, true)
	if err != nil {
		return arnPattern{}, err
	}
	p := arnPattern{whole: whole}
	for _, s := range splitARNPattern(raw, vars) {
		t, err := compileTemplate(s, vars, true)
		if err != nil {
			return arnPattern{}, err
		}
		p.segs = append(p.segs, t)
	}
	if len(p.segs) < 6 && strings.HasSuffix(raw, "*") {
		p.tail = true
	}
	return p, nil
}

// match reports whether the ARN whose parts are given matches. ok is false
// when the pattern could not be resolved (a policy variable without value).
func (p *arnPattern) match(value string, parts *[6]string, isARN bool, ctx *Context) (matched, ok bool) {
	if p.any {
		return true, true
	}
	if !isARN { // compare whole strings
		pat, ok := p.whole.resolve(ctx)
		if !ok {
			return false, false
		}
		return globMatch(pat, value, false), true
	}
	k := len(p.segs)
	if k < 6 && !p.tail {
		return false, true
	}
	for i := 0; i < k; i++ {
		pat, ok := p.segs[i].resolve(ctx)
		if !ok {
			return false, false
		}
		subject := parts[i]
		if i == k-1 && k < 6 {
			subject = restFrom(value, i)
		}
		if !globMatch(pat, subject, false) {
			return false, true
		}
	}
	return true, true
}

// restFrom returns value from the start of its i-th colon-separated part.
func restFrom(value string, i int) string {
	for ; i > 0; i-- {
		j := strings.IndexByte(value, ':')
		if j < 0 {
			return ""
		}
		value = value[j+1:]
	}
	return value
}
