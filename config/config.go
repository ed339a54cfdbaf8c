package config

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/fault"
	"github.com/imdsemu/imdsemu/rolestore"
)

// Allowed values of the enumerated settings.
const (
	HTTPTokensOptional   = "optional"
	HTTPTokensRequired   = "required"
	HTTPEndpointEnabled  = "enabled"
	HTTPEndpointDisabled = "disabled"
	LogFormatText        = "text"
	LogFormatJSON        = "json"
)

// What Default declares.
const (
	DefaultAccountID        = "123456789012"
	DefaultAccountAlias     = "imdsemu"
	DefaultRoleName         = "imdsemu-demo"
	DefaultProfileName      = "imdsemu-demo"
	DefaultInstanceID       = "i-0123456789abcdef0"
	DefaultInstanceType     = "t3.micro"
	DefaultRegion           = "us-east-1"
	DefaultAvailabilityZone = "us-east-1a"
	DefaultRotationInterval = time.Hour
	DefaultSessionDuration  = 6 * time.Hour

	// EC2TrustPolicy lets EC2 assume a role: the trust policy the IAM
	// console writes for an EC2 role, and the default for a role in a config
	// file that gives none.
	EC2TrustPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

	// defaultRolePolicy is the demo role's one permission: a harmless,
	// read-only call that works with any credentials anyway.
	defaultRolePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`
)

// Rotation says how often the refresher mints a new generation of
// credentials (Interval) and how long each generation lives (SessionDuration).
type Rotation struct {
	Interval, SessionDuration time.Duration
}

// Instance describes the emulated EC2 instance.
type Instance struct {
	ID, Type, Region, AvailabilityZone string
	// Profile is the name of the instance profile attached to the instance,
	// in Account; "" means none (IMDS then serves no credentials).
	Profile string
	Account string

	// The metadata tree; "" means the metadata server's default (see
	// imds.Instance). PublicIPv4 "" means no public address.
	AMIID, Hostname, LocalIPv4, PublicIPv4, MAC, AvailabilityZoneID string
	// Tags are served under tags/instance/ when InstanceMetadataTags is on.
	Tags map[string]string
	// UserData is served at /latest/user-data; UserDataFile names a file
	// whose contents are (relative to the config file). At most one.
	UserData, UserDataFile string
}

// Settings are the scalar settings of `imdsemu serve`. Empty addresses and
// data directory mean "the CLI's default".
type Settings struct {
	MetadataAddr, AdminAddr, DataDir string
	// HTTPTokens is HTTPTokensOptional (IMDSv1 and v2) or HTTPTokensRequired (v2 only).
	HTTPTokens string
	// HTTPEndpoint is HTTPEndpointEnabled or HTTPEndpointDisabled.
	HTTPEndpoint string
	// LogFormat is LogFormatText or LogFormatJSON.
	LogFormat string
	Rotation  Rotation
	Instance  Instance

	// IPv6Addr and ECSAddr are the optional IPv6 metadata listener (such as
	// [fd00:ec2::254]:80) and ECS container credentials listener; "" means
	// none.
	IPv6Addr, ECSAddr string
	// HopLimit is the IP TTL of token PUT responses, 1–64; 0 means the
	// CLI's default (1).
	HopLimit int
	// ExtendedCredentials serves iam/security-credentials-extended/; nil
	// means the CLI's default (on).
	ExtendedCredentials *bool
	// InstanceMetadataTags serves tags/instance/.
	InstanceMetadataTags bool
	// Throttle limits each metadata client; the zero value is off.
	Throttle Throttle

	// Scenarios are named timelines of fault rules (see package fault);
	// StartScenario, when set, names the one serve starts with.
	Scenarios     []fault.Scenario
	StartScenario string

	// STSAddr is the STS Query API listener; "" means the CLI's default.
	STSAddr string
}

// File is a loaded config file: settings plus the entities to seed the store with.
type File struct {
	Settings Settings
	Seed     rolestore.Seed
}

// Default returns the configuration used when there is no config file: one
// account, one role trusted by EC2 with a harmless read-only policy, one
// instance profile holding it, attached to one instance. Addresses and the
// data directory are left empty for the CLI to fill. Each call returns new
// values.
func Default() *File {
	return &File{Settings: defaultSettings(), Seed: defaultSeed()}
}

func defaultSettings() Settings {
	return Settings{
		HTTPTokens:   HTTPTokensOptional,
		HTTPEndpoint: HTTPEndpointEnabled,
		LogFormat:    LogFormatText,
		Rotation:     Rotation{Interval: DefaultRotationInterval, SessionDuration: DefaultSessionDuration},
		Instance: Instance{
			ID:               DefaultInstanceID,
			Type:             DefaultInstanceType,
			Region:           DefaultRegion,
			AvailabilityZone: DefaultAvailabilityZone,
			Profile:          DefaultProfileName,
			Account:          DefaultAccountID,
		},
	}
}

func defaultSeed() rolestore.Seed {
	return rolestore.Seed{
		Accounts: []rolestore.Account{{ID: DefaultAccountID, Alias: DefaultAccountAlias}},
		Roles: []rolestore.Role{{
			AccountID:          DefaultAccountID,
			Name:               DefaultRoleName,
			Path:               "/",
			Description:        "imdsemu demo role",
			TrustPolicy:        EC2TrustPolicy,
			Policies:           map[string]string{"get-caller-identity": defaultRolePolicy},
			MaxSessionDuration: time.Hour,
			Tags:               []rolestore.Tag{{Key: "created-by", Value: "imdsemu"}},
		}},
		InstanceProfiles: []rolestore.InstanceProfile{{
			AccountID: DefaultAccountID,
			Name:      DefaultProfileName,
			Path:      "/",
			Roles:     []string{DefaultRoleName},
		}},
	}
}

// Load reads and parses the config file at path; see Parse.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Error is a problem in a config file or the environment. File is empty for
// environment variables; Line and Column are 1-based, 0 when unknown. Field
// is the YAML path of the setting (roles[1].max-session-duration) or the
// environment variable's name.
type Error struct {
	File         string
	Line, Column int
	Field        string
	Msg          string
}

// Error renders "imdsemu.yaml:14:27: roles[1].max-session-duration: must be
// between 1h0m0s and 12h0m0s, got 13h".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}
