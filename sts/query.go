package sts

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/imdsemu/imdsemu/internal/sigv4"
)

// MaxBodyBytes caps a request body. The largest legitimate STS request is an
// AssumeRoleWithSAML with a 100,000-character assertion, URL-encoded.
const MaxBodyBytes = 512 << 10

// maxListIndex bounds the N of NAME.member.N; no STS list is longer than 50.
const maxListIndex = 1000

// params are the Query API parameters of one request: the query string and,
// for POST, the form-encoded body, each decoded only when asked for. Names
// are case-sensitive, as in AWS.
type params struct {
	query, body sigv4.Query
}

// parseParams decodes the query string and the body (which must be
// application/x-www-form-urlencoded when not empty).
func parseParams(rawQuery string, body []byte) (params, *Error) {
	q, err := sigv4.ParseQuery(rawQuery)
	if err != nil {
		return params{}, newError(CodeMalformedQueryString, http.StatusBadRequest,
			"The query string is not valid: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
	}
	return paramsOf(q, body)
}

// paramsOf adds the body's parameters to the query's. Body parameters come
// after query parameters, so get returns the query's value first.
func paramsOf(q sigv4.Query, body []byte) (params, *Error) {
	p := params{query: q}
	if len(body) > 0 {
		bv, err := sigv4.ParseQuery(string(body))
		if err != nil {
			return params{}, newError(CodeMalformedQueryString, http.StatusBadRequest,
				"The request body is not valid application/x-www-form-urlencoded: %s", strings.TrimPrefix(err.Error(), "invalid URL escape "))
		}
		p.body = bv
	}
	return p, nil
}

// get returns the first value of name, or "".
func (p params) get(name string) string {
	v, _ := p.lookup(name)
	return v
}

// lookup returns the first value of name and whether it is present.
func (p params) lookup(name string) (string, bool) {
	if v, ok := p.query.Lookup(name); ok {
		return v, true
	}
	return p.body.Lookup(name)
}

// all calls yield with every parameter, the query's then the body's.
func (p params) all(yield func(k, v string) bool) {
	for k, v := range p.query.All {
		if !yield(k, v) {
			return
		}
	}
	p.body.All(yield)
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
	for key, val := range p.all {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
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
		if _, dup := e.fields[field]; !dup { // the first value counts
			e.fields[field] = val
		}
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
