package sigv4

import (
	"net/url"
	"strings"
)

// Query is a request's query string split into its parameters, each kept
// as it was sent (still escaped) and decoded only when asked for. The
// canonical query of a signature is built from these raw pairs: the AWS
// SDKs send every parameter already in its canonical encoding, so most
// requests are verified without decoding and re-encoding each value (a
// presigned URL carries the 1 KB session token in its query). Its zero
// value is the empty query.
type Query struct {
	pairs []rawPair
}

// rawPair is one key=value of a query string as sent (k, v), with its key
// decoded (key), which is k itself unless k holds an escape.
type rawPair struct{ key, k, v string }

// maxQueryParams is net/url's default bound on a query's parameters.
const maxQueryParams = 10000

// ParseQuery splits raw (a URL's RawQuery, or a form body) into its
// parameters. It accepts exactly what url.ParseQuery accepts, and fails
// with url.ParseQuery's error otherwise.
func ParseQuery(raw string) (Query, error) {
	n := strings.Count(raw, "&") + 1
	if n > maxQueryParams {
		_, err := url.ParseQuery(raw)
		return Query{}, err
	}
	q := Query{pairs: make([]rawPair, 0, n)}
	bad := false
	for rest := raw; rest != ""; {
		var kv string
		kv, rest, _ = strings.Cut(rest, "&")
		if strings.Contains(kv, ";") {
			bad = true
			continue
		}
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if !validEscapes(k) || !validEscapes(v) {
			bad = true
			continue
		}
		q.pairs = append(q.pairs, rawPair{decode(k), k, v})
	}
	if bad {
		// Only url.ParseQuery words its errors: let it.
		if _, err := url.ParseQuery(raw); err != nil {
			return Query{}, err
		}
	}
	return q, nil
}

// validEscapes reports whether every '%' in s starts a %XX escape, which
// is all url.QueryUnescape asks of a query component.
func validEscapes(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0; i = strings.IndexByte(s, '%') {
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return false
		}
		s = s[i+3:]
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// decode unescapes a query component as url.QueryUnescape does ('+' is a
// space), for components ParseQuery has validated ("" for an invalid one).
// It allocates only when s holds an escape or a '+', once, and copies the
// runs between escapes whole: url.QueryUnescape writes byte by byte, which
// was a quarter of verifying a presigned request (its 1 KB session token).
func decode(s string) string {
	i := firstEscape(s)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		b.WriteString(s[:i])
		switch {
		case i == len(s):
			return b.String()
		case s[i] == '+':
			b.WriteByte(' ')
			s = s[i+1:]
		case i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]):
			return ""
		default:
			b.WriteByte(fromHex(s[i+1])<<4 | fromHex(s[i+2]))
			s = s[i+3:]
		}
		i = firstEscape(s)
	}
}

// firstEscape is the index of the first '%' or '+' in s, or len(s): a
// plain loop, quicker than strings.IndexAny on the short runs of a
// base64 session token.
func firstEscape(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return i
		}
	}
	return len(s)
}

// fromHex is the value of a hex digit, either case.
func fromHex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// Lookup returns the first value of name and whether name is present.
func (q Query) Lookup(name string) (string, bool) {
	for _, p := range q.pairs {
		if p.key == name {
			return decode(p.v), true
		}
	}
	return "", false
}

// Get returns the first value of name, or "".
func (q Query) Get(name string) string {
	v, _ := q.Lookup(name)
	return v
}

// Has reports whether name is present.
func (q Query) Has(name string) bool {
	_, ok := q.Lookup(name)
	return ok
}

// Len is the number of parameters.
func (q Query) Len() int { return len(q.pairs) }

// All calls yield with each parameter, decoded, in the order sent.
func (q Query) All(yield func(k, v string) bool) {
	for _, p := range q.pairs {
		if !yield(p.key, decode(p.v)) {
			return
		}
	}
}

// Values returns the parameters as url.ParseQuery would.
func (q Query) Values() url.Values {
	v := make(url.Values, len(q.pairs))
	for k, val := range q.All {
		v[k] = append(v[k], val)
	}
	return v
}

// rawGet returns the first value of name in the raw query string raw,
// decoded, skipping what url.ParseQuery would drop (as URL.Query does). It
// does not allocate unless the value is escaped.
func rawGet(raw, name string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" || strings.Contains(kv, ";") {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if !validEscapes(k) || !validEscapes(v) {
			continue
		}
		if k == name || decode(k) == name {
			return decode(v)
		}
	}
	return ""
}

// canonicalComponent reports whether s, as sent, is already the SigV4
// (RFC 3986) encoding of its decoded value: only unreserved characters and
// %XX escapes, in upper-case hex, of bytes that must be escaped.
func canonicalComponent(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			continue
		}
		if c != '%' || i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
			return false
		}
		if unreserved(fromHex(s[i+1])<<4 | fromHex(s[i+2])) {
			return false // %41 for 'A': the canonical form is 'A'
		}
		i += 2
	}
	return true
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
