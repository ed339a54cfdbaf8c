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

// Intervals of Java v1's ProfileCredentialsProvider (aws-java-sdk-core
// 1.11/1.12, auth/profile/ProfileCredentialsProvider.java).
const (
	// DefaultProfileRefreshInterval: after this long one caller checks the
	// file while the others go on (DEFAULT_REFRESH_INTERVAL_NANOS, 5 min,
	// refreshSemaphore.tryAcquire).
	DefaultProfileRefreshInterval = 5 * time.Minute
	// DefaultProfileForceInterval: after this long every caller checks,
	// blocking (DEFAULT_FORCE_RELOAD_INTERVAL_NANOS, 2 × the refresh
	// interval).
	DefaultProfileForceInterval = 10 * time.Minute
)

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
	// Filename is the credentials file. Default:
	// $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. (Java v1
	// reads AWS_CREDENTIAL_PROFILES_FILE; the lab names the file itself.)
	Filename string
	// Profile is the profile name. Default: $AWS_PROFILE, else "default".
	Profile string
	// RefreshInterval and ForceInterval: see DefaultProfileRefreshInterval
	// and DefaultProfileForceInterval, the defaults.
	RefreshInterval, ForceInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Getenv reads the environment. Default os.Getenv.
	Getenv func(string) string
	// HomeDir returns the home directory. Default os.UserHomeDir.
	HomeDir func() (string, error)
}

// Profile models Java v1's ProfileCredentialsProvider over
// ProfilesConfigFile (aws-java-sdk-core 1.11/1.12):
//
//   - the file is parsed in Java v1's dialect (see parseJavaV1: '#'
//     comments only, no inline comments, case-sensitive keys) on the first
//     call, which fails if the file is missing;
//   - a call more than RefreshInterval after the last refresh lets one
//     caller refresh (the others get the current keys at once); more than
//     ForceInterval after, every caller refreshes, blocking;
//   - a refresh re-parses only when the file's modification time grew
//     (ProfilesConfigFile.refresh: lastModified() > profileFileLastModified).
//     A deleted file's lastModified() is 0, so deleting it changes nothing:
//     the keys survive. A re-parse that fails throws once, to the caller
//     that refreshed; the modification time is already recorded, so later
//     calls keep the previous keys;
//   - the keys never expire.
//
// Profile is safe for concurrent use and starts no goroutine.
type Profile struct {
	opts    ProfileOptions
	refresh chan struct{} // refreshSemaphore (1 permit): one refresher at a time

	mu        sync.Mutex
	loaded    bool
	all       profiles
	modTime   time.Time // profileFileLastModified
	refreshed time.Time // lastRefreshed
}

var _ Observed = (*Profile)(nil)

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
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = DefaultProfileRefreshInterval
	}
	if o.ForceInterval <= 0 {
		o.ForceInterval = DefaultProfileForceInterval
	}
	if o.Profile == "" {
		o.Profile = o.Getenv("AWS_PROFILE")
	}
	if o.Profile == "" {
		o.Profile = "default"
	}
	return &Profile{opts: o, refresh: make(chan struct{}, 1)}
}

// Name is the profile this provider reads.
func (p *Profile) Name() string { return p.opts.Profile }

// Filename is the file this provider reads, or "" when nothing names one.
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

// Retrieve is getCredentials.
func (p *Profile) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, _, err := p.RetrieveOutcome(ctx)
	return c, err
}

// RetrieveOutcome is Retrieve; Source is "fetch" when this call parsed the
// file.
func (p *Profile) RetrieveOutcome(context.Context) (aws.Credentials, Outcome, error) {
	file, err := p.filename()
	if err != nil {
		return aws.Credentials{}, Outcome{}, err
	}
	out := Outcome{Source: SourceCache}
	p.mu.Lock()
	loaded, age := p.loaded, p.opts.Now().Sub(p.refreshed)
	p.mu.Unlock()
	switch {
	case !loaded || age > p.opts.ForceInterval:
		out.Blocked = true
		p.refresh <- struct{}{}
		parsed, err := p.reload(file, !loaded)
		<-p.refresh
		if err != nil {
			return aws.Credentials{}, out, &ProfileError{File: file, Profile: p.opts.Profile, Err: err}
		}
		if parsed {
			out.Source = SourceFetch
		}
	case age > p.opts.RefreshInterval:
		select {
		case p.refresh <- struct{}{}:
			out.Blocked = true
			parsed, err := p.reload(file, false)
			<-p.refresh
			if err != nil {
				return aws.Credentials{}, out, &ProfileError{File: file, Profile: p.opts.Profile, Err: err}
			}
			if parsed {
				out.Source = SourceFetch
			}
		default:
		}
	}
	p.mu.Lock()
	props, ok := p.all[p.opts.Profile]
	p.mu.Unlock()
	if !ok {
		return aws.Credentials{}, out, &ProfileError{File: file, Profile: p.opts.Profile, Err: ErrProfileNotFound}
	}
	c, err := staticKeys(props)
	if err != nil {
		return aws.Credentials{}, out, &ProfileError{File: file, Profile: p.opts.Profile, Err: err}
	}
	return c, out, nil
}

// reload is the first load (first) or ProfilesConfigFile.refresh; it
// reports whether it parsed the file.
func (p *Profile) reload(file string, first bool) (bool, error) {
	now := p.opts.Now()
	var mtime time.Time // zero for a missing file: Java's lastModified() = 0
	if fi, err := os.Stat(file); err == nil {
		mtime = fi.ModTime()
	} else if first {
		return false, err
	}
	p.mu.Lock()
	if !first && !mtime.After(p.modTime) {
		p.refreshed = now
		p.mu.Unlock()
		return false, nil
	}
	p.modTime = mtime
	p.mu.Unlock()
	data, err := os.ReadFile(file)
	var all profiles
	if err == nil {
		all, err = parseJavaV1(data)
	}
	if err != nil {
		return false, err // lastRefreshed stays: the next call refreshes again
	}
	p.mu.Lock()
	p.all, p.loaded, p.refreshed = all, true, now
	p.mu.Unlock()
	return true, nil
}

// staticKeys is ProfileStaticCredentialsProvider: aws_access_key_id and
// aws_secret_access_key, spelled exactly so, and aws_session_token.
func staticKeys(props map[string]string) (aws.Credentials, error) {
	id, secret := props["aws_access_key_id"], props["aws_secret_access_key"]
	switch {
	case id == "" && secret == "":
		return aws.Credentials{}, errors.New("no static keys (aws_access_key_id and aws_secret_access_key)")
	case id == "":
		return aws.Credentials{}, errors.New("aws_secret_access_key without aws_access_key_id")
	case secret == "":
		return aws.Credentials{}, errors.New("aws_access_key_id without aws_secret_access_key")
	}
	return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: props["aws_session_token"], Source: ProfileSource}, nil
}
