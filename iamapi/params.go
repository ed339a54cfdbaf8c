package iamapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/imdsemu/imdsemu/internal/pattern"
	"github.com/imdsemu/imdsemu/internal/sigv4"
	"github.com/imdsemu/imdsemu/rolestore"
)

// maxListIndex bounds the N of NAME.member.N; no IAM list is longer.
const maxListIndex = 1000

// params are a request's parameters: the query string and, for POST, the
// form-encoded body. Names are case-sensitive, as in AWS.
type params struct {
	// query is the query string alone, which the signature covers as such.
	query sigv4.Query
	all   url.Values
}

// parseParams decodes the query string and the body.
func parseParams(rawQuery string, body []byte) (params, *Error) {
	q, err := sigv4.ParseQuery(rawQuery)
	if err != nil {
		return params{}, newError("MalformedQueryString", http.StatusBadRequest, "The query string is not valid: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	all := q.Values()
	if len(body) > 0 {
		bv, err := url.ParseQuery(string(body))
		if err != nil {
			return params{}, newError("MalformedQueryString", http.StatusBadRequest,
				"The request body is not valid application/x-www-form-urlencoded: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
		}
		for k, vs := range bv {
			all[k] = append(all[k], vs...)
		}
	}
	return params{query: q, all: all}, nil
}

// get returns the first value of name, or "".
func (p params) get(name string) string {
	if vs := p.all[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// has reports whether name is present.
func (p params) has(name string) bool { return len(p.all[name]) > 0 }

// members collects NAME.member.N[.REST] parameters by N, in order of N:
// each entry maps REST ("" for a list of scalars) to its value.
func (p params) members(name string, v *validation) []map[string]string {
	prefix := name + ".member."
	byIndex := map[int]map[string]string{}
	last := 0
	for key, vals := range p.all {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok || len(vals) == 0 {
			continue
		}
		num, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > maxListIndex || strconv.Itoa(n) != num {
			v.Fail(lowerFirst(name), key, "list indexes must be whole numbers from 1 to "+strconv.Itoa(maxListIndex))
			continue
		}
		if byIndex[n] == nil {
			byIndex[n] = map[string]string{}
		}
		byIndex[n][field] = vals[0]
		last = max(last, n)
	}
	out := make([]map[string]string, 0, len(byIndex))
	for i := 1; i <= last; i++ {
		if e, ok := byIndex[i]; ok {
			out = append(out, e)
		}
	}
	return out
}

// list returns the scalars NAME.member.N in order.
func (p params) list(name string, v *validation) []string {
	var out []string
	for _, e := range p.members(name, v) {
		if s, ok := e[""]; ok {
			out = append(out, s)
		}
	}
	return out
}

// sublist returns the scalars of a nested list, FIELD.member.M, of an entry
// of members.
func sublist(e map[string]string, field string) []string {
	prefix := field + ".member."
	byIndex := map[int]string{}
	last := 0
	for k, val := range e {
		num, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(num); err == nil && n >= 1 && n <= maxListIndex {
			byIndex[n] = val
			last = max(last, n)
		}
	}
	var out []string
	for i := 1; i <= last; i++ {
		if s, ok := byIndex[i]; ok {
			out = append(out, s)
		}
	}
	return out
}

// tags returns Tags.member.N.Key / .Value.
func (p params) tags(v *validation) []rolestore.Tag {
	var out []rolestore.Tag
	for i, e := range p.members("Tags", v) {
		key, ok := e["Key"]
		if !ok {
			v.Missing("tags." + strconv.Itoa(i+1) + ".member.key")
			continue
		}
		out = append(out, rolestore.Tag{Key: key, Value: e["Value"]})
	}
	return out
}

// A shape is a string parameter's constraints from botocore's IAM model.
type shape struct {
	min, max int
	re       *pattern.Regexp // nil: any characters
	pattern  string          // re as the model writes it, for messages
}

// The shapes of IAM's string parameters. Immutable after package
// initialisation and safe for concurrent use.
var (
	nameRe       = pattern.Lazy(`^[\w+=,.@-]+$`)
	userName     = shape{1, 64, nameRe, `[\w+=,.@-]+`}
	groupName    = shape{1, 128, nameRe, `[\w+=,.@-]+`}
	roleName     = shape{1, 64, nameRe, `[\w+=,.@-]+`}
	profileName  = shape{1, 128, nameRe, `[\w+=,.@-]+`}
	policyName   = shape{1, 128, nameRe, `[\w+=,.@-]+`}
	pathShape    = shape{1, 512, pattern.Lazy(`^(/|/[\x21-\x7E]+/)$`), `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`}
	pathPrefix   = shape{1, 512, pattern.Lazy(`^/[\x21-\x7F]*$`), `\u002F[\u0021-\u007F]*`}
	document     = shape{1, 131072, pattern.Lazy(`^[\t\n\r\x{20}-\x{FF}]+$`), `[\u0009\u000A\u000D\u0020-\u00FF]+`}
	accessKeyID  = shape{16, 128, pattern.Lazy(`^\w+$`), `[\w]+`}
	arnShape     = shape{20, 2048, nil, ""}
	description  = shape{0, 1000, pattern.Lazy(`^[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}\t\n\r]*$`), `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`}
	markerShape  = shape{1, 320, nil, ""}
	versionShape = shape{1, 128, pattern.Lazy(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`), `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`}
	serialShape  = shape{9, 256, pattern.Lazy(`^[\w+=/:,.@-]+$`), `[\w+=/:,.@-]+`}
	authCode     = shape{6, 6, pattern.Lazy(`^[\d]+$`), `[\d]+`}
	mfaName      = shape{1, 226, nameRe, `[\w+=,.@-]+`}
)

// str reads the string parameter field, checks it against sh, and records
// violations under its wire name (userName for UserName).
func (v *validation) str(p params, field string, required bool, sh shape) string {
	val, ok := p.all[field]
	member := lowerFirst(field)
	if !ok || len(val) == 0 {
		if required {
			v.Missing(member)
		}
		return ""
	}
	s := val[0]
	n := utf8.RuneCountInString(s)
	switch {
	case n < sh.min:
		v.Fail(member, s, "Member must have length greater than or equal to "+strconv.Itoa(sh.min))
	case n > sh.max:
		v.Fail(member, s, "Member must have length less than or equal to "+strconv.Itoa(sh.max))
	case sh.re != nil && !sh.re.MatchString(s):
		v.Fail(member, s, "Member must satisfy regular expression pattern: "+sh.pattern)
	}
	return s
}

// integer reads an optional whole-number parameter in [min, max]; def when
// absent.
func (v *validation) integer(p params, field string, min, max, def int) int {
	s := p.get(field)
	if !p.has(field) {
		return def
	}
	n, err := strconv.Atoi(s)
	member := lowerFirst(field)
	switch {
	case err != nil:
		v.Fail(member, s, "Member must be a whole number")
	case n < min:
		v.Fail(member, s, "Member must have value greater than or equal to "+strconv.Itoa(min))
	case n > max:
		v.Fail(member, s, "Member must have value less than or equal to "+strconv.Itoa(max))
	}
	return n
}

// boolean reads an optional boolean parameter ("true" or "false").
func (v *validation) boolean(p params, field string) (value, set bool) {
	if !p.has(field) {
		return false, false
	}
	switch s := p.get(field); s {
	case "true":
		return true, true
	case "false":
		return false, true
	default:
		v.Fail(lowerFirst(field), s, "Member must be true or false")
	}
	return false, false
}

// enum reads an optional parameter that must be one of values.
func (v *validation) enum(p params, field string, required bool, values ...string) string {
	s := v.str(p, field, required, shape{0, 1 << 20, nil, ""})
	if s == "" && !p.has(field) {
		return ""
	}
	for _, ok := range values {
		if s == ok {
			return s
		}
	}
	v.Fail(lowerFirst(field), s, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
	return s
}

// page is the pagination of a List call: where to start and how many.
type page struct {
	start, max int
}

// pageParams reads Marker and MaxItems (1-1000, default 100).
func (v *validation) page(p params) page {
	pg := page{max: v.integer(p, "MaxItems", 1, 1000, 100)}
	if m := v.str(p, "Marker", false, markerShape); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o:"))
		if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(b), "o:") {
			v.Fail("marker", m, "Member must be a Marker this API returned")
		}
		pg.start = n
	}
	return pg
}

// paginate cuts items to the page and returns the truncation flag and the
// next marker, as every IAM List* call reports them.
func paginate[T any](items []T, pg page) (out []T, truncated bool, marker string) {
	if pg.start >= len(items) {
		return []T{}, false, ""
	}
	end := pg.start + pg.max
	if end >= len(items) {
		return items[pg.start:], false, ""
	}
	return items[pg.start:end], true, base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(end)))
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
