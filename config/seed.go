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
// which Parse turns into a rolestore.Seed. Each list is named as its Seed
// field, and each field of an entity's doc as the field of the rolestore
// type it sets (see entities), so that a rolestore.ValidationError's Field
// finds its YAML key. Policy documents are document or documents, which
// convert to string and map[string]string.
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

// The entities as written. Fields without a rolestore namesake (a
// profile's role, the *-file keys) are for finish.
type (
	accountDoc struct {
		ID    string `yaml:"id,required"`
		Alias string `yaml:"alias"`
	}
	roleDoc struct {
		Name                string          `yaml:"name,required"`
		AccountID           string          `yaml:"account"`
		Path                string          `yaml:"path"`
		ID                  string          `yaml:"id"`
		Description         string          `yaml:"description"`
		TrustPolicy         document        `yaml:"trust-policy"` // left out: EC2TrustPolicy
		Policies            documents       `yaml:"policies"`
		MaxSessionDuration  time.Duration   `yaml:"max-session-duration"`
		Tags                []rolestore.Tag `yaml:"tags"`
		ManagedPolicies     []string        `yaml:"managed-policies" what:"a managed policy ARN"`
		PermissionsBoundary string          `yaml:"permissions-boundary"`
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
		Name                string          `yaml:"name,required"`
		AccountID           string          `yaml:"account"`
		Path                string          `yaml:"path"`
		ID                  string          `yaml:"id"`
		Groups              []string        `yaml:"groups" what:"a group name"`
		Policies            documents       `yaml:"policies"`
		Tags                []rolestore.Tag `yaml:"tags"`
		ManagedPolicies     []string        `yaml:"managed-policies" what:"a managed policy ARN"`
		PermissionsBoundary string          `yaml:"permissions-boundary"`
	}
	groupDoc struct {
		Name            string    `yaml:"name,required"`
		AccountID       string    `yaml:"account"`
		Path            string    `yaml:"path"`
		ID              string    `yaml:"id"`
		Policies        documents `yaml:"policies"`
		ManagedPolicies []string  `yaml:"managed-policies" what:"a managed policy ARN"`
	}
	policyDoc struct {
		Name        string   `yaml:"name,required"`
		AccountID   string   `yaml:"account"`
		Path        string   `yaml:"path"`
		Description string   `yaml:"description"`
		Document    document `yaml:"document,required"`
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

// lists names the YAML list of each entity kind.
func lists() map[string]string {
	return map[string]string{rolestore.EntityAccount: "accounts", rolestore.EntityRole: "roles",
		rolestore.EntityInstanceProfile: "instance-profiles", rolestore.EntityUser: "users",
		rolestore.EntityOIDCProvider: "oidc-providers", rolestore.EntitySAMLProvider: "saml-providers",
		rolestore.EntityGroup: "groups", rolestore.EntityPolicy: "managed-policies"}
}

// docType is the doc type of the entities of list.
func docType(list string) reflect.Type {
	t := reflect.TypeFor[fileDoc]()
	for _, f := range fields(t) {
		if f.key == list {
			return t.FieldByIndex(f.index).Type.Elem()
		}
	}
	return nil
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
	d.scenarios(doc.Scenarios)
	if d.set("instance") && d.set("instances") {
		d.errorAt(d.keys["instances"], "instances", `give either "instance" (one instance serving every client) or "instances", not both`)
	}
	f.Settings = doc.Settings
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
// the cross references and fills in the instances' accounts and profiles.
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
	docs, seed := reflect.ValueOf(doc).Elem(), reflect.ValueOf(&s).Elem()
	for i := range docs.NumField() {
		if sf := docs.Type().Field(i); !sf.Anonymous { // not the settings
			list, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
			d.entities(list, docs.Field(i), seed.FieldByName(sf.Name), defaultAccount)
		}
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
	d.instances(f, declared)
}

// entities converts docs, the entities of list, and appends them to out, a
// list of the Seed: each field of a doc is copied to the entity's field of
// the same name, finish does the rest, an entity without an account gets
// defaultAccount, and each is validated. An entity the decoder already
// found fault with is left out.
func (d *decoder) entities(list string, docs, out reflect.Value, defaultAccount string) {
	for i := range docs.Len() {
		base, doc := index(list, i), docs.Index(i)
		e := reflect.New(out.Type().Elem()).Elem()
		for j := range doc.NumField() {
			if f := e.FieldByName(doc.Type().Field(j).Name); f.IsValid() {
				f.Set(doc.Field(j).Convert(f.Type()))
			}
		}
		if !d.finish(base, doc.Interface(), e.Addr().Interface()) || d.failed(base) {
			continue
		}
		if account := e.FieldByName("AccountID"); account.IsValid() && account.String() == "" {
			if defaultAccount == "" {
				d.errorAt(d.vals[base], join(base, "account"), "is required when several accounts are declared")
				continue
			}
			account.SetString(defaultAccount)
		}
		var err error
		switch e := e.Interface().(type) {
		case rolestore.ManagedPolicy:
			err = e.ValidateEntity() // its document's problems too
		case interface{ Validate() error }:
			err = e.Validate()
		}
		if d.entityError(list, i, err) {
			out.Set(reflect.Append(out, e))
		}
	}
}

// finish does for e, an entity converted from doc at base, what copying
// fields cannot: a role's default trust policy, a profile's "role" (another
// name of "roles"), a provider's documents given in files. It reports
// false if the entity is to be left out.
func (d *decoder) finish(base string, doc, e any) bool {
	switch e := e.(type) {
	case *rolestore.Role:
		if !d.set(join(base, "trust-policy")) {
			e.TrustPolicy = EC2TrustPolicy
		}
	case *rolestore.InstanceProfile:
		if d.set(join(base, "role")) && d.set(join(base, "roles")) {
			d.errorAt(d.keys[join(base, "roles")], join(base, "roles"), `give either "role" or "roles", not both`)
			return false
		}
		e.Roles = append(doc.(profileDoc).Role, e.Roles...)
	case *rolestore.OIDCProvider:
		p := doc.(oidcDoc)
		e.JWKS = d.inlineOrFile(base, "jwks", "jwks-file", p.JWKS, p.JWKSFile)
	case *rolestore.SAMLProvider:
		if !d.failed(base) && !d.set(join(base, "metadata")) && !d.set(join(base, "metadata-file")) {
			d.errorAt(d.vals[base], join(base, "metadata-file"), `is required (or "metadata" with the XML inline)`)
			return false
		}
		p := doc.(samlDoc)
		e.MetadataXML = d.inlineOrFile(base, "metadata", "metadata-file", p.MetadataXML, p.MetadataFile)
	}
	return true
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
	if sf, ok := docType(list).FieldByName(ve.Field); ok {
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
		if at, problem := toJSON(&buf, rn, 0); problem != "" {
			if at == nil {
				at = n
			}
			d.errorAt(at, path, problem)
			return ""
		}
		return buf.String()
	}
	d.errorAt(n, path, "must be a JSON document (a string) or a mapping, got "+kindName(rn))
	return ""
}

// toJSON writes n as JSON, keeping mapping order. Plain scalars keep YAML's
// types (numbers, booleans, null) except timestamps, which stay strings, so
// that Version: 2012-10-17 needs no quotes. A problem is returned with the
// node at fault, nil for the document as a whole.
func toJSON(buf *bytes.Buffer, n *yaml.Node, depth int) (at *yaml.Node, problem string) {
	if depth > 64 {
		return nil, "policy document is nested too deeply"
	}
	// Aliases can expand a small file into a huge document; IAM's limits
	// are far below this.
	if buf.Len() > maxDocument {
		return nil, "policy document is too large"
	}
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		buf.WriteByte('{')
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" {
				return k, "policy document keys must be strings"
			}
			if seen[k.Value] {
				return k, fmt.Sprintf("duplicate key %q in policy document", k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k.Value)
			buf.WriteByte(':')
			if at, problem := toJSON(buf, n.Content[i+1], depth+1); problem != "" {
				return at, problem
			}
		}
		buf.WriteByte('}')
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, item := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if at, problem := toJSON(buf, item, depth+1); problem != "" {
				return at, problem
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
				return n, fmt.Sprintf("number %s is out of range", n.Value)
			}
			if f, ok := v.(float64); ok && (math.IsInf(f, 0) || math.IsNaN(f)) {
				return n, fmt.Sprintf("%s is not a JSON number", n.Value)
			}
			b, _ := json.Marshal(v)
			buf.Write(b)
		default:
			writeJSONString(buf, n.Value)
		}
	default:
		return n, "unsupported YAML node in policy document"
	}
	return nil, ""
}

func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)           // strings always encode
	buf.Truncate(buf.Len() - 1) // Encode appends a newline
}
