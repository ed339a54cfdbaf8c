package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/imdsemu/imdsemu/rolestore"
)

// This file binds Settings to the environment and to command-line flags,
// following each field's env, flag, help and default tags, and resolves the
// data directory.

// Environment variables. Those of settings are also in Settings' env tags
// (TestEnvConstants checks that they agree).
const (
	EnvConfig     = "IMDSEMU_CONFIG"      // the config file
	EnvAdminToken = "IMDSEMU_ADMIN_TOKEN" // the control API's bearer token, for the CLI's control commands

	EnvMetadataAddr         = "IMDSEMU_METADATA_ADDR"
	EnvAdminAddr            = "IMDSEMU_ADMIN_ADDR"
	EnvDataDir              = "IMDSEMU_DATA_DIR"
	EnvHTTPTokens           = "IMDSEMU_HTTP_TOKENS"
	EnvHTTPEndpoint         = "IMDSEMU_HTTP_ENDPOINT"
	EnvLogFormat            = "IMDSEMU_LOG_FORMAT"
	EnvRotationInterval     = "IMDSEMU_ROTATION_INTERVAL"
	EnvSessionDuration      = "IMDSEMU_SESSION_DURATION"
	EnvHopLimit             = "IMDSEMU_HOP_LIMIT"
	EnvIPv6Addr             = "IMDSEMU_IPV6_ADDR"
	EnvECSAddr              = "IMDSEMU_ECS_ADDR"
	EnvExtendedCredentials  = "IMDSEMU_EXTENDED_CREDENTIALS"
	EnvInstanceMetadataTags = "IMDSEMU_INSTANCE_METADATA_TAGS"
	EnvThrottleRPS          = "IMDSEMU_THROTTLE_RPS"
	EnvThrottleBurst        = "IMDSEMU_THROTTLE_BURST"
	EnvStartScenario        = "IMDSEMU_START_SCENARIO"
	EnvSTSAddr              = "IMDSEMU_STS_ADDR"
	EnvIAMAddr              = "IMDSEMU_IAM_ADDR"
	EnvAllowedHosts         = "IMDSEMU_ALLOWED_HOSTS"
	EnvMaxConnections       = "IMDSEMU_MAX_CONNECTIONS"
	EnvAdminTokenFile       = "IMDSEMU_ADMIN_TOKEN_FILE"
)

// The CLI's defaults for the listeners (also in Settings' default tags).
const (
	DefaultMetadataAddr = "127.0.0.1:1338"
	DefaultAdminAddr    = "127.0.0.1:1340"
	DefaultSTSAddr      = "127.0.0.1:1339"
)

// Binding is one setting that the environment or a flag can set.
type Binding struct {
	Path  string // YAML path, such as rotation.interval
	Env   string // IMDSEMU_* variable, or ""
	Flag  string // flag name without dashes, or ""
	Help  string
	Def   string // the CLI's default when Settings leaves it zero, or ""
	index []int
}

// Bindings lists the settings with an env or flag tag, in field order.
func Bindings() []Binding { return bindings(reflect.TypeFor[Settings](), "", nil) }

func bindings(t reflect.Type, prefix string, idx []int) []Binding {
	var out []Binding
	for i := range t.NumField() {
		sf := t.Field(i)
		path := join(prefix, strings.Split(sf.Tag.Get("yaml"), ",")[0])
		index := append(append([]int(nil), idx...), i)
		env, flag := sf.Tag.Get("env"), sf.Tag.Get("flag")
		switch {
		case env != "" || flag != "":
			out = append(out, Binding{Path: path, Env: env, Flag: flag, Help: sf.Tag.Get("help"), Def: sf.Tag.Get("default"), index: index})
		case sf.Type.Kind() == reflect.Struct && sf.Type.PkgPath() == t.PkgPath():
			out = append(out, bindings(sf.Type, path, index)...)
		}
	}
	return out
}

// field returns the bound field of s. A pointer field gets a new pointer
// (to a copy of its value, if any), so that setting the field never writes
// through a pointer that s shares with another Settings.
func (b Binding) field(s *Settings) reflect.Value {
	v := reflect.ValueOf(s).Elem().FieldByIndex(b.index)
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if !v.IsNil() {
			p.Elem().Set(v.Elem())
		}
		v.Set(p)
		v = p.Elem()
	}
	return v
}

// setString parses text into v by its type: a duration (Go or whole
// seconds), whole number, number, boolean, string or list of strings
// (comma-separated, blanks trimmed, empty items dropped). The config file,
// the environment and the flags all go through it.
func setString(v reflect.Value, text string) error {
	switch {
	case v.Type() == stringsType:
		var items []string
		for _, item := range strings.Split(text, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
	case v.Type() == durationType || v.Type() == faultDurationType:
		d, err := parseDuration(text)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(text)
		if err != nil {
			return fmt.Errorf("must be %s, got %q", noun(v.Type()), text)
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("must be %s, got %q", noun(v.Type()), text)
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Bool:
		b, ok := parseBool(text)
		if !ok {
			return fmt.Errorf(`must be "true" or "false", got %q`, text)
		}
		v.SetBool(b)
	default:
		v.SetString(text)
	}
	return nil
}

// override sets the bindings in values (name(b) to its text) over s. A
// value that does not parse, or that Validate rejects, is reported as a
// *Error whose Field is name(b) and leaves s's field as it was; the others
// are applied. Errors are in field order.
func override(s *Settings, values map[string]string, name func(Binding) string) error {
	try := *s
	bad := map[string]string{}
	var set []Binding
	for _, b := range Bindings() {
		text, ok := values[name(b)]
		if !ok {
			continue
		}
		if err := setString(b.field(&try), text); err != nil {
			bad[b.Path] = err.Error()
		}
		set = append(set, b)
	}
	for _, e := range unjoin(try.Validate()) {
		var ce *Error
		if !errors.As(e, &ce) {
			continue
		}
		field, _, _ := strings.Cut(ce.Field, "[") // an item of a list setting: the list's variable or flag
		if bad[field] == "" {
			bad[field] = ce.Msg
		}
	}
	var errs []error
	for _, b := range set {
		if msg, ok := bad[b.Path]; ok {
			errs = append(errs, &Error{Field: name(b), Msg: msg})
			continue
		}
		b.field(s).Set(b.field(&try))
	}
	return errors.Join(errs...)
}

// ApplyEnv overrides s with the IMDSEMU_* environment variables that are set
// and not empty, read through getenv (os.Getenv in the CLI). Environment wins
// over the config file; the CLI applies flags after this, so flags win over
// both. A bad value is a *Error whose Field is the variable's name; every bad
// variable is reported (errors.Join) and good ones are still applied.
func ApplyEnv(s *Settings, getenv func(string) string) error {
	values := map[string]string{}
	for _, b := range Bindings() {
		if v := getenv(b.Env); b.Env != "" && v != "" {
			values[b.Env] = v
		}
	}
	return override(s, values, func(b Binding) string { return b.Env })
}

// Flags are the flags of `imdsemu serve`, one for each setting with a flag
// tag, plus --config. Make them with BindFlags.
type Flags struct {
	fs     *pflag.FlagSet
	config string
}

// BindFlags registers --config and a flag for every setting with a flag tag
// on fs. Each flag's help names its environment variable and shows the
// default the CLI applies.
func BindFlags(fs *pflag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.config, "config", "", "YAML config file (env "+EnvConfig+")")
	defaults := Default().Settings
	applyDefaults(&defaults)
	for _, b := range Bindings() {
		if b.Flag == "" {
			continue
		}
		help := b.Help
		if b.Env != "" {
			help += " (env " + b.Env + ")"
		}
		v := reflect.New(b.field(&defaults).Type()).Elem()
		v.Set(b.field(&defaults))
		fl := fs.VarPF(flagValue{v}, b.Flag, "", help)
		if v.Kind() == reflect.Bool {
			fl.NoOptDefVal = "true"
		}
	}
	return f
}

// Apply overrides s with the flags given on the command line. A value
// Validate rejects is a *Error whose Field is the flag (--hop-limit).
func (f *Flags) Apply(s *Settings) error {
	values := map[string]string{}
	f.fs.Visit(func(fl *pflag.Flag) { values["--"+fl.Name] = fl.Value.String() })
	return override(s, values, func(b Binding) string { return "--" + b.Flag })
}

// flagValue is a pflag.Value over one setting.
type flagValue struct{ v reflect.Value }

// Set sets the value; a list flag given more than once (--allowed-hosts a
// --allowed-hosts b) adds to what it holds.
func (f flagValue) Set(text string) error {
	if f.v.Type() != stringsType {
		return setString(f.v, text)
	}
	more := reflect.New(stringsType).Elem()
	if err := setString(more, text); err != nil {
		return err
	}
	f.v.Set(reflect.AppendSlice(f.v, more))
	return nil
}

func (f flagValue) String() string {
	if !f.v.IsValid() {
		return ""
	}
	if f.v.Type() == stringsType {
		return strings.Join(f.v.Interface().([]string), ",")
	}
	return fmt.Sprint(f.v.Interface())
}

func (f flagValue) Type() string {
	switch f.v.Type() {
	case durationType:
		return "duration"
	case stringsType:
		return "strings"
	}
	return f.v.Kind().String()
}

// applyDefaults sets every zero setting that has a default tag.
func applyDefaults(s *Settings) {
	for _, b := range Bindings() {
		if b.Def == "" {
			continue
		}
		v := reflect.ValueOf(s).Elem().FieldByIndex(b.index)
		if v.IsZero() {
			_ = setString(b.field(s), b.Def) // the tags are tested
		}
	}
}

// fillZero sets the zero fields of dst, a struct, to src's.
func fillZero(dst, src reflect.Value) {
	for i := range dst.NumField() {
		if f := dst.Field(i); f.Kind() == reflect.Struct {
			fillZero(f, src.Field(i))
		} else if f.IsZero() {
			f.Set(src.Field(i))
		}
	}
}

// Resolve merges, over Default, the config file (--config, else
// IMDSEMU_CONFIG), the environment and the flags, in that order, fills in
// the CLI's defaults and the data directory, and validates the result.
func (f *Flags) Resolve(getenv func(string) string) (Settings, rolestore.Seed, error) {
	path := f.config
	if path == "" {
		path = getenv(EnvConfig)
	}
	file := Default()
	if path != "" {
		var err error
		if file, err = Load(path); err != nil {
			return Settings{}, rolestore.Seed{}, err
		}
		// A relative data-dir in a config file is relative to that file,
		// so the file works wherever it is started from.
		if d := file.Settings.DataDir; d != "" && !filepath.IsAbs(d) {
			file.Settings.DataDir = filepath.Join(filepath.Dir(path), d)
		}
	}
	s := file.Settings
	if err := ApplyEnv(&s, getenv); err != nil {
		return Settings{}, rolestore.Seed{}, err
	}
	profile := s.Instance.Profile // "" is no profile, not "unset"
	fillZero(reflect.ValueOf(&s).Elem(), reflect.ValueOf(Default().Settings))
	s.Instance.Profile = profile
	applyDefaults(&s)
	if err := f.Apply(&s); err != nil {
		return Settings{}, rolestore.Seed{}, err
	}
	var err error
	if s.DataDir, err = DataDir(s.DataDir, getenv); err != nil {
		return Settings{}, rolestore.Seed{}, err
	}
	if err := s.Validate(); err != nil {
		return Settings{}, rolestore.Seed{}, err
	}
	return s, file.Seed, nil
}

// Files in the data directory that serve and the other commands share.
const (
	DBFile         = "imdsemu.db"  // the SQLite store
	AdminTokenFile = "admin.token" // the control API's bearer token
)

// DataDir returns the data directory: dir if not empty, else
// IMDSEMU_DATA_DIR, else $XDG_DATA_HOME/imdsemu, else
// ~/.local/share/imdsemu. It does not create it; see MakeDataDir.
func DataDir(dir string, getenv func(string) string) (string, error) {
	switch {
	case dir != "":
		return dir, nil
	case getenv(EnvDataDir) != "":
		return getenv(EnvDataDir), nil
	case getenv("XDG_DATA_HOME") != "":
		return filepath.Join(getenv("XDG_DATA_HOME"), "imdsemu"), nil
	case getenv("HOME") != "":
		return filepath.Join(getenv("HOME"), ".local", "share", "imdsemu"), nil
	}
	return "", errors.New("no data directory: set --data-dir, " + EnvDataDir + ", XDG_DATA_HOME or HOME")
}

// MakeDataDir is DataDir, creating the directory (mode 0700) if missing.
func MakeDataDir(dir string, getenv func(string) string) (string, error) {
	dir, err := DataDir(dir, getenv)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("data directory: %w", err)
	}
	return dir, nil
}
