package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imdsemu/imdsemu/rolestore"
)

const (
	// maxErrors caps how many problems Parse reports at once.
	maxErrors = 20
	// maxDocument caps a policy document converted from YAML, in bytes.
	maxDocument = 1 << 20
)

// Immutable after package initialisation and safe for concurrent use.
var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Keys allowed in each mapping of the file.
func topKeys() []string {
	return []string{"metadata-addr", "admin-addr", "data-dir", "http-tokens", "http-endpoint", "log-format",
		"rotation", "instance", "accounts", "roles", "instance-profiles",
		"hop-limit", "ipv6-addr", "ecs-addr", "extended-credentials", "instance-metadata-tags", "throttle",
		"scenarios", "start-scenario",
		"sts-addr", "users", "oidc-providers", "saml-providers"}
}
func rotationKeys() []string { return []string{"interval", "session-duration"} }
func instanceKeys() []string {
	return append([]string{"id", "type", "region", "availability-zone", "profile", "account"}, instanceMetadataKeys()...)
}
func accountKeys() []string { return []string{"id", "alias"} }
func roleKeys() []string {
	return []string{"name", "account", "path", "id", "description", "trust-policy", "policies", "max-session-duration", "tags"}
}
func profileKeys() []string { return []string{"name", "account", "path", "id", "role", "roles"} }

// Parse parses a config file's contents; name is used in errors. Settings
// the file leaves out keep Default's values. If the file declares any
// accounts, roles or instance profiles, the seed is exactly those; otherwise
// it is Default's. See the package documentation for the format.
//
// Errors are *Error values naming file, line and field; when there are
// several they are joined with errors.Join, in file order.
func Parse(name string, data []byte) (*File, error) {
	d := &decoder{file: name, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	root, err := d.parse(data)
	if err != nil {
		return nil, err
	}
	f := Default()
	if root != nil {
		d.decodeFile(root, f)
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	if err := f.Settings.Validate(); err != nil {
		var e *Error
		for _, one := range unjoin(err) {
			if errors.As(one, &e) {
				d.addAt(e.Field, e.Msg)
			}
		}
	}
	return f, d.err()
}

// decoder walks the YAML node tree, collecting errors and remembering where
// each value was so that later validation errors can point at it.
type decoder struct {
	file string
	errs []*Error
	vals map[string]*yaml.Node // YAML path -> value node
	keys map[string]*yaml.Node // YAML path -> key node

	mergeDepth int // guards against merge keys that refer to themselves

	// defaultAccount is the account of an entity that names none; "" when
	// several accounts are declared. Set by decodeSeed.
	defaultAccount string
}

// account reads m's "account" into dst, or the default account.
func (d *decoder) account(m *mapping, dst *string) {
	if d.str(m, "account", dst) {
		return
	}
	if d.defaultAccount == "" {
		d.errorAt(m.node, join(m.path, "account"), "is required when several accounts are declared")
		return
	}
	*dst = d.defaultAccount
}

func (d *decoder) errorAt(n *yaml.Node, field, msg string) {
	e := &Error{File: d.file, Field: field, Msg: msg}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// addAt reports an error at the value recorded for field, or at its nearest
// recorded parent.
func (d *decoder) addAt(field, msg string) {
	d.errorAt(d.find(field), field, msg)
}

// addAtOr is addAt, falling back to the node of another path when field and
// its parents are not in the file.
func (d *decoder) addAtOr(field, fallback, msg string) {
	n := d.find(field)
	if n == nil {
		n = d.find(fallback)
	}
	d.errorAt(n, field, msg)
}

// find returns the node recorded for path or its nearest recorded parent.
func (d *decoder) find(path string) *yaml.Node {
	for p := path; p != ""; p = parentPath(p) {
		if n := d.vals[p]; n != nil {
			return n
		}
	}
	return nil
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i], d.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	errs := d.errs
	if len(errs) > maxErrors {
		errs = errs[:maxErrors]
	}
	if len(errs) == 1 {
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// parse decodes the YAML stream and returns its root mapping, or nil for an
// empty file.
func (d *decoder) parse(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, d.syntaxError(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &Error{File: d.file, Line: extra.Line, Column: extra.Column, Msg: "only one YAML document is allowed"}
	case !errors.Is(err, io.EOF):
		return nil, d.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{File: d.file, Line: root.Line, Column: root.Column, Msg: "the file must be a mapping of settings, got " + kindName(root)}
	}
	return root, nil
}

func (d *decoder) syntaxError(err error) error {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: d.file, Line: line, Msg: m[2]}
	}
	return &Error{File: d.file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// mapping is a decoded YAML mapping: its value nodes by key.
type mapping struct {
	path  string
	node  *yaml.Node
	vals  map[string]*yaml.Node
	order []string
}

func (m *mapping) has(key string) bool { _, ok := m.vals[key]; return ok }

// mapping checks that n is a mapping (null counts as empty) with string keys,
// no duplicates and, when known is not nil, only known keys. Merge keys (<<)
// are honoured. It records where every value is.
func (d *decoder) mapping(n *yaml.Node, path string, known []string) *mapping {
	m := &mapping{path: path, node: n, vals: map[string]*yaml.Node{}}
	rn := resolve(n)
	if isNull(rn) {
		return m
	}
	if rn.Kind != yaml.MappingNode {
		d.errorAt(n, path, "must be a mapping, got "+kindName(rn))
		return nil
	}
	var merges []*yaml.Node
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(rn.Content); i += 2 {
		k, v := resolve(rn.Content[i]), rn.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k, path, "keys must be strings, got "+kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		field := join(path, k.Value)
		if prev, dup := seen[k.Value]; dup {
			d.errorAt(k, field, fmt.Sprintf("duplicate key %q (first at line %d)", k.Value, prev.Line))
			continue
		}
		seen[k.Value] = k
		// Top-level keys starting with "x-" are ignored, as in Compose
		// files: a place for anchors shared by several entities.
		if path == "" && strings.HasPrefix(k.Value, "x-") {
			continue
		}
		if known != nil && !contains(known, k.Value) {
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorAt(k, field, msg)
			continue
		}
		m.add(d, k.Value, k, v)
	}
	// Merged keys fill in what the mapping does not set itself.
	if len(merges) > 0 {
		d.mergeDepth++
		defer func() { d.mergeDepth-- }()
		if d.mergeDepth > 16 {
			d.errorAt(rn, path, "merge keys (<<) nest too deeply or refer to themselves")
			return m
		}
	}
	for _, mv := range merges {
		srcs := []*yaml.Node{resolve(mv)}
		if srcs[0].Kind == yaml.SequenceNode {
			srcs = srcs[0].Content
		}
		for _, src := range srcs {
			src = resolve(src)
			if src.Kind != yaml.MappingNode {
				d.errorAt(mv, path, "<< must merge a mapping or a list of mappings")
				continue
			}
			sub := d.mapping(src, path, known)
			if sub == nil {
				continue
			}
			for _, key := range sub.order {
				if !m.has(key) {
					m.add(d, key, d.keys[join(path, key)], sub.vals[key])
				}
			}
		}
	}
	return m
}

func (m *mapping) add(d *decoder, key string, k, v *yaml.Node) {
	field := join(m.path, key)
	m.vals[key] = v
	m.order = append(m.order, key)
	d.vals[field] = v
	d.keys[field] = k
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the known key closest to an unknown one, or "".
func suggest(key string, known []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(s))
	}
	nk := norm(key)
	best, bestDist := "", 3
	for _, k := range known {
		nv := norm(k)
		if nv == nk || (len(nk) >= 3 && strings.HasPrefix(nv, nk)) {
			return k
		}
		if dist := levenshtein(nk, nv); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
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

// policies decodes the inline policies at m's "policies": a mapping of
// name to document (JSON string or YAML mapping). nil when there are none.
func (d *decoder) policies(m *mapping, path string) map[string]string {
	n, ok := m.vals["policies"]
	if !ok {
		return nil
	}
	pm := d.mapping(n, join(path, "policies"), nil)
	if pm == nil || len(pm.order) == 0 {
		return nil
	}
	out := make(map[string]string, len(pm.order))
	for _, name := range pm.order {
		out[name] = d.document(pm.vals[name], join(pm.path, name))
	}
	return out
}

// tags decodes m's "tags" mapping into tags, in file order.
func (d *decoder) tags(m *mapping, path string) []rolestore.Tag {
	n, ok := m.vals["tags"]
	if !ok {
		return nil
	}
	tm := d.mapping(n, join(path, "tags"), nil)
	if tm == nil {
		return nil
	}
	var out []rolestore.Tag
	for _, key := range tm.order {
		t := rolestore.Tag{Key: key}
		d.str(tm, key, &t.Value)
		out = append(out, t)
	}
	return out
}

// str sets *dst to the scalar at key, if the key is present and not null.
// Any scalar is taken as written: account IDs may be unquoted.
func (d *decoder) str(m *mapping, key string, dst *string) bool {
	n, ok := m.vals[key]
	if !ok {
		return false
	}
	rn := resolve(n)
	if isNull(rn) {
		return false
	}
	if rn.Kind != yaml.ScalarNode {
		d.errorAt(n, join(m.path, key), "must be a string, got "+kindName(rn))
		return false
	}
	*dst = rn.Value
	return true
}

// duration sets *dst to the duration at key: a Go duration or whole seconds.
func (d *decoder) duration(m *mapping, key string, dst *time.Duration) {
	n, ok := m.vals[key]
	if !ok {
		return
	}
	rn := resolve(n)
	if isNull(rn) {
		return
	}
	field := join(m.path, key)
	if rn.Kind != yaml.ScalarNode {
		d.errorAt(n, field, `must be a duration such as "1h" or "90m", or whole seconds, got `+kindName(rn))
		return
	}
	v, err := parseDuration(rn.Value)
	if err != nil {
		d.errorAt(n, field, err.Error())
		return
	}
	*dst = v
}

// seq returns the items of the list at n (null is empty).
func (d *decoder) seq(n *yaml.Node, path string) []*yaml.Node {
	rn := resolve(n)
	if isNull(rn) {
		return nil
	}
	if rn.Kind != yaml.SequenceNode {
		d.errorAt(n, path, "must be a list, got "+kindName(rn))
		return nil
	}
	for i, item := range rn.Content {
		d.vals[index(path, i)] = item
	}
	return rn.Content
}

// document returns a policy document written as a JSON string or as a YAML
// mapping, which is converted to JSON.
func (d *decoder) document(n *yaml.Node, path string) string {
	rn := resolve(n)
	switch {
	case isNull(rn):
		return ""
	case rn.Kind == yaml.ScalarNode:
		return strings.TrimSpace(rn.Value)
	case rn.Kind == yaml.MappingNode:
		var buf bytes.Buffer
		if err := toJSON(&buf, rn, 0); err != nil {
			at := n
			if je, ok := err.(*jsonError); ok && je.node != nil {
				at = je.node
			}
			d.errorAt(at, path, err.Error())
			return ""
		}
		return buf.String()
	}
	d.errorAt(n, path, "must be a JSON document (a string) or a mapping, got "+kindName(rn))
	return ""
}

type jsonError struct {
	node *yaml.Node
	msg  string
}

func (e *jsonError) Error() string { return e.msg }

// toJSON writes n as JSON, keeping mapping order. Plain scalars keep YAML's
// types (numbers, booleans, null) except timestamps, which stay strings, so
// that Version: 2012-10-17 needs no quotes.
func toJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > 64 {
		return &jsonError{nil, "policy document is nested too deeply"}
	}
	// Aliases can expand a small file into a huge document; IAM's limits
	// are far below this.
	if buf.Len() > maxDocument {
		return &jsonError{nil, "policy document is too large"} // reported at the document

	}
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return &jsonError{k, "policy document keys must be strings"}
			}
			if seen[k.Value] {
				return &jsonError{k, fmt.Sprintf("duplicate key %q in policy document", k.Value)}
			}
			seen[k.Value] = true
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k.Value)
			buf.WriteByte(':')
			if err := toJSON(buf, n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := toJSON(buf, item, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			buf.WriteString("null")
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return &jsonError{n, err.Error()}
			}
			buf.WriteString(strconv.FormatBool(b))
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				buf.WriteString(strconv.FormatInt(i, 10))
				break
			}
			var u uint64
			if err := n.Decode(&u); err != nil {
				return &jsonError{n, fmt.Sprintf("number %s is out of range", n.Value)}
			}
			buf.WriteString(strconv.FormatUint(u, 10))
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return &jsonError{n, fmt.Sprintf("%s is not a JSON number", n.Value)}
			}
			b, _ := json.Marshal(f)
			buf.Write(b)
		default:
			writeJSONString(buf, n.Value)
		}
	default:
		return &jsonError{n, "unsupported YAML node in policy document"}
	}
	return nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // strings always encode
	buf.Truncate(buf.Len() - 1) // Encode appends a newline
}

// decodeFile decodes the root mapping into f, which holds Default's values.
func (d *decoder) decodeFile(root *yaml.Node, f *File) {
	top := d.mapping(root, "", topKeys())
	if top == nil {
		return
	}
	s := &f.Settings
	d.str(top, "metadata-addr", &s.MetadataAddr)
	d.str(top, "admin-addr", &s.AdminAddr)
	d.str(top, "data-dir", &s.DataDir)
	d.str(top, "http-tokens", &s.HTTPTokens)
	d.str(top, "http-endpoint", &s.HTTPEndpoint)
	d.str(top, "log-format", &s.LogFormat)
	if n, ok := top.vals["rotation"]; ok {
		if m := d.mapping(n, "rotation", rotationKeys()); m != nil {
			d.duration(m, "interval", &s.Rotation.Interval)
			d.duration(m, "session-duration", &s.Rotation.SessionDuration)
		}
	}
	inst := &mapping{path: "instance", vals: map[string]*yaml.Node{}}
	if n, ok := top.vals["instance"]; ok {
		if m := d.mapping(n, "instance", instanceKeys()); m != nil {
			inst = m
		}
	}
	d.decodeIMDS(top, s)
	d.decodeFaults(top, s)
	d.decodeSTS(top, s)
	defer d.decodeIdentities(top, f) // sts.go: users and identity providers, once the seed is final
	in := &s.Instance
	d.decodeInstanceMetadata(inst, in)
	d.str(inst, "id", &in.ID)
	d.str(inst, "type", &in.Type)
	d.str(inst, "region", &in.Region)
	d.str(inst, "availability-zone", &in.AvailabilityZone)
	accountSet := d.str(inst, "account", &in.Account)
	var profile string
	profileSet := inst.has("profile")
	d.str(inst, "profile", &profile)

	declared := top.has("accounts") && len(d.seqOf(top, "accounts")) > 0 ||
		top.has("roles") && len(d.seqOf(top, "roles")) > 0 ||
		top.has("instance-profiles") && len(d.seqOf(top, "instance-profiles")) > 0
	if !declared {
		// Default's entities: their one account is every other entity's.
		if len(f.Seed.Accounts) == 1 {
			d.defaultAccount = f.Seed.Accounts[0].ID
		}
		if profileSet {
			in.Profile = profile
		}
		d.checkInstanceProfile(f)
		return
	}

	f.Seed = d.decodeSeed(top, in.Account, accountSet)
	if len(d.errs) > 0 {
		return
	}
	d.validateSeed(f.Seed)
	if len(d.errs) > 0 {
		return
	}
	d.instanceDefaults(f, accountSet, profileSet, profile)
	if len(d.errs) == 0 {
		d.checkInstanceProfile(f)
	}
}

// seqOf returns the list at key without reporting errors (decodeSeed does).
func (d *decoder) seqOf(m *mapping, key string) []*yaml.Node {
	rn := resolve(m.vals[key])
	if rn == nil || rn.Kind != yaml.SequenceNode {
		if rn != nil && !isNull(rn) {
			return []*yaml.Node{rn} // not a list: counts as declared, reported later
		}
		return nil
	}
	return rn.Content
}

// decodeSeed decodes accounts, roles and instance profiles. A role or profile
// without an account gets the only declared account; when no accounts are
// declared, it gets instance.account (or DefaultAccountID) and the accounts
// referenced are declared implicitly.
func (d *decoder) decodeSeed(top *mapping, instanceAccount string, instanceAccountSet bool) rolestore.Seed {
	var seed rolestore.Seed
	for i, n := range d.seq(top.vals["accounts"], "accounts") {
		path := index("accounts", i)
		m := d.mapping(n, path, accountKeys())
		if m == nil {
			continue
		}
		var a rolestore.Account
		if !d.required(m, "id", &a.ID) {
			continue
		}
		d.str(m, "alias", &a.Alias)
		seed.Accounts = append(seed.Accounts, a)
	}
	explicitAccounts := top.has("accounts") && len(d.seqOf(top, "accounts")) > 0
	switch {
	case len(seed.Accounts) == 1:
		d.defaultAccount = seed.Accounts[0].ID
	case !explicitAccounts && instanceAccountSet:
		d.defaultAccount = instanceAccount
	case !explicitAccounts:
		d.defaultAccount = DefaultAccountID
	}

	for i, n := range d.seq(top.vals["roles"], "roles") {
		path := index("roles", i)
		m := d.mapping(n, path, roleKeys())
		if m == nil {
			continue
		}
		var r rolestore.Role
		if !d.required(m, "name", &r.Name) {
			continue
		}
		d.account(m, &r.AccountID)
		d.str(m, "path", &r.Path)
		d.str(m, "id", &r.ID)
		d.str(m, "description", &r.Description)
		r.TrustPolicy = EC2TrustPolicy
		if n, ok := m.vals["trust-policy"]; ok {
			r.TrustPolicy = d.document(n, join(path, "trust-policy"))
		}
		r.Policies = d.policies(m, path)
		d.duration(m, "max-session-duration", &r.MaxSessionDuration)
		r.Tags = d.tags(m, path)
		seed.Roles = append(seed.Roles, r)
	}

	for i, n := range d.seq(top.vals["instance-profiles"], "instance-profiles") {
		path := index("instance-profiles", i)
		m := d.mapping(n, path, profileKeys())
		if m == nil {
			continue
		}
		var p rolestore.InstanceProfile
		if !d.required(m, "name", &p.Name) {
			continue
		}
		d.account(m, &p.AccountID)
		d.str(m, "path", &p.Path)
		d.str(m, "id", &p.ID)
		if m.has("role") && m.has("roles") {
			d.errorAt(d.keys[join(path, "roles")], join(path, "roles"), `give either "role" or "roles", not both`)
			continue
		}
		for _, key := range []string{"role", "roles"} {
			if n, ok := m.vals[key]; ok {
				p.Roles = d.names(n, join(path, key))
			}
		}
		seed.InstanceProfiles = append(seed.InstanceProfiles, p)
	}

	if !explicitAccounts {
		seen := map[string]bool{}
		imply := func(id string) {
			if !seen[id] && (rolestore.Account{ID: id}).Validate() == nil {
				seen[id] = true
				seed.Accounts = append(seed.Accounts, rolestore.Account{ID: id})
			}
		}
		for _, r := range seed.Roles {
			imply(r.AccountID)
		}
		for _, p := range seed.InstanceProfiles {
			imply(p.AccountID)
		}
		if instanceAccountSet {
			imply(instanceAccount)
		}
	}
	return seed
}

// required is str for a field that must be present and not empty.
func (d *decoder) required(m *mapping, key string, dst *string) bool {
	if d.str(m, key, dst) && *dst != "" {
		return true
	}
	if _, ok := m.vals[key]; ok && resolve(m.vals[key]).Kind != yaml.ScalarNode {
		return false // str reported the wrong type
	}
	n := m.node
	if v, ok := m.vals[key]; ok {
		n = v
	}
	d.errorAt(n, join(m.path, key), "is required")
	return false
}

// names decodes a name or a list of names.
func (d *decoder) names(n *yaml.Node, path string) []string {
	rn := resolve(n)
	switch {
	case isNull(rn):
		return nil
	case rn.Kind == yaml.ScalarNode:
		return []string{rn.Value}
	case rn.Kind == yaml.SequenceNode:
		var out []string
		for i, item := range d.seq(n, path) {
			ri := resolve(item)
			if ri.Kind != yaml.ScalarNode || isNull(ri) {
				d.errorAt(item, index(path, i), "must be a role name, got "+kindName(ri))
				continue
			}
			out = append(out, ri.Value)
		}
		return out
	}
	d.errorAt(n, path, "must be a role name or a list of role names, got "+kindName(rn))
	return nil
}

// yamlKey maps the Go field name of a rolestore entity to its YAML key.
func yamlKey(field string) string {
	switch field {
	case "AccountID":
		return "account"
	case "TrustPolicy":
		return "trust-policy"
	case "MaxSessionDuration":
		return "max-session-duration"
	case "Roles":
		return "role" // or "roles"; validation tries both
	}
	return strings.ToLower(field) // ID, Alias, Name, Path, Description, Policies, Tags
}

// validateSeed validates each entity (reporting one problem per entity) and,
// if they are all valid, the cross references.
func (d *decoder) validateSeed(seed rolestore.Seed) {
	for i, a := range seed.Accounts {
		d.validation(i, a.Validate())
	}
	for i, r := range seed.Roles {
		d.validation(i, r.Validate())
	}
	for i, p := range seed.InstanceProfiles {
		d.validation(i, p.Validate())
	}
	if len(d.errs) > 0 {
		return
	}
	var se *rolestore.SeedError
	if err := seed.Validate(); errors.As(err, &se) {
		d.validation(se.Index, se.Err)
	} else if err != nil {
		d.errorAt(nil, "", err.Error())
	}
}

// validation maps a *rolestore.ValidationError of the i-th entity of its
// kind to the YAML node of the offending field.
func (d *decoder) validation(i int, err error) {
	var ve *rolestore.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			d.errorAt(nil, "", err.Error())
		}
		return
	}
	list := "instance-profiles"
	switch ve.Entity {
	case rolestore.EntityAccount:
		list = "accounts"
	case rolestore.EntityRole:
		list = "roles"
	}
	base := index(list, i)
	candidates := []string{join(base, yamlKey(ve.Field))}
	if ve.Field == "Roles" {
		candidates = append(candidates, join(base, "roles"))
	}
	field := candidates[0]
	var node *yaml.Node
	for _, c := range candidates {
		if ve.Key != "" && (ve.Field == "Policies" || ve.Field == "Tags") {
			// A non-empty Value means the key itself is at fault.
			entry := join(c, ve.Key)
			if n := d.keys[entry]; n != nil && ve.Value != "" {
				node, field = n, entry
				break
			}
			if n := d.vals[entry]; n != nil {
				node, field = n, entry
				break
			}
		}
		if n := d.vals[c]; n != nil {
			node, field = n, c
			break
		}
	}
	if node == nil {
		node = d.find(base)
	}
	d.errorAt(node, field, validationMsg(ve, node))
}

// validationMsg phrases a validation error for a config file, quoting the
// value as written where that helps.
func validationMsg(ve *rolestore.ValidationError, node *yaml.Node) string {
	got := ve.Value
	if rn := resolve(node); got != "" && rn != nil && rn.Kind == yaml.ScalarNode && ve.Field != "TrustPolicy" && ve.Field != "Policies" {
		got = rn.Value
	}
	switch {
	case got == "":
		return ve.Reason
	case strings.HasPrefix(ve.Reason, "is "):
		return fmt.Sprintf("%q %s", got, ve.Reason)
	default:
		return fmt.Sprintf("%s, got %s", ve.Reason, quoteIfNeeded(got))
	}
}

func quoteIfNeeded(s string) string {
	if r := []rune(s); len(r) > 80 {
		return strconv.Quote(string(r[:80]) + "...")
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"'#:,[]{}") {
		return strconv.Quote(s)
	}
	return s
}

// instanceDefaults fills instance.account and instance.profile from the
// file's entities when the file does not set them.
func (d *decoder) instanceDefaults(f *File, accountSet, profileSet bool, profile string) {
	in := &f.Settings.Instance
	seed := f.Seed
	if !accountSet {
		switch {
		case len(seed.Accounts) == 1:
			in.Account = seed.Accounts[0].ID
		case profileSet && profile != "":
			var owners []string
			for _, p := range seed.InstanceProfiles {
				if strings.EqualFold(p.Name, profile) {
					owners = append(owners, p.AccountID)
				}
			}
			if len(owners) != 1 {
				d.addAtOr("instance.account", "instance-profiles", fmt.Sprintf("is required: instance profile %q is in %d accounts", profile, len(owners)))
				return
			}
			in.Account = owners[0]
		default:
			d.addAtOr("instance.account", "accounts", "is required when several accounts are declared")
			return
		}
	}
	if accountSet {
		declared := false
		for _, a := range seed.Accounts {
			declared = declared || a.ID == in.Account
		}
		if !declared {
			d.addAt("instance.account", fmt.Sprintf("%q is not a declared account", in.Account))
			return
		}
	}
	if profileSet {
		in.Profile = profile
		return
	}
	var names []string
	for _, p := range seed.InstanceProfiles {
		if p.AccountID == in.Account {
			names = append(names, p.Name)
		}
	}
	switch len(names) {
	case 0:
		in.Profile = ""
	case 1:
		in.Profile = names[0]
	default:
		d.addAtOr("instance.profile", "instance-profiles", fmt.Sprintf("is required when account %s has several instance profiles (%s)", in.Account, strings.Join(names, ", ")))
	}
}

// checkInstanceProfile checks that the instance's profile is declared.
func (d *decoder) checkInstanceProfile(f *File) {
	in := f.Settings.Instance
	if in.Profile == "" {
		return
	}
	for _, p := range f.Seed.InstanceProfiles {
		if p.AccountID == in.Account && strings.EqualFold(p.Name, in.Profile) {
			return
		}
	}
	d.addAt("instance.profile", fmt.Sprintf("%q is not an instance profile in account %s", in.Profile, in.Account))
}
