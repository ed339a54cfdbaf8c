package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/agnivade/levenshtein"
	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/internal/pattern"
	"github.com/imdsemu/imdsemu/rolestore"
)

// This file holds the decoder: a walk over yaml.v3's node tree that fills
// tagged structs (yaml:"key" or, for types of other packages, json:"key";
// ",required" marks a field that must be present and not empty) and
// collects every problem with its line and column, where yaml.Decoder would
// stop at the first or lose the position. It knows a few types of its own:
// durations, document (a policy), []string (one or a list), []rolestore.Tag
// and []fault.Scenario (mappings kept in file order: key, value).

// maxErrors caps how many problems Parse reports at once.
const maxErrors = 20

// Immutable after package initialisation and safe for concurrent use.
var (
	yamlLineRe = pattern.Lazy(`^yaml: line (\d+): (.*)$`)

	durationType      = reflect.TypeFor[time.Duration]()
	faultDurationType = reflect.TypeFor[fault.Duration]()
	documentType      = reflect.TypeFor[document]()
	documentsType     = reflect.TypeFor[documents]()
	stringsType       = reflect.TypeFor[[]string]()
	tagsType          = reflect.TypeFor[[]rolestore.Tag]()
	scenariosType     = reflect.TypeFor[[]fault.Scenario]()
)

// document is a policy document, written in the file as a JSON string or as
// a YAML mapping (converted to JSON, see toJSON); documents are named ones.
type (
	document  string
	documents map[string]string
)

// decoder walks the YAML node tree, collecting errors and remembering where
// each value was so that later validation errors can point at it.
type decoder struct {
	file string
	errs []*Error
	vals map[string]*yaml.Node // YAML path -> value node
	keys map[string]*yaml.Node // YAML path -> key node

	mergeDepth int // guards against merge keys that refer to themselves
	fields     fieldCache
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
}

func (d *decoder) errorAt(n *yaml.Node, field, msg string) {
	e := &Error{File: d.file, Field: field, Msg: msg}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// addAt reports an error at the value recorded for field, or at its nearest
// recorded parent; at fallback's when neither is in the file.
func (d *decoder) addAt(field, fallback, msg string) {
	n := d.find(field)
	if n == nil && fallback != "" {
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

// set reports whether the file gives path a value other than null.
func (d *decoder) set(path string) bool { return !isNull(resolve(d.vals[path])) }

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// failed reports whether an error was reported at path or below it.
func (d *decoder) failed(path string) bool {
	for _, e := range d.errs {
		if f := e.Field; f == path || strings.HasPrefix(f, path) && (f[len(path)] == '.' || f[len(path)] == '[') {
			return true
		}
	}
	return false
}

func (d *decoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(d.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := d.errs[:min(len(d.errs), maxErrors)]
	if len(errs) == 1 {
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
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

// mapping is a decoded YAML mapping: its value nodes by key, in file order.
type mapping struct {
	node  *yaml.Node
	vals  map[string]*yaml.Node
	order []string
}

// mapping checks that n is a mapping (null counts as empty) with string keys,
// no duplicates and, when known is not nil, only known keys. Merge keys (<<)
// are honoured. It records where every value is.
func (d *decoder) mapping(n *yaml.Node, path string, known []string) *mapping {
	m := &mapping{node: n, vals: map[string]*yaml.Node{}}
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
		if known != nil && !slices.Contains(known, k.Value) {
			msg := fmt.Sprintf("unknown field %q", k.Value)
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorAt(k, field, msg)
			continue
		}
		m.add(d, path, k.Value, k, v)
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
				if _, ok := m.vals[key]; !ok {
					m.add(d, path, key, d.keys[join(path, key)], sub.vals[key])
				}
			}
		}
	}
	return m
}

func (m *mapping) add(d *decoder, path, key string, k, v *yaml.Node) {
	field := join(path, key)
	m.vals[key] = v
	m.order = append(m.order, key)
	d.vals[field] = v
	d.keys[field] = k
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
		if dist := levenshtein.ComputeDistance(nk, nv); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
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

// field is one decodable struct field.
type field struct {
	key      string
	index    []int
	required bool
	what     string // what one item of a []string is, for errors
}

// fieldCache is fields by type, for one walk of a config: with
// thousands of instances, listing the same struct's fields again for each
// value was most of what parsing and validating allocated.
type fieldCache map[reflect.Type][]field

// of is fields(t), listed once per cache. The slice is shared: callers
// do not change it.
func (c *fieldCache) of(t reflect.Type) []field {
	if *c == nil {
		*c = map[reflect.Type][]field{}
	}
	fs, ok := (*c)[t]
	if !ok {
		fs = fields(t)
		(*c)[t] = fs
	}
	return fs
}

// fields lists t's fields by their yaml tag (json for types without yaml
// tags), flattening embedded structs and fields tagged ",inline".
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("yaml")
		if !ok {
			tag = sf.Tag.Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !sf.IsExported() || name == "-" {
			continue
		}
		if name == "" && (sf.Anonymous || opts == "inline") && sf.Type.Kind() == reflect.Struct {
			for _, f := range fields(sf.Type) {
				f.index = append([]int{i}, f.index...)
				out = append(out, f)
			}
			continue
		}
		if name == "" {
			continue
		}
		what := sf.Tag.Get("what")
		if what == "" {
			what = "a string"
		}
		out = append(out, field{key: name, index: []int{i}, required: opts == "required", what: what})
	}
	return out
}

// decode sets v from n. Null leaves v as it is (a key set to null is a key
// left out), except that a struct's required fields are still required.
// what describes an item of a []string.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path, what string) {
	rn := resolve(n)
	if isNull(rn) && v.Kind() != reflect.Struct {
		return
	}
	switch v.Type() {
	case documentType:
		v.SetString(d.document(n, path))
		return
	case stringsType:
		if rn.Kind == yaml.ScalarNode {
			v.Set(reflect.ValueOf([]string{rn.Value}))
			return
		}
		if rn.Kind != yaml.SequenceNode {
			d.errorAt(n, path, fmt.Sprintf("must be %s or a list of them, got %s", what, kindName(rn)))
			return
		}
	case tagsType, scenariosType:
		// A mapping kept in file order, as a list of key-value structs.
		m := d.mapping(n, path, nil)
		if m == nil {
			return
		}
		out := reflect.Zero(v.Type())
		for _, key := range m.order {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Field(0).SetString(key)
			d.decode(m.vals[key], e.Field(1), join(path, key), "")
			out = reflect.Append(out, e)
		}
		v.Set(out)
		return
	}

	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path, what)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		items := d.seq(n, path)
		if len(items) == 0 {
			return
		}
		out := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, item := range items {
			p := index(path, i)
			if ri := resolve(item); v.Type() == stringsType && (ri.Kind != yaml.ScalarNode || isNull(ri)) {
				d.errorAt(item, p, "must be "+what+", got "+kindName(ri))
				continue
			}
			d.decode(item, out.Index(i), p, what)
		}
		v.Set(out)
	case reflect.Map:
		m := d.mapping(n, path, nil)
		if m == nil || len(m.order) == 0 {
			return
		}
		out := reflect.MakeMapWithSize(v.Type(), len(m.order))
		elem := v.Type().Elem()
		if v.Type() == documentsType {
			elem = documentType
		}
		for _, key := range m.order {
			e := reflect.New(elem).Elem()
			d.decode(m.vals[key], e, join(path, key), what)
			out.SetMapIndex(reflect.ValueOf(key), e.Convert(v.Type().Elem()))
		}
		v.Set(out)
	default:
		if rn.Kind != yaml.ScalarNode || v.Kind() == reflect.Bool && rn.ShortTag() != "!!bool" {
			d.errorAt(n, path, "must be "+noun(v.Type())+", got "+kindName(rn))
		} else if err := setString(v, rn.Value); err != nil {
			d.errorAt(n, path, err.Error())
		}
	}
}

// noun says what a scalar of type t is, for errors.
func noun(t reflect.Type) string {
	switch {
	case t == durationType || t == faultDurationType:
		return `a duration such as "1h" or "90m", or whole seconds`
	case t.Kind() == reflect.Int:
		return "a whole number"
	case t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Bool:
		return "true or false"
	}
	return "a string"
}

// decodeStruct decodes the mapping at n into the fields of v.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fs := d.fields.of(v.Type())
	known := make([]string, len(fs))
	for i, f := range fs {
		known[i] = f.key
	}
	m := d.mapping(n, path, known)
	if m == nil {
		return
	}
	for _, f := range fs {
		fn, ok := m.vals[f.key]
		fv := v.FieldByIndex(f.index)
		if ok {
			d.decode(fn, fv, join(path, f.key), f.what)
		}
		if f.required && fv.IsZero() && (!ok || resolve(fn).Kind == yaml.ScalarNode) {
			at := m.node
			if ok {
				at = fn
			}
			d.errorAt(at, join(path, f.key), "is required")
		}
	}
}

// parseBool accepts what YAML 1.1 and the environment commonly write.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0":
		return false, true
	}
	return false, false
}

// parseDuration accepts a Go duration ("90m", "1h30m") or whole seconds ("3600").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > int64(1<<63-1)/int64(time.Second) || n < -int64(1<<63-1)/int64(time.Second) {
			return 0, fmt.Errorf("%s seconds is out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`must be a duration such as "1h" or "90m", or whole seconds, got %q`, s)
	}
	return d, nil
}
