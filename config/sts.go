package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/imdsemu/imdsemu/rolestore"
)

// This file holds the STS settings: the listener address, and the IAM users
// and identity providers the STS API authenticates.

// EnvSTSAddr overrides sts-addr.
const EnvSTSAddr = "IMDSEMU_STS_ADDR"

func userKeys() []string {
	return []string{"name", "account", "path", "id", "groups", "policies", "tags"}
}
func oidcProviderKeys() []string {
	return []string{"url", "account", "client-ids", "thumbprints", "jwks", "jwks-file"}
}
func samlProviderKeys() []string { return []string{"name", "account", "metadata", "metadata-file"} }

// decodeSTS decodes sts-addr.
func (d *decoder) decodeSTS(top *mapping, s *Settings) {
	d.str(top, "sts-addr", &s.STSAddr)
}

func (s Settings) validateSTS(add func(field, msg string)) {
	if msg := checkAddr(s.STSAddr); msg != "" {
		add("sts-addr", msg)
	}
}

func applySTSEnv(s *Settings, getenv func(string) string, bad func(name, msg string)) {
	if v := getenv(EnvSTSAddr); v != "" {
		if msg := checkAddr(v); msg != "" {
			bad(EnvSTSAddr, msg)
			return
		}
		s.STSAddr = v
	}
}

// decodeIdentities decodes users, oidc-providers and saml-providers into
// f.Seed. It runs after the rest of the file (decodeFile defers it), so an
// entity without "account" gets the same default account as roles and
// instance profiles (decoder.account).
func (d *decoder) decodeIdentities(top *mapping, f *File) {
	if top == nil {
		return
	}
	first := len(f.Seed.Users)
	for i, n := range d.seq(top.vals["users"], "users") {
		path := index("users", i)
		m := d.mapping(n, path, userKeys())
		if m == nil {
			continue
		}
		var u rolestore.User
		if !d.required(m, "name", &u.Name) {
			continue
		}
		d.account(m, &u.AccountID)
		d.str(m, "path", &u.Path)
		d.str(m, "id", &u.ID)
		if n, ok := m.vals["groups"]; ok {
			u.Groups = d.stringList(n, join(path, "groups"), "a group name")
		}
		u.Policies = d.policies(m, path)
		u.Tags = d.tags(m, path)
		d.checkEntity(path, u.Validate())
		f.Seed.Users = append(f.Seed.Users, u)
	}
	for i, n := range d.seq(top.vals["oidc-providers"], "oidc-providers") {
		path := index("oidc-providers", i)
		m := d.mapping(n, path, oidcProviderKeys())
		if m == nil {
			continue
		}
		var p rolestore.OIDCProvider
		if !d.required(m, "url", &p.URL) {
			continue
		}
		d.account(m, &p.AccountID)
		if n, ok := m.vals["client-ids"]; ok {
			p.ClientIDs = d.stringList(n, join(path, "client-ids"), "a client ID")
		}
		if n, ok := m.vals["thumbprints"]; ok {
			p.Thumbprints = d.stringList(n, join(path, "thumbprints"), "a thumbprint")
		}
		before := len(d.errs)
		if p.JWKS = d.inlineOrFile(m, "jwks", "jwks-file"); len(d.errs) > before {
			continue
		}
		d.checkEntity(path, p.Validate())
		f.Seed.OIDCProviders = append(f.Seed.OIDCProviders, p)
	}
	for i, n := range d.seq(top.vals["saml-providers"], "saml-providers") {
		path := index("saml-providers", i)
		m := d.mapping(n, path, samlProviderKeys())
		if m == nil {
			continue
		}
		var p rolestore.SAMLProvider
		if !d.required(m, "name", &p.Name) {
			continue
		}
		d.account(m, &p.AccountID)
		before := len(d.errs)
		p.MetadataXML = d.inlineOrFile(m, "metadata", "metadata-file")
		if len(d.errs) > before {
			continue
		}
		if p.MetadataXML == "" && !m.has("metadata") && !m.has("metadata-file") {
			d.errorAt(m.node, join(path, "metadata-file"), `is required (or "metadata" with the XML inline)`)
			continue
		}
		d.checkEntity(path, p.Validate())
		f.Seed.SAMLProviders = append(f.Seed.SAMLProviders, p)
	}
	if len(d.errs) > 0 {
		return
	}
	// Cross references: accounts declared, nothing declared twice.
	var se *rolestore.SeedError
	if err := f.Seed.Validate(); errors.As(err, &se) {
		list := map[string]string{rolestore.EntityUser: "users", rolestore.EntityOIDCProvider: "oidc-providers",
			rolestore.EntitySAMLProvider: "saml-providers"}[se.Err.Entity]
		if list == "" {
			return // reported by the rest of the decoder
		}
		i := se.Index
		if list == "users" {
			i -= first
		}
		d.checkEntity(index(list, i), se.Err)
	}
}

// checkEntity reports a *rolestore.ValidationError at the entity's field.
func (d *decoder) checkEntity(base string, err error) {
	var ve *rolestore.ValidationError
	if !errors.As(err, &ve) {
		if err != nil {
			d.errorAt(d.find(base), base, err.Error())
		}
		return
	}
	key := map[string]string{"AccountID": "account", "ClientIDs": "client-ids", "Thumbprints": "thumbprints",
		"JWKS": "jwks", "MetadataXML": "metadata", "URL": "url"}[ve.Field]
	if key == "" {
		key = strings.ToLower(ve.Field)
	}
	field := join(base, key)
	node := d.find(field)
	if ve.Key != "" && (ve.Field == "Policies" || ve.Field == "Tags") {
		entry := join(field, ve.Key)
		if n := d.keys[entry]; n != nil && ve.Value != "" {
			node, field = n, entry
		} else if n := d.vals[entry]; n != nil {
			node, field = n, entry
		}
	}
	d.errorAt(node, field, validationMsg(ve, node))
}

// stringList decodes a string or a list of strings.
func (d *decoder) stringList(n *yaml.Node, path, what string) []string {
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
				d.errorAt(item, index(path, i), "must be "+what+", got "+kindName(ri))
				continue
			}
			out = append(out, ri.Value)
		}
		return out
	}
	d.errorAt(n, path, fmt.Sprintf("must be %s or a list of them, got %s", what, kindName(rn)))
	return nil
}

// inlineOrFile reads a document given inline (key) or in a file (fileKey,
// relative to the config file). Giving both is an error.
func (d *decoder) inlineOrFile(m *mapping, key, fileKey string) string {
	var inline, file string
	d.str(m, key, &inline)
	d.str(m, fileKey, &file)
	if inline != "" && file != "" {
		d.errorAt(d.keys[join(m.path, fileKey)], join(m.path, fileKey), fmt.Sprintf("give either %q or %q, not both", key, fileKey))
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
		d.errorAt(m.vals[fileKey], join(m.path, fileKey), fmt.Sprintf("cannot read %s: %v", file, errors.Unwrap(err)))
		return ""
	}
	return string(data)
}
