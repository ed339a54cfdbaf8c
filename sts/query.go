package sts

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// MaxBodyBytes caps a request body. The largest legitimate STS request is an
// AssumeRoleWithSAML with a 100,000-character assertion, URL-encoded.
const MaxBodyBytes = 512 << 10

// maxListIndex bounds the N of NAME.member.N; no STS list is longer than 50.
const maxListIndex = 1000

// params are the Query API parameters of one request: the query string and,
// for POST, the form-encoded body. Names are case-sensitive, as in AWS.
type params struct {
	v url.Values
}

// parseParams decodes the query string and the body (which must be
// application/x-www-form-urlencoded when not empty). Body parameters are
// added after query parameters, so get returns the query's value first.
func parseParams(rawQuery string, body []byte) (params, *Error) {
	v, err := url.ParseQuery(rawQuery)
	if err != nil {
		return params{}, newError(CodeMalformedQueryString, http.StatusBadRequest,
			"The query string is not valid: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	if len(body) > 0 {
		bv, err := url.ParseQuery(string(body))
		if err != nil {
			return params{}, newError(CodeMalformedQueryString, http.StatusBadRequest,
				"The request body is not valid application/x-www-form-urlencoded: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
		}
		for k, vals := range bv {
			v[k] = append(v[k], vals...)
		}
	}
	return params{v: v}, nil
}

// get returns the first value of name, or "".
func (p params) get(name string) string {
	if vs := p.v[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// lookup returns the first value of name and whether it is present.
func (p params) lookup(name string) (string, bool) {
	vs, ok := p.v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// entry is one NAME.member.N of a list: its index and its fields ("" for a
// list of scalars).
type entry struct {
	index  int
	fields map[string]string
}

// members collects NAME.member.N[.FIELD] parameters into entries ordered by
// N. The wire name of the list in errors is name.
func (p params) members(name string) ([]entry, *Error) {
	prefix := name + ".member."
	byIndex := map[int]*entry{}
	for key, vals := range p.v {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok || len(vals) == 0 {
			continue
		}
		num, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > maxListIndex || strconv.Itoa(n) != num {
			return nil, newError(CodeInvalidParameterValue, http.StatusBadRequest,
				"%s: the list index %q must be a whole number from 1 to %d", truncate(key, 128), truncate(num, 32), maxListIndex)
		}
		e := byIndex[n]
		if e == nil {
			e = &entry{index: n, fields: map[string]string{}}
			byIndex[n] = e
		}
		e.fields[field] = vals[0]
	}
	out := make([]entry, 0, len(byIndex))
	for _, e := range byIndex {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out, nil
}

// list returns the scalars NAME.member.N in order of N.
func (p params) list(name string) ([]string, *Error) {
	es, err := p.members(name)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		v, ok := e.fields[""]
		if !ok {
			return nil, newError(CodeInvalidParameterValue, http.StatusBadRequest,
				"%s.member.%d must be a value, not a structure", name, e.index)
		}
		out = append(out, v)
	}
	return out, nil
}

// tags returns NAME.member.N.Key / .Value pairs. A missing Key is a
// validation error; a missing Value is the empty string, which IAM allows.
func (p params) tags(name string, v *validation) ([]Tag, *Error) {
	es, err := p.members(name)
	if err != nil {
		return nil, err
	}
	out := make([]Tag, 0, len(es))
	for _, e := range es {
		key, ok := e.fields["Key"]
		if !ok {
			v.Missing(lowerFirst(name) + "." + strconv.Itoa(e.index) + ".member.key")
			continue
		}
		out = append(out, Tag{Key: key, Value: e.fields["Value"]})
	}
	return out, nil
}

// policyARNs returns PolicyArns.member.N.arn in order.
func (p params) policyARNs(v *validation) ([]string, *Error) {
	es, err := p.members("PolicyArns")
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(es))
	for _, e := range es {
		arn, ok := e.fields["arn"]
		if !ok {
			v.Missing("policyArns." + strconv.Itoa(e.index) + ".member.arn")
			continue
		}
		out = append(out, arn)
	}
	return out, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
