package policy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Condition is one key test of a Condition block, e.g. operator
// "StringEquals", key "aws:username", values ["johndoe"]. Values given in
// the document as JSON booleans or numbers are kept as their JSON text.
type Condition struct {
	Operator string
	Key      string
	Values   []string
}

type opFamily int

const (
	famString opFamily = iota
	famNumeric
	famDate
	famBool
	famBinary
	famIP
	famARN
	famNull
)

type cmpKind int

const (
	cmpEq cmpKind = iota
	cmpEqFold
	cmpLike
	cmpLT
	cmpLE
	cmpGT
	cmpGE
)

type opSpec struct {
	fam     opFamily
	cmp     cmpKind
	negated bool // "matches none of the values"; true when the key is missing
}

// operatorTable lists every base condition operator AWS documents.
func operatorTable() []namedOp {
	return []namedOp{
		{"StringEquals", opSpec{famString, cmpEq, false}},
		{"StringNotEquals", opSpec{famString, cmpEq, true}},
		{"StringEqualsIgnoreCase", opSpec{famString, cmpEqFold, false}},
		{"StringNotEqualsIgnoreCase", opSpec{famString, cmpEqFold, true}},
		{"StringLike", opSpec{famString, cmpLike, false}},
		{"StringNotLike", opSpec{famString, cmpLike, true}},
		{"NumericEquals", opSpec{famNumeric, cmpEq, false}},
		{"NumericNotEquals", opSpec{famNumeric, cmpEq, true}},
		{"NumericLessThan", opSpec{famNumeric, cmpLT, false}},
		{"NumericLessThanEquals", opSpec{famNumeric, cmpLE, false}},
		{"NumericGreaterThan", opSpec{famNumeric, cmpGT, false}},
		{"NumericGreaterThanEquals", opSpec{famNumeric, cmpGE, false}},
		{"DateEquals", opSpec{famDate, cmpEq, false}},
		{"DateNotEquals", opSpec{famDate, cmpEq, true}},
		{"DateLessThan", opSpec{famDate, cmpLT, false}},
		{"DateLessThanEquals", opSpec{famDate, cmpLE, false}},
		{"DateGreaterThan", opSpec{famDate, cmpGT, false}},
		{"DateGreaterThanEquals", opSpec{famDate, cmpGE, false}},
		{"Bool", opSpec{famBool, cmpEq, false}},
		{"BinaryEquals", opSpec{famBinary, cmpEq, false}},
		{"IpAddress", opSpec{famIP, cmpEq, false}},
		{"NotIpAddress", opSpec{famIP, cmpEq, true}},
		{"ArnEquals", opSpec{famARN, cmpLike, false}},
		{"ArnLike", opSpec{famARN, cmpLike, false}},
		{"ArnNotEquals", opSpec{famARN, cmpLike, true}},
		{"ArnNotLike", opSpec{famARN, cmpLike, true}},
		{"Null", opSpec{famNull, cmpEq, false}},
	}
}

type namedOp struct {
	name string
	spec opSpec
}

type setQualifier int

const (
	qualNone setQualifier = iota
	qualForAll
	qualForAny
)

// compiledCondition is a Condition with its operator decoded and its values
// parsed once, at Parse time.
type compiledCondition struct {
	src      *Condition
	op       opSpec
	qual     setQualifier
	ifExists bool
	key      string // lower-cased

	strs  []template // famString (literal, or glob for Like), famARN via arns
	arns  []arnPattern
	nums  []float64
	times []time.Time
	bools []bool
	bins  [][]byte
	ips   []netip.Prefix
	null  []bool // Null: true = key must be absent
}

// decodeOperator splits "ForAnyValue:StringLikeIfExists" into its parts.
func decodeOperator(name string) (op opSpec, qual setQualifier, ifExists bool, err error) {
	base := name
	switch {
	case strings.HasPrefix(base, "ForAllValues:"):
		qual, base = qualForAll, strings.TrimPrefix(base, "ForAllValues:")
	case strings.HasPrefix(base, "ForAnyValue:"):
		qual, base = qualForAny, strings.TrimPrefix(base, "ForAnyValue:")
	}
	if b, ok := strings.CutSuffix(base, "IfExists"); ok && b != "" {
		ifExists, base = true, b
	}
	found := false
	for _, o := range operatorTable() {
		if o.name == base {
			op, found = o.spec, true
			break
		}
	}
	if !found {
		msg := fmt.Sprintf("condition operator %q is not valid", name)
		for _, o := range operatorTable() {
			if strings.EqualFold(o.name, base) {
				msg += fmt.Sprintf(" (operator names are case-sensitive: did you mean %q?)", o.name)
				break
			}
		}
		return op, qual, ifExists, errors.New(msg)
	}
	if op.fam == famNull && (ifExists || qual != qualNone) {
		return op, qual, ifExists, fmt.Errorf("condition operator %q is not valid: Null takes no IfExists suffix or set qualifier", name)
	}
	return op, qual, ifExists, nil
}

// compileCondition parses c's values for its operator. vars enables policy
// variables (Version 2012-10-17) in string and ARN values.
func compileCondition(c *Condition, vars bool) (compiledCondition, error) {
	op, qual, ifExists, err := decodeOperator(c.Operator)
	if err != nil {
		return compiledCondition{}, err
	}
	cc := compiledCondition{src: c, op: op, qual: qual, ifExists: ifExists, key: strings.ToLower(c.Key)}
	bad := func(v, want string) error {
		return fmt.Errorf("condition %s value %q for key %q is not %s", c.Operator, v, c.Key, want)
	}
	for _, v := range c.Values {
		switch op.fam {
		case famString:
			t, err := compileTemplate(v, vars, op.cmp == cmpLike)
			if err != nil {
				return cc, err
			}
			cc.strs = append(cc.strs, t)
		case famARN:
			p, err := compileARNPattern(v, vars)
			if err != nil {
				return cc, err
			}
			cc.arns = append(cc.arns, p)
		case famNumeric:
			n, ok := parseNumber(v)
			if !ok {
				return cc, bad(v, "a number")
			}
			cc.nums = append(cc.nums, n)
		case famDate:
			t, ok := parseDate(v)
			if !ok {
				return cc, bad(v, "a date (ISO 8601, e.g. 2024-01-31T12:00:00Z, or epoch seconds)")
			}
			cc.times = append(cc.times, t)
		case famBool:
			b, ok := parseBool(v)
			if !ok {
				return cc, bad(v, `"true" or "false"`)
			}
			cc.bools = append(cc.bools, b)
		case famBinary:
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return cc, bad(v, "base64")
			}
			cc.bins = append(cc.bins, b)
		case famIP:
			p, ok := parseCIDR(v)
			if !ok {
				return cc, bad(v, "an IP address or CIDR block (e.g. 203.0.113.0/24 or 2001:db8::/32)")
			}
			cc.ips = append(cc.ips, p)
		case famNull:
			b, ok := parseBool(v)
			if !ok {
				return cc, bad(v, `"true" or "false"`)
			}
			cc.null = append(cc.null, b)
		}
	}
	return cc, nil
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parseNumber accepts decimal integers and decimals, with an optional sign and
// exponent; not hex, Inf or NaN.
func parseNumber(s string) (float64, bool) {
	if s == "" {
		return 0, false
	}
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	digits := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			exp++
		}
		if exp == 0 {
			return 0, false
		}
	}
	if i != len(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil { // out of range
		return 0, false
	}
	return f, true
}

// parseDate accepts the W3C profile of ISO 8601 that AWS documents (a
// missing zone means UTC) and epoch seconds. A string of digits is taken as
// epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if isEpoch(s) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.Abs(f) > 1e12 {
			return time.Time{}, false
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
	}
	for _, layout := range [...]string{
		"2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04",
		"2006-01-02",
		"2006-01",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// isEpoch reports whether s looks like epoch seconds: an optional minus sign,
// digits, and an optional fraction.
func isEpoch(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || !allDigits(intPart) {
		return false
	}
	return !hasFrac || (frac != "" && allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() {
			// ::ffff:a.b.c.d/n: compare as IPv4 when n covers the mapped part.
			if p.Bits() < 96 {
				return p.Masked(), true
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// eval reports whether the condition holds for ctx.
func (cc *compiledCondition) eval(ctx *Context) bool {
	vals := ctx.lookup(cc.key)
	if cc.op.fam == famNull {
		absent := len(vals) == 0
		for _, wantAbsent := range cc.null {
			if wantAbsent == absent {
				return true
			}
		}
		return false
	}
	if len(vals) == 0 {
		switch {
		case cc.qual == qualForAll:
			return true // vacuous truth: every one of no values matches
		case cc.ifExists:
			return true
		case cc.qual == qualForAny:
			return false
		default:
			return cc.op.negated
		}
	}
	switch cc.qual {
	case qualForAll:
		for _, v := range vals {
			if !cc.single(v, ctx) {
				return false
			}
		}
		return true
	case qualForAny:
		for _, v := range vals {
			if cc.single(v, ctx) {
				return true
			}
		}
		return false
	}
	if cc.op.negated {
		// Negated operators hold when no request value matches any policy value.
		for _, v := range vals {
			if !cc.single(v, ctx) {
				return false
			}
		}
		return true
	}
	for _, v := range vals {
		if cc.single(v, ctx) {
			return true
		}
	}
	return false
}

// single applies the operator to one request value: for a positive operator,
// whether it matches any policy value; for a negated one, whether it matches
// none.
func (cc *compiledCondition) single(v string, ctx *Context) bool {
	return cc.matchAny(v, ctx) != cc.op.negated
}

// matchAny reports whether request value v matches at least one policy value
// under the (un-negated) operator.
func (cc *compiledCondition) matchAny(v string, ctx *Context) bool {
	switch cc.op.fam {
	case famString:
		for i := range cc.strs {
			p, ok := cc.strs[i].resolve(ctx)
			if !ok {
				continue // unresolved variable: this value matches nothing
			}
			switch cc.op.cmp {
			case cmpEq:
				if v == p {
					return true
				}
			case cmpEqFold:
				if strings.EqualFold(v, p) {
					return true
				}
			case cmpLike:
				if globMatch(p, v, false) {
					return true
				}
			}
		}
	case famARN:
		parts, isARN := arnSegments(v)
		if !isARN {
			return false
		}
		for i := range cc.arns {
			if m, _ := cc.arns[i].match(v, &parts, true, ctx); m {
				return true
			}
		}
	case famNumeric:
		x, ok := parseNumber(v)
		if !ok {
			return false
		}
		for _, n := range cc.nums {
			if compareOrdered(x, n, cc.op.cmp) {
				return true
			}
		}
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, p := range cc.times {
			if compareOrdered(t.Compare(p), 0, cc.op.cmp) {
				return true
			}
		}
	case famBool:
		b, ok := parseBool(v)
		if !ok {
			return false
		}
		for _, p := range cc.bools {
			if b == p {
				return true
			}
		}
	case famBinary:
		raw, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			raw = []byte(v)
		}
		for _, p := range cc.bins {
			if bytes.Equal(raw, p) {
				return true
			}
		}
	case famIP:
		a, err := netip.ParseAddr(v)
		if err != nil {
			return false
		}
		a = a.Unmap().WithZone("")
		for _, p := range cc.ips {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

func compareOrdered[T int | float64](a, b T, c cmpKind) bool {
	switch c {
	case cmpEq:
		return a == b
	case cmpLT:
		return a < b
	case cmpLE:
		return a <= b
	case cmpGT:
		return a > b
	case cmpGE:
		return a >= b
	}
	return false
}
