package policy

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// Policy language versions.
const (
	Version2012 = "2012-10-17" // current; the only one with policy variables
	Version2008 = "2008-10-17" // original; also the meaning of an absent Version
)

// Kind says where a policy is used. It decides which elements are required
// or forbidden and the size limit.
type Kind int

const (
	// KindManaged is a managed identity-based policy (6,144 characters).
	KindManaged Kind = iota
	// KindBoundary is a managed policy used as a permissions boundary (6,144).
	KindBoundary
	// KindInlineUser is an inline policy of an IAM user (2,048).
	KindInlineUser
	// KindInlineGroup is an inline policy of an IAM group (5,120).
	KindInlineGroup
	// KindInlineRole is an inline policy of an IAM role (10,240).
	KindInlineRole
	// KindSession is a session policy passed to AssumeRole* or
	// GetFederationToken (2,048 characters of plain text, whitespace
	// included, from U+0009, U+000A, U+000D and U+0020 to U+00FF).
	KindSession
	// KindTrust is a role trust policy (2,048, the default IAM quota).
	// Principal is required, NotPrincipal is forbidden, Resource is optional.
	KindTrust
	// KindResource is a resource-based policy such as a bucket or queue
	// policy (20,480). Principal or NotPrincipal is required, Resource is
	// optional (it defaults to the resource the policy is attached to).
	KindResource
	kindCount // number of kinds; not a kind
)

func (k Kind) String() string {
	switch k {
	case KindManaged:
		return "managed policy"
	case KindBoundary:
		return "permissions boundary"
	case KindInlineUser:
		return "user inline policy"
	case KindInlineGroup:
		return "group inline policy"
	case KindInlineRole:
		return "role inline policy"
	case KindSession:
		return "session policy"
	case KindTrust:
		return "role trust policy"
	case KindResource:
		return "resource-based policy"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// SizeLimit returns the AWS size limit for the kind, in characters. IAM
// does not count whitespace against it, except for session policies.
// The inline limits are per principal (all inline policies together) in
// AWS; Parse applies them to the one document.
func (k Kind) SizeLimit() int {
	switch k {
	case KindManaged, KindBoundary:
		return 6144
	case KindInlineUser:
		return 2048
	case KindInlineGroup:
		return 5120
	case KindInlineRole:
		return 10240
	case KindSession:
		return 2048
	case KindTrust:
		return 2048
	case KindResource:
		return 20480
	}
	return 0
}

// identityBased reports whether statements of this kind name no principal.
func (k Kind) identityBased() bool { return k < KindTrust }

// ParseKind maps a short name to a Kind: "managed", "boundary",
// "inline-user", "inline-group", "inline-role", "session", "trust",
// "resource".
func ParseKind(s string) (Kind, error) {
	for _, k := range []struct {
		name string
		kind Kind
	}{
		{"managed", KindManaged}, {"boundary", KindBoundary},
		{"inline-user", KindInlineUser}, {"inline-group", KindInlineGroup},
		{"inline-role", KindInlineRole}, {"session", KindSession},
		{"trust", KindTrust}, {"resource", KindResource},
	} {
		if strings.EqualFold(s, k.name) {
			return k.kind, nil
		}
	}
	return 0, fmt.Errorf("policy: unknown kind %q (want managed, boundary, inline-user, inline-group, inline-role, session, trust or resource)", s)
}

// Effect is a statement's Effect.
type Effect string

// The two effects.
const (
	Allow Effect = "Allow"
	Deny  Effect = "Deny"
)

// Statement is one statement of a document, as written (string-or-array
// values normalised to slices). Exactly one of Action/NotAction is non-nil;
// at most one of Resource/NotResource and of Principal/NotPrincipal.
type Statement struct {
	Sid          string
	Effect       Effect
	Principal    *Principals
	NotPrincipal *Principals
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	Condition    []Condition // sorted by Operator, then Key
}

func (s *Statement) clone() Statement {
	c := *s
	c.Principal = s.Principal.clone()
	c.NotPrincipal = s.NotPrincipal.clone()
	c.Action = slices.Clone(s.Action)
	c.NotAction = slices.Clone(s.NotAction)
	c.Resource = slices.Clone(s.Resource)
	c.NotResource = slices.Clone(s.NotResource)
	c.Condition = slices.Clone(s.Condition)
	for i := range c.Condition {
		c.Condition[i].Values = slices.Clone(c.Condition[i].Values)
	}
	return c
}

// Document is a parsed, validated policy. Its patterns are compiled once at
// parse time. A Document is immutable and safe for concurrent use.
type Document struct {
	kind       Kind
	name       string
	version    string // "" when absent
	id         string
	statements []Statement
	compiled   []compiledStatement
}

// Kind returns the kind the document was parsed as.
func (d *Document) Kind() Kind { return d.kind }

// Name returns the label given in [Options.Name].
func (d *Document) Name() string { return d.name }

// Version returns the Version element, or "" when the document has none
// (which AWS treats as 2008-10-17).
func (d *Document) Version() string { return d.version }

// ID returns the Id element, or "".
func (d *Document) ID() string { return d.id }

// Statements returns a copy of the statements.
func (d *Document) Statements() []Statement {
	out := make([]Statement, len(d.statements))
	for i := range d.statements {
		out[i] = d.statements[i].clone()
	}
	return out
}

// Options control [ParseOptions].
type Options struct {
	// Kind selects the rules and the default size limit.
	Kind Kind
	// Name labels the document in decisions and explanations, e.g.
	// "inline:s3-read" or a managed policy ARN.
	Name string
	// MaxSize overrides Kind.SizeLimit(): 0 keeps it, a negative value
	// disables the check.
	MaxSize int
}

// Parse parses and validates a policy document of the given kind.
func Parse(data []byte, kind Kind) (*Document, error) {
	return ParseOptions(data, Options{Kind: kind})
}

// ParseOptions parses and validates a policy document. Errors are
// *SizeError, *SyntaxError or *ValidationError (or a plain error when
// opts.Kind is not one of the Kind constants).
func ParseOptions(data []byte, opts Options) (*Document, error) {
	if opts.Kind < 0 || opts.Kind >= kindCount {
		return nil, fmt.Errorf("policy: unknown kind %d", int(opts.Kind))
	}
	if err := checkSize(data, opts); err != nil {
		return nil, err
	}
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	p := docParser{kind: opts.Kind, stmt: -1}
	d, err := p.document(root)
	if err != nil {
		return nil, err
	}
	d.kind, d.name = opts.Kind, opts.Name
	return d, nil
}

func checkSize(data []byte, opts Options) error {
	limit := opts.MaxSize
	if limit == 0 {
		limit = opts.Kind.SizeLimit()
	}
	if opts.Kind == KindSession {
		for i, r := range string(data) {
			if !(r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0xFF)) {
				return &ValidationError{Statement: -1, Msg: fmt.Sprintf(
					"session policy contains character %U at byte %d; only U+0009, U+000A, U+000D and U+0020 through U+00FF are allowed", r, i)}
			}
		}
	}
	if limit < 0 {
		return nil
	}
	n := 0
	if opts.Kind == KindSession {
		n = utf8.RuneCount(data)
	} else {
		for _, r := range string(data) {
			if !unicode.IsSpace(r) {
				n++
			}
		}
	}
	if n > limit {
		return &SizeError{Kind: opts.Kind, Size: n, Limit: limit}
	}
	return nil
}

// docParser validates a JSON tree into a Document.
type docParser struct {
	kind Kind
	vars bool
	stmt int
	sid  string
}

func (p *docParser) errf(field, format string, args ...any) *ValidationError {
	return &ValidationError{Statement: p.stmt, Sid: p.sid, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// unknownKey builds the error for an element that is not part of the grammar,
// with a hint when only its case is wrong.
func (p *docParser) unknownKey(where, key string, known []string) *ValidationError {
	msg := fmt.Sprintf("%s element %q is not allowed (allowed: %s)", where, key, strings.Join(known, ", "))
	for _, k := range known {
		if strings.EqualFold(k, key) {
			msg = fmt.Sprintf("%s element %q is not allowed: element names are case-sensitive, did you mean %q?", where, key, k)
		}
	}
	return p.errf(key, "%s", msg)
}

func (p *docParser) document(root *node) (*Document, error) {
	if root.kind != nodeObject {
		return nil, p.errf("", "policy document must be a JSON object, got %s", root.kind)
	}
	known := []string{"Version", "Id", "Statement"}
	d := &Document{}
	for i, k := range root.keys {
		v := root.vals[i]
		switch k {
		case "Version":
			if v.kind != nodeString {
				return nil, p.errf("Version", "Version must be a string, got %s", v.kind)
			}
			if v.text != Version2012 && v.text != Version2008 {
				return nil, p.errf("Version", "Version must be %q or %q, got %q", Version2012, Version2008, v.text)
			}
			d.version = v.text
		case "Id":
			if v.kind != nodeString {
				return nil, p.errf("Id", "Id must be a string, got %s", v.kind)
			}
			d.id = v.text
		case "Statement":
		default:
			return nil, p.unknownKey("top-level", k, known)
		}
	}
	p.vars = d.version == Version2012
	st := root.get("Statement")
	if st == nil {
		return nil, p.errf("Statement", "policy document has no Statement element")
	}
	var elems []*node
	switch st.kind {
	case nodeObject:
		elems = []*node{st}
	case nodeArray:
		elems = st.vals
		if len(elems) == 0 {
			return nil, p.errf("Statement", "Statement must contain at least one statement")
		}
	default:
		return nil, p.errf("Statement", "Statement must be an object or an array of objects, got %s", st.kind)
	}
	sids := make(map[string]int)
	for i, e := range elems {
		p.stmt, p.sid = i, ""
		s, err := p.statement(e)
		if err != nil {
			return nil, err
		}
		if s.Sid != "" {
			if j, dup := sids[s.Sid]; dup {
				return nil, p.errf("Sid", "Sid %q is already used by Statement[%d]; Sids must be unique within a policy", s.Sid, j)
			}
			sids[s.Sid] = i
		}
		cs, err := p.compile(&s)
		if err != nil {
			return nil, err
		}
		d.statements = append(d.statements, s)
		d.compiled = append(d.compiled, cs)
	}
	for i := range d.compiled {
		d.compiled[i].src = &d.statements[i]
		for j := range d.compiled[i].conds {
			d.compiled[i].conds[j].src = &d.statements[i].Condition[j]
		}
	}
	return d, nil
}

func (p *docParser) statement(n *node) (Statement, error) {
	var s Statement
	if n.kind != nodeObject {
		return s, p.errf("", "each statement must be an object, got %s", n.kind)
	}
	// Read the Sid first so that every later error can name it.
	if v := n.get("Sid"); v != nil {
		if v.kind != nodeString {
			return s, p.errf("Sid", "Sid must be a string, got %s", v.kind)
		}
		s.Sid = v.text
		p.sid = v.text
		if p.kind != KindResource {
			for _, r := range s.Sid {
				if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
					return s, p.errf("Sid", "Sid %q may contain only ASCII letters and digits in an IAM policy", s.Sid)
				}
			}
		}
	}
	known := []string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
	var err error
	for i, k := range n.keys {
		v := n.vals[i]
		switch k {
		case "Sid":
		case "Effect":
			if v.kind != nodeString {
				return s, p.errf("Effect", "Effect must be \"Allow\" or \"Deny\", got %s", v.kind)
			}
			if v.text != string(Allow) && v.text != string(Deny) {
				return s, p.errf("Effect", "Effect must be \"Allow\" or \"Deny\", got %q", v.text)
			}
			s.Effect = Effect(v.text)
		case "Action", "NotAction":
			var list []string
			if list, err = p.stringList(k, v); err != nil {
				return s, err
			}
			for _, a := range list {
				if err := validateAction(a); err != nil {
					return s, p.errf(k, "%s: %v", k, err)
				}
			}
			if k == "Action" {
				s.Action = list
			} else {
				s.NotAction = list
			}
		case "Resource", "NotResource":
			var list []string
			if list, err = p.stringList(k, v); err != nil {
				return s, err
			}
			for _, r := range list {
				if err := validateResource(r); err != nil {
					return s, p.errf(k, "%s: %v", k, err)
				}
			}
			if k == "Resource" {
				s.Resource = list
			} else {
				s.NotResource = list
			}
		case "Principal", "NotPrincipal":
			ps, err := p.principals(k, v)
			if err != nil {
				return s, err
			}
			if k == "Principal" {
				s.Principal = ps
			} else {
				s.NotPrincipal = ps
			}
		case "Condition":
			if s.Condition, err = p.conditions(v); err != nil {
				return s, err
			}
		default:
			return s, p.unknownKey("statement", k, known)
		}
	}
	return s, p.checkStatement(&s, n)
}

// checkStatement enforces the element combinations for the document kind.
func (p *docParser) checkStatement(s *Statement, n *node) error {
	if n.get("Effect") == nil {
		return p.errf("Effect", "statement has no Effect; it must be \"Allow\" or \"Deny\"")
	}
	switch {
	case s.Action == nil && s.NotAction == nil:
		return p.errf("Action", "statement must have an Action or a NotAction element")
	case s.Action != nil && s.NotAction != nil:
		return p.errf("NotAction", "statement must not have both Action and NotAction")
	case s.Resource != nil && s.NotResource != nil:
		return p.errf("NotResource", "statement must not have both Resource and NotResource")
	case s.Principal != nil && s.NotPrincipal != nil:
		return p.errf("NotPrincipal", "statement must not have both Principal and NotPrincipal")
	}
	if p.kind.identityBased() {
		if s.Principal != nil || s.NotPrincipal != nil {
			field := "Principal"
			if s.Principal == nil {
				field = "NotPrincipal"
			}
			return p.errf(field, "a %s must not specify a %s; principals belong in resource-based and trust policies", p.kind, field)
		}
		if s.Resource == nil && s.NotResource == nil {
			return p.errf("Resource", "statement must have a Resource or a NotResource element")
		}
		return nil
	}
	switch p.kind {
	case KindTrust:
		if s.NotPrincipal != nil {
			return p.errf("NotPrincipal", "a role trust policy must not use NotPrincipal; name the trusted principals in Principal")
		}
		if s.Principal == nil {
			return p.errf("Principal", "every statement of a role trust policy must have a Principal element")
		}
	case KindResource:
		if s.Principal == nil && s.NotPrincipal == nil {
			return p.errf("Principal", "every statement of a resource-based policy must have a Principal or NotPrincipal element")
		}
		if s.NotPrincipal != nil && s.Effect != Deny {
			return p.errf("NotPrincipal", "NotPrincipal may be used only with \"Effect\": \"Deny\"")
		}
	}
	return nil
}

// stringList reads a string or a non-empty array of strings.
func (p *docParser) stringList(field string, v *node) ([]string, error) {
	switch v.kind {
	case nodeString:
		return []string{v.text}, nil
	case nodeArray:
		if len(v.vals) == 0 {
			return nil, p.errf(field, "%s must not be an empty array", field)
		}
		out := make([]string, len(v.vals))
		for i, e := range v.vals {
			if e.kind != nodeString {
				return nil, p.errf(field, "%s[%d] must be a string, got %s", field, i, e.kind)
			}
			out[i] = e.text
		}
		return out, nil
	}
	return nil, p.errf(field, "%s must be a string or an array of strings, got %s", field, v.kind)
}

// validateAction checks "service:Action" (wildcards allowed) or "*".
func validateAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" {
		return fmt.Errorf("action %q must be \"*\" or prefixed by a service, e.g. \"s3:GetObject\"", a)
	}
	for _, part := range []string{svc, name} {
		for _, r := range part {
			if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.*?", r))) {
				return fmt.Errorf("action %q contains %q; actions use letters, digits, '-', '_', '.', and the wildcards '*' and '?'", a, r)
			}
		}
	}
	return nil
}

// validateResource checks "*" or an ARN pattern.
func validateResource(r string) error {
	if r == "*" {
		return nil
	}
	if !strings.HasPrefix(r, "arn:") {
		return fmt.Errorf("resource %q must be an ARN (arn:partition:service:region:account:resource) or \"*\"", r)
	}
	if !arn.IsARN(r) && !strings.HasSuffix(r, "*") {
		return fmt.Errorf("resource %q must have six colon-separated parts (arn:partition:service:region:account:resource), or end in '*'", r)
	}
	return nil
}

func (p *docParser) principals(field string, v *node) (*Principals, error) {
	switch v.kind {
	case nodeString:
		if v.text != "*" {
			return nil, p.errf(field, "%s must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:root\"}, got %q", field, v.text)
		}
		return &Principals{All: true}, nil
	case nodeObject:
	default:
		return nil, p.errf(field, "%s must be \"*\" or an object, got %s", field, v.kind)
	}
	if len(v.keys) == 0 {
		return nil, p.errf(field, "%s must name at least one principal", field)
	}
	ps := &Principals{}
	known := []string{"AWS", "CanonicalUser", "Federated", "Service"}
	for i, k := range v.keys {
		var dst *[]string
		switch k {
		case "AWS":
			dst = &ps.AWS
		case "Federated":
			dst = &ps.Federated
		case "Service":
			dst = &ps.Service
		case "CanonicalUser":
			dst = &ps.CanonicalUser
		default:
			return nil, p.unknownKey(field, k, known)
		}
		list, err := p.stringList(field+"."+k, v.vals[i])
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if err := validatePrincipalValue(k, e); err != nil {
				return nil, p.errf(field+"."+k, "%s: %v", field, err)
			}
		}
		*dst = list
	}
	return ps, nil
}

func (p *docParser) conditions(v *node) ([]Condition, error) {
	if v.kind != nodeObject {
		return nil, p.errf("Condition", "Condition must be an object of operators, e.g. {\"StringEquals\": {\"aws:username\": \"johndoe\"}}, got %s", v.kind)
	}
	var out []Condition
	for i, op := range v.keys {
		field := "Condition." + op
		if _, _, _, err := decodeOperator(op); err != nil {
			return nil, p.errf(field, "%v", err)
		}
		block := v.vals[i]
		if block.kind != nodeObject {
			return nil, p.errf(field, "condition operator %s must map condition keys to values, got %s", op, block.kind)
		}
		if len(block.keys) == 0 {
			return nil, p.errf(field, "condition operator %s has no condition keys", op)
		}
		for j, key := range block.keys {
			kf := field + "." + key
			if svc, name, ok := strings.Cut(key, ":"); !ok || svc == "" || name == "" {
				return nil, p.errf(kf, "condition key %q must be prefixed by a service, e.g. \"aws:username\" or \"s3:prefix\"", key)
			}
			vals, err := p.conditionValues(kf, block.vals[j])
			if err != nil {
				return nil, err
			}
			out = append(out, Condition{Operator: op, Key: key, Values: vals})
		}
	}
	slices.SortStableFunc(out, func(a, b Condition) int {
		if c := strings.Compare(a.Operator, b.Operator); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return out, nil
}

// conditionValues reads a scalar or a non-empty array of scalars (strings,
// booleans, numbers).
func (p *docParser) conditionValues(field string, v *node) ([]string, error) {
	scalar := func(n *node) (string, bool) {
		switch n.kind {
		case nodeString, nodeNumber, nodeBool:
			return n.text, true
		}
		return "", false
	}
	if v.kind == nodeArray {
		if len(v.vals) == 0 {
			return nil, p.errf(field, "condition values must not be an empty array")
		}
		out := make([]string, len(v.vals))
		for i, e := range v.vals {
			s, ok := scalar(e)
			if !ok {
				return nil, p.errf(field, "condition value [%d] must be a string, number or boolean, got %s", i, e.kind)
			}
			out[i] = s
		}
		return out, nil
	}
	s, ok := scalar(v)
	if !ok {
		return nil, p.errf(field, "condition value must be a string, number or boolean (or an array of them), got %s", v.kind)
	}
	return []string{s}, nil
}

// compile pre-compiles a validated statement's patterns.
func (p *docParser) compile(s *Statement) (compiledStatement, error) {
	cs := compiledStatement{deny: s.Effect == Deny}
	actions := s.Action
	if s.NotAction != nil {
		actions, cs.notAction = s.NotAction, true
	}
	for _, a := range actions {
		cs.actions = append(cs.actions, strings.ToLower(a))
	}
	resources := s.Resource
	if s.NotResource != nil {
		resources, cs.notResource = s.NotResource, true
	}
	cs.anyResource = resources == nil // omitted in a resource-based policy: the attached resource
	for _, r := range resources {
		ap, err := compileARNPattern(r, p.vars)
		if err != nil {
			field := "Resource"
			if cs.notResource {
				field = "NotResource"
			}
			return cs, p.errf(field, "%s %q: %v", field, r, err)
		}
		cs.resources = append(cs.resources, ap)
	}
	for i := range s.Condition {
		cc, err := compileCondition(&s.Condition[i], p.vars)
		if err != nil {
			return cs, p.errf("Condition."+s.Condition[i].Operator+"."+s.Condition[i].Key, "%v", err)
		}
		cs.conds = append(cs.conds, cc)
	}
	return cs, nil
}
