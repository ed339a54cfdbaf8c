package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/imdsemu/imdsemu/rolestore"
)

// maxDocument caps a policy document converted from YAML, in bytes.
const maxDocument = 1 << 20

// fileDoc is the config file as written: the settings plus the entities,
// which Parse turns into a rolestore.Seed.
type fileDoc struct {
	Settings         `yaml:",inline"`
	Accounts         []accountDoc `yaml:"accounts"`
	Roles            []roleDoc    `yaml:"roles"`
	InstanceProfiles []profileDoc `yaml:"instance-profiles"`
	Users            []userDoc    `yaml:"users"`
	OIDCProviders    []oidcDoc    `yaml:"oidc-providers"`
	SAMLProviders    []samlDoc    `yaml:"saml-providers"`
	Groups           []groupDoc   `yaml:"groups"`
	ManagedPolicies  []policyDoc  `yaml:"managed-policies"`
}

// The entities as written. A field named as in the rolestore type holds that
// field, so that a rolestore.ValidationError's Field finds its YAML key.
type (
	accountDoc struct {
		ID    string `yaml:"id,required"`
		Alias string `yaml:"alias"`
	}
	roleDoc struct {
		Name                string              `yaml:"name,required"`
		AccountID           string              `yaml:"account"`
		Path                string              `yaml:"path"`
		ID                  string              `yaml:"id"`
		Description         string              `yaml:"description"`
		TrustPolicy         *document           `yaml:"trust-policy"` // nil: EC2TrustPolicy
		Policies            map[string]document `yaml:"policies"`
		MaxSessionDuration  time.Duration       `yaml:"max-session-duration"`
		Tags                []rolestore.Tag     `yaml:"tags"`
		ManagedPolicies     []string            `yaml:"managed-policies" what:"a managed policy ARN"`
		PermissionsBoundary string              `yaml:"permissions-boundary"`
	}
	profileDoc struct {
		Name      string   `yaml:"name,required"`
		AccountID string   `yaml:"account"`
		Path      string   `yaml:"path"`
		ID        string   `yaml:"id"`
		Role      []string `yaml:"role" what:"a role name"`
		Roles     []string `yaml:"roles" what:"a role name"`
	}
	userDoc struct {
		Name                string              `yaml:"name,required"`
		AccountID           string              `yaml:"account"`
		Path                string              `yaml:"path"`
		ID                  string              `yaml:"id"`
		Groups              []string            `yaml:"groups" what:"a group name"`
		Policies            map[string]document `yaml:"policies"`
		Tags                []rolestore.Tag     `yaml:"tags"`
		ManagedPolicies     []string            `yaml:"managed-policies" what:"a managed policy ARN"`
		PermissionsBoundary string              `yaml:"permissions-boundary"`
	}
	groupDoc struct {
		Name            string              `yaml:"name,required"`
		AccountID       string              `yaml:"account"`
		Path            string              `yaml:"path"`
		ID              string              `yaml:"id"`
		Policies        map[string]document `yaml:"policies"`
		ManagedPolicies []string            `yaml:"managed-policies" what:"a managed policy ARN"`
	}
	policyDoc struct {
		Name        string    `yaml:"name,required"`
		AccountID   string    `yaml:"account"`
		Path        string    `yaml:"path"`
		Description string    `yaml:"description"`
		Document    *document `yaml:"document,required"`
	}
	oidcDoc struct {
		URL         string   `yaml:"url,required"`
		AccountID   string   `yaml:"account"`
		ClientIDs   []string `yaml:"client-ids" what:"a client ID"`
		Thumbprints []string `yaml:"thumbprints" what:"a thumbprint"`
		JWKS        string   `yaml:"jwks"`
		JWKSFile    string   `yaml:"jwks-file"`
	}
	samlDoc struct {
		Name         string `yaml:"name,required"`
		AccountID    string `yaml:"account"`
		MetadataXML  string `yaml:"metadata"`
		MetadataFile string `yaml:"metadata-file"`
	}
)

// lists names the YAML list of each entity kind, and docs the doc type of
// each list.
func lists() map[string]string {
	return map[string]string{rolestore.EntityAccount: "accounts", rolestore.EntityRole: "roles",
		rolestore.EntityInstanceProfile: "instance-profiles", rolestore.EntityUser: "users",
		rolestore.EntityOIDCProvider: "oidc-providers", rolestore.EntitySAMLProvider: "saml-providers",
		rolestore.EntityGroup: "groups", rolestore.EntityPolicy: "managed-policies"}
}

func docs() map[string]reflect.Type {
	return map[string]reflect.Type{"accounts": reflect.TypeFor[accountDoc](), "roles": reflect.TypeFor[roleDoc](),
		"instance-profiles": reflect.TypeFor[profileDoc](), "users": reflect.TypeFor[userDoc](),
		"oidc-providers": reflect.TypeFor[oidcDoc](), "saml-providers": reflect.TypeFor[samlDoc](),
		"groups": reflect.TypeFor[groupDoc](), "managed-policies": reflect.TypeFor[policyDoc]()}
}

// Parse parses a config file's contents; name is used in errors. Settings
// the file leaves out keep Default's values. If the file declares any
// accounts, roles or instance profiles, the seed is exactly those; otherwise
// it is Default's. See the package documentation for the format.
//
// Errors are *Error values naming file, line and field; when there are
// several they are joined with errors.Join, in file order.
func Parse(name string, data []byte) (*File, error) {
	d := newDecoder(name)
	root, err := d.parse(data)
	if err != nil {
		return nil, err
	}
	f := Default()
	if root == nil {
		return f, nil
	}
	doc := fileDoc{Settings: f.Settings}
	d.decodeStruct(root, reflect.ValueOf(&doc).Elem(), "")
	if d.set("instance") && d.set("instances") {
		d.errorAt(d.keys["instances"], "instances", `give either "instance" (one instance serving every client) or "instances", not both`)
	}
	f.Settings = doc.Settings
	if in := &f.Settings.Instance; in.UserDataFile != "" && !filepath.IsAbs(in.UserDataFile) {
		in.UserDataFile = filepath.Join(filepath.Dir(name), in.UserDataFile)
	}
	d.seed(&doc, f)
	if err := d.err(); err != nil {
		return nil, err
	}
	for _, one := range unjoin(f.Settings.Validate()) {
		var e *Error
		if errors.As(one, &e) {
			d.addAt(e.Field, "", e.Msg)
		}
	}
	return f, d.err()
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// seed turns the entities of doc into f.Seed, each validated, then checks
// the cross references and fills in the instance's account and profile.
// An entity the decoder already found fault with is left out.
//
// A role or profile without an account gets the only declared account; when
// no accounts are declared, it gets instance.account (or DefaultAccountID)
// and the accounts referenced are declared implicitly.
func (d *decoder) seed(doc *fileDoc, f *File) {
	in := &f.Settings.Instance
	declared := len(doc.Accounts) > 0 || len(doc.Roles) > 0 || len(doc.InstanceProfiles) > 0
	defaultAccount := DefaultAccountID
	switch {
	case len(doc.Accounts) > 1:
		defaultAccount = ""
	case len(doc.Accounts) == 1:
		defaultAccount = doc.Accounts[0].ID
	case declared && d.set("instance.account"):
		defaultAccount = in.Account
	}
	var s rolestore.Seed
	if !declared {
		s = f.Seed // Default's entities, then the file's users and providers
	}
	// add gives an entity the default account if it names none, validates
	// it and appends it. (validate is a closure: it sees the account.)
	add := func(list string, i int, account *string, validate func() error, appendTo func()) {
		base := index(list, i)
		if d.failed(base) {
			return
		}
		if account != nil && *account == "" {
			if defaultAccount == "" {
				d.errorAt(d.vals[base], join(base, "account"), "is required when several accounts are declared")
				return
			}
			*account = defaultAccount
		}
		if d.entityError(list, i, validate()) {
			appendTo()
		}
	}
	for i, a := range doc.Accounts {
		a := rolestore.Account{ID: a.ID, Alias: a.Alias}
		add("accounts", i, nil, func() error { return a.Validate() }, func() { s.Accounts = append(s.Accounts, a) })
	}
	for i, r := range doc.Roles {
		r2 := rolestore.Role{Name: r.Name, AccountID: r.AccountID, Path: r.Path, ID: r.ID, Description: r.Description,
			TrustPolicy: EC2TrustPolicy, Policies: policies(r.Policies), MaxSessionDuration: r.MaxSessionDuration, Tags: r.Tags,
			ManagedPolicies: r.ManagedPolicies, PermissionsBoundary: r.PermissionsBoundary}
		if r.TrustPolicy != nil {
			r2.TrustPolicy = string(*r.TrustPolicy)
		}
		add("roles", i, &r2.AccountID, func() error { return r2.Validate() }, func() { s.Roles = append(s.Roles, r2) })
	}
	for i, p := range doc.InstanceProfiles {
		base := index("instance-profiles", i)
		if d.set(join(base, "role")) && d.set(join(base, "roles")) {
			d.errorAt(d.keys[join(base, "roles")], join(base, "roles"), `give either "role" or "roles", not both`)
			continue
		}
		p2 := rolestore.InstanceProfile{Name: p.Name, AccountID: p.AccountID, Path: p.Path, ID: p.ID, Roles: append(p.Role, p.Roles...)}
		add("instance-profiles", i, &p2.AccountID, func() error { return p2.Validate() }, func() { s.InstanceProfiles = append(s.InstanceProfiles, p2) })
	}
	if declared && len(doc.Accounts) == 0 {
		seen := map[string]bool{}
		imply := func(id string) {
			if !seen[id] && (rolestore.Account{ID: id}).Validate() == nil {
				seen[id] = true
				s.Accounts = append(s.Accounts, rolestore.Account{ID: id})
			}
		}
		for _, r := range s.Roles {
			imply(r.AccountID)
		}
		for _, p := range s.InstanceProfiles {
			imply(p.AccountID)
		}
		if d.set("instance.account") {
			imply(in.Account)
		}
	}
	for i, u := range doc.Users {
		u2 := rolestore.User{Name: u.Name, AccountID: u.AccountID, Path: u.Path, ID: u.ID, Groups: u.Groups,
			Policies: policies(u.Policies), Tags: u.Tags, ManagedPolicies: u.ManagedPolicies, PermissionsBoundary: u.PermissionsBoundary}
		add("users", i, &u2.AccountID, func() error { return u2.Validate() }, func() { s.Users = append(s.Users, u2) })
	}
	for i, g := range doc.Groups {
		g2 := rolestore.Group{Name: g.Name, AccountID: g.AccountID, Path: g.Path, ID: g.ID,
			Policies: policies(g.Policies), ManagedPolicies: g.ManagedPolicies}
		add("groups", i, &g2.AccountID, func() error { return g2.Validate() }, func() { s.Groups = append(s.Groups, g2) })
	}
	for i, p := range doc.ManagedPolicies {
		p2 := rolestore.ManagedPolicy{Name: p.Name, AccountID: p.AccountID, Path: p.Path, Description: p.Description}
		if p.Document != nil {
			p2.Document = string(*p.Document)
		}
		add("managed-policies", i, &p2.AccountID, func() error { return p2.ValidateEntity() }, func() { s.ManagedPolicies = append(s.ManagedPolicies, p2) })
	}
	for i, p := range doc.OIDCProviders {
		base := index("oidc-providers", i)
		p2 := rolestore.OIDCProvider{URL: p.URL, AccountID: p.AccountID, ClientIDs: p.ClientIDs, Thumbprints: p.Thumbprints,
			JWKS: d.inlineOrFile(base, "jwks", "jwks-file", p.JWKS, p.JWKSFile)}
		add("oidc-providers", i, &p2.AccountID, func() error { return p2.Validate() }, func() { s.OIDCProviders = append(s.OIDCProviders, p2) })
	}
	for i, p := range doc.SAMLProviders {
		base := index("saml-providers", i)
		if !d.failed(base) && !d.set(join(base, "metadata")) && !d.set(join(base, "metadata-file")) {
			d.errorAt(d.vals[base], join(base, "metadata-file"), `is required (or "metadata" with the XML inline)`)
			continue
		}
		p2 := rolestore.SAMLProvider{Name: p.Name, AccountID: p.AccountID,
			MetadataXML: d.inlineOrFile(base, "metadata", "metadata-file", p.MetadataXML, p.MetadataFile)}
		add("saml-providers", i, &p2.AccountID, func() error { return p2.Validate() }, func() { s.SAMLProviders = append(s.SAMLProviders, p2) })
	}
	if len(d.errs) > 0 {
		return
	}
	var se *rolestore.SeedError
	if err := s.Validate(); errors.As(err, &se) {
		d.entityError(lists()[se.Err.Entity], se.Index, se.Err)
		return
	} else if err != nil {
		d.errorAt(nil, "", err.Error())
		return
	}
	f.Seed = s
	if len(f.Settings.Instances) > 0 {
		d.instancesDefaults(f, declared, defaultAccount)
		return
	}
	if declared {
		d.instanceDefaults(f)
	}
	if len(d.errs) == 0 && in.Profile != "" && !hasProfile(s, in.Account, in.Profile) {
		d.addAt("instance.profile", "", fmt.Sprintf("%q is not an instance profile in account %s", in.Profile, in.Account))
	}
}

func policies(docs map[string]document) map[string]string {
	if len(docs) == 0 {
		return nil
	}
	out := make(map[string]string, len(docs))
	for name, doc := range docs {
		out[name] = string(doc)
	}
	return out
}

// profileOwners are the accounts with an instance profile called name.
func profileOwners(s rolestore.Seed, name string) []string {
	var owners []string
	for _, p := range s.InstanceProfiles {
		if name != "" && strings.EqualFold(p.Name, name) {
			owners = append(owners, p.AccountID)
		}
	}
	return owners
}

func hasProfile(s rolestore.Seed, account, name string) bool {
	for _, p := range s.InstanceProfiles {
		if p.AccountID == account && strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return false
}

// entityError reports a validation error of the i-th entity of list at the
// YAML node of the offending field, and reports whether err was nil.
func (d *decoder) entityError(list string, i int, err error) bool {
	if err == nil {
		return true
	}
	base := index(list, i)
	var ve *rolestore.ValidationError
	if !errors.As(err, &ve) {
		d.errorAt(d.find(base), base, err.Error())
		return false
	}
	key := ""
	if sf, ok := docs()[list].FieldByName(ve.Field); ok {
		key, _, _ = strings.Cut(sf.Tag.Get("yaml"), ",")
	}
	if ve.Field == "Roles" && d.vals[join(base, "role")] != nil {
		key = "role"
	}
	field := join(base, key)
	node := d.find(field)
	if ve.Key != "" && (ve.Field == "Policies" || ve.Field == "Tags") {
		// A non-empty Value means the key itself is at fault.
		entry := join(field, ve.Key)
		if n := d.keys[entry]; n != nil && ve.Value != "" {
			node, field = n, entry
		} else if n := d.vals[entry]; n != nil {
			node, field = n, entry
		}
	}
	d.errorAt(node, field, validationMsg(ve, node))
	return false
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
func (d *decoder) instanceDefaults(f *File) {
	in := &f.Settings.Instance
	seed := f.Seed
	switch {
	case d.set("instance.account"):
		if !hasAccount(seed, in.Account) {
			d.addAt("instance.account", "", fmt.Sprintf("%q is not a declared account", in.Account))
			return
		}
	case len(seed.Accounts) == 1:
		in.Account = seed.Accounts[0].ID
	case d.set("instance.profile") && in.Profile != "":
		owners := profileOwners(seed, in.Profile)
		if len(owners) != 1 {
			d.addAt("instance.account", "instance-profiles", fmt.Sprintf("is required: instance profile %q is in %d accounts", in.Profile, len(owners)))
			return
		}
		in.Account = owners[0]
	default:
		d.addAt("instance.account", "accounts", "is required when several accounts are declared")
		return
	}
	if d.set("instance.profile") {
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
		d.addAt("instance.profile", "instance-profiles", fmt.Sprintf("is required when account %s has several instance profiles (%s)", in.Account, strings.Join(names, ", ")))
	}
}

// inlineOrFile returns a document given inline or in a file (relative to
// the config file). Giving both is an error.
func (d *decoder) inlineOrFile(base, key, fileKey, inline, file string) string {
	path := join(base, fileKey)
	if inline != "" && file != "" {
		d.errorAt(d.keys[path], path, fmt.Sprintf("give either %q or %q, not both", key, fileKey))
		return ""
	}
	if file == "" {
		return inline
	}
	if !filepath.IsAbs(file) && d.file != "" {
		file = filepath.Join(filepath.Dir(d.file), file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		d.errorAt(d.vals[path], path, fmt.Sprintf("cannot read %s: %v", file, errors.Unwrap(err)))
		return ""
	}
	return string(data)
}

// document returns a policy document written as a JSON string or as a YAML
// mapping, which is converted to JSON.
func (d *decoder) document(n *yaml.Node, path string) string {
	rn := resolve(n)
	switch {
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
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return &jsonError{n, fmt.Sprintf("number %s is out of range", n.Value)}
			}
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				return &jsonError{n, fmt.Sprintf("%s is not a JSON number", n.Value)}
			}
			b, _ := json.Marshal(v)
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
