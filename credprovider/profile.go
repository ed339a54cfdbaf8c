package credprovider

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// ProfileSource is the Source of credentials from a [Profile].
const ProfileSource = "credprovider.Profile"

// DefaultProfileRefreshInterval is how often a Profile checks its file's
// modification time by default: Java v1's ProfileCredentialsProvider
// DEFAULT_REFRESH_INTERVAL_NANOS.
const DefaultProfileRefreshInterval = 5 * time.Minute

// ErrProfileNotFound is wrapped by the error for a profile the file lacks.
var ErrProfileNotFound = errors.New("profile not found")

// ProfileError is a failure to read static keys: it names the file and the
// profile, never a key.
type ProfileError struct {
	File    string
	Profile string
	Err     error
}

func (e *ProfileError) Error() string {
	return fmt.Sprintf("credprovider: profile %q in %s: %v", e.Profile, e.File, e.Err)
}

func (e *ProfileError) Unwrap() error { return e.Err }

// ProfileOptions configures a [Profile]. The zero value reads profile
// "default" (or $AWS_PROFILE) of the default shared credentials file.
type ProfileOptions struct {
	// Filename is the shared credentials file. Default: $AWS_SHARED_CREDENTIALS_FILE,
	// else ~/.aws/credentials.
	Filename string

	// Profile is the profile name. Default: $AWS_PROFILE, else "default".
	Profile string

	// RefreshInterval is how often Retrieve checks whether the file's
	// modification time advanced. Default DefaultProfileRefreshInterval; a
	// negative value checks on every call.
	RefreshInterval time.Duration

	// Now is the clock. Default time.Now.
	Now func() time.Time

	// Getenv reads the environment. Default os.Getenv.
	Getenv func(string) string

	// HomeDir returns the home directory for ~/.aws/credentials. Default
	// os.UserHomeDir.
	HomeDir func() (string, error)
}

// Profile provides static credentials from a profile of a shared
// credentials file, like Java v1's ProfileCredentialsProvider: the keys
// (aws_access_key_id, aws_secret_access_key and an optional
// aws_session_token) never expire, and the file is re-parsed only when its
// modification time advanced, checked at most once per RefreshInterval. A
// file that disappears after a successful read changes nothing, as in Java.
//
// Profile is safe for concurrent use.
type Profile struct {
	opts ProfileOptions

	mu      sync.Mutex
	loaded  bool            // a parse happened; creds/err hold its outcome
	creds   aws.Credentials // valid when err is nil
	err     error
	modTime time.Time // of the file at the last parse
	checked time.Time // last modification time check
}

var _ aws.CredentialsProvider = (*Profile)(nil)

// NewProfile returns a Profile. It reads nothing until the first Retrieve.
func NewProfile(optFns ...func(*ProfileOptions)) *Profile {
	var o ProfileOptions
	for _, fn := range optFns {
		fn(&o)
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HomeDir == nil {
		o.HomeDir = os.UserHomeDir
	}
	if o.RefreshInterval == 0 {
		o.RefreshInterval = DefaultProfileRefreshInterval
	}
	if o.Profile == "" {
		o.Profile = o.Getenv("AWS_PROFILE")
	}
	if o.Profile == "" {
		o.Profile = "default"
	}
	return &Profile{opts: o}
}

// Name is the profile this provider reads.
func (p *Profile) Name() string { return p.opts.Profile }

// Filename is the file this provider reads, or "" when neither the option,
// the environment nor the home directory names one.
func (p *Profile) Filename() string {
	f, _ := p.filename()
	return f
}

func (p *Profile) filename() (string, error) {
	if f := p.opts.Filename; f != "" {
		return f, nil
	}
	if f := p.opts.Getenv("AWS_SHARED_CREDENTIALS_FILE"); f != "" {
		return f, nil
	}
	home, err := p.opts.HomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("credprovider: profile %q: no credentials file: set AWS_SHARED_CREDENTIALS_FILE or HOME", p.opts.Profile)
	}
	return filepath.Join(home, ".aws", "credentials"), nil
}

// Retrieve returns the profile's static keys. It re-reads the file when its
// modification time advanced since the last read, checking at most once per
// RefreshInterval. Until the file exists it looks on every call; a parse
// error is returned until the file changes again.
func (p *Profile) Retrieve(ctx context.Context) (aws.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Now()
	if p.loaded && now.Sub(p.checked) < p.opts.RefreshInterval {
		return p.creds, p.err
	}
	file, err := p.filename()
	if err != nil {
		return aws.Credentials{}, err
	}
	fi, err := os.Stat(file)
	if err != nil {
		if p.loaded {
			// Java v1 compares lastModified(), which is 0 for a missing
			// file: a deleted file never looks newer, so the keys stay.
			p.checked = now
			return p.creds, p.err
		}
		return aws.Credentials{}, &ProfileError{File: file, Profile: p.opts.Profile, Err: err}
	}
	if p.loaded && !fi.ModTime().After(p.modTime) {
		p.checked = now
		return p.creds, p.err
	}
	creds, err := p.load(file)
	if err != nil && !p.loaded && errors.Is(err, os.ErrNotExist) {
		return aws.Credentials{}, err // removed between Stat and read: try again next call
	}
	p.loaded, p.creds, p.err = true, creds, err
	p.modTime, p.checked = fi.ModTime(), now
	return p.creds, p.err
}

// load parses file and extracts the profile's keys.
func (p *Profile) load(file string) (aws.Credentials, error) {
	fail := func(err error) (aws.Credentials, error) {
		return aws.Credentials{}, &ProfileError{File: file, Profile: p.opts.Profile, Err: err}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fail(err)
	}
	ini, err := parseINI(data)
	if err != nil {
		return fail(err)
	}
	props, ok := ini[p.opts.Profile]
	if !ok {
		return fail(ErrProfileNotFound)
	}
	id, secret := props["aws_access_key_id"], props["aws_secret_access_key"]
	switch {
	case id == "" && secret == "":
		return fail(errors.New("no static keys (aws_access_key_id and aws_secret_access_key)"))
	case id == "":
		return fail(errors.New("aws_secret_access_key without aws_access_key_id"))
	case secret == "":
		return fail(errors.New("aws_access_key_id without aws_secret_access_key"))
	}
	return aws.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: secret,
		SessionToken:    props["aws_session_token"],
		AccountID:       props["aws_account_id"],
		Source:          ProfileSource,
	}, nil
}
