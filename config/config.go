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

// Settings are the settings of `imdsemu serve`. Each field's tags say where
// it is set from: yaml is its key in the config file (a path below the file's
// root), env its IMDSEMU_* variable, flag its command-line flag (see
// BindFlags), help the flag's help text, and default the value the CLI uses
// when nothing sets it; check, enum, match and must say what Validate
// accepts (see tagChecker). Adding a setting is adding a field here. Empty
// addresses and data directory mean "the CLI's default".
type Settings struct {
	MetadataAddr string `yaml:"metadata-addr" env:"IMDSEMU_METADATA_ADDR" flag:"metadata-addr" default:"127.0.0.1:1338" help:"address of the metadata listener" check:"addr"`
	AdminAddr    string `yaml:"admin-addr" env:"IMDSEMU_ADMIN_ADDR" flag:"admin-addr" default:"127.0.0.1:1340" help:"address of the admin listener (/metrics, /healthz, control API)" check:"addr"`
	DataDir      string `yaml:"data-dir" env:"IMDSEMU_DATA_DIR" flag:"data-dir" help:"directory for the database and keys; default $XDG_DATA_HOME/imdsemu, else ~/.local/share/imdsemu"`
	// HTTPTokens is HTTPTokensOptional (IMDSv1 and v2) or HTTPTokensRequired (v2 only).
	HTTPTokens string `yaml:"http-tokens" env:"IMDSEMU_HTTP_TOKENS" flag:"http-tokens" help:"IMDSv2 tokens: optional or required" enum:"optional|required"`
	// HTTPEndpoint is HTTPEndpointEnabled or HTTPEndpointDisabled.
	HTTPEndpoint string `yaml:"http-endpoint" env:"IMDSEMU_HTTP_ENDPOINT" flag:"http-endpoint" help:"metadata endpoint: enabled or disabled (403 to everything)" enum:"enabled|disabled"`
	// LogFormat is LogFormatText or LogFormatJSON.
	LogFormat string   `yaml:"log-format" env:"IMDSEMU_LOG_FORMAT" flag:"log-format" help:"log format: text or json" enum:"text|json"`
	Rotation  Rotation `yaml:"rotation"`
	Instance  Instance `yaml:"instance"`
	// Instances, when given, are the instances the server emulates at once
	// instead of Instance, each serving the clients its Match names
	// (instances.go); DefaultInstance names the one that serves clients no
	// instance matches ("": those get 404).
	Instances       []InstanceEntry `yaml:"instances"`
	DefaultInstance string          `yaml:"default-instance" match:"^i-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be the id of one of instances"`

	// IPv6Addr and ECSAddr are the optional IPv6 metadata listener (such as
	// [fd00:ec2::254]:80) and ECS container credentials listener; "" means
	// none.
	IPv6Addr string `yaml:"ipv6-addr" env:"IMDSEMU_IPV6_ADDR" flag:"ipv6-addr" help:"also serve metadata on this address, e.g. \"[fd00:ec2::254]:80\" (only inside a container or network namespace)" check:"addr"`
	ECSAddr  string `yaml:"ecs-addr" env:"IMDSEMU_ECS_ADDR" flag:"ecs-addr" help:"serve the ECS container credentials endpoint on this address, e.g. \"127.0.0.1:1341\"" check:"addr"`
	// HopLimit is the IP TTL of token PUT responses, 1–64; 0 means the
	// CLI's default (1).
	HopLimit int `yaml:"hop-limit" env:"IMDSEMU_HOP_LIMIT" flag:"hop-limit" default:"1" help:"IP TTL (hop limit) of token PUT responses, 1-64, like EC2's HttpPutResponseHopLimit" min:"0" max:"64" must:"be from 1 to 64"`
	// ExtendedCredentials serves iam/security-credentials-extended/; nil
	// means the CLI's default (on).
	ExtendedCredentials *bool `yaml:"extended-credentials" env:"IMDSEMU_EXTENDED_CREDENTIALS" flag:"extended-credentials" default:"true" help:"serve iam/security-credentials-extended/ (credentials plus AccountId); false answers 404 there"`
	// InstanceMetadataTags serves tags/instance/.
	InstanceMetadataTags bool `yaml:"instance-metadata-tags" env:"IMDSEMU_INSTANCE_METADATA_TAGS" flag:"instance-metadata-tags" help:"serve the instance tags under tags/instance/"`
	// Throttle limits each metadata client; the zero value is off.
	Throttle Throttle `yaml:"throttle"`

	// Scenarios are named timelines of fault rules (see package fault), in
	// file order; StartScenario, when set, names the one serve starts with.
	Scenarios     []fault.Scenario `yaml:"scenarios"`
	StartScenario string           `yaml:"start-scenario" env:"IMDSEMU_START_SCENARIO" flag:"start-scenario" help:"start this fault scenario (defined under scenarios: in the config file) at once"`

	// STSAddr is the STS Query API listener; "" means the CLI's default.
	STSAddr string `yaml:"sts-addr" env:"IMDSEMU_STS_ADDR" flag:"sts-addr" default:"127.0.0.1:1339" help:"address of the STS Query API listener" check:"addr"`
	// IAMAddr, when set, is a listener of its own for the IAM Query API,
	// which the STS listener serves too; "" means none.
	IAMAddr string `yaml:"iam-addr" env:"IMDSEMU_IAM_ADDR" flag:"iam-addr" help:"also serve the IAM Query API on this address of its own, e.g. \"127.0.0.1:1342\" (the STS listener always serves it)" check:"addr"`

	// AllowedHosts are Host names the metadata, ECS and admin listeners
	// answer to besides their own addresses, "localhost" and IP literals
	// (internal/httpserve's guard against DNS rebinding): a Compose service
	// name, say. Names only, no ports.
	AllowedHosts []string `yaml:"allowed-hosts" env:"IMDSEMU_ALLOWED_HOSTS" flag:"allowed-hosts" help:"more Host names the metadata, ECS and admin listeners answer to (comma-separated), such as a Compose service name; others get 403" check:"host"`
	// MaxConnections caps the connections each listener holds open; 0
	// means the default, a quarter of the open-file limit less a reserve
	// (httpserve.DefaultMaxConns); at most 1<<20, fs.nr_open's default: a
	// listener cannot hold more connections than a process can open files.
	MaxConnections int `yaml:"max-connections" env:"IMDSEMU_MAX_CONNECTIONS" flag:"max-connections" help:"connections each listener holds open at most; further ones wait in the kernel's queue (0: a quarter of the open-file limit less 128, 16 to 4096)" min:"0" max:"1048576" must:"be 0 (the default: a quarter of the open-file limit) or from 1 to 1048576"`

	// AdminTokenFile, when set, holds the control API's bearer token (a
	// mounted Kubernetes Secret, say); "" means admin.token in the data
	// directory, created at the first start.
	AdminTokenFile string `yaml:"admin-token-file" env:"IMDSEMU_ADMIN_TOKEN_FILE" flag:"admin-token-file" help:"read the control API's bearer token from this file (a mounted secret) instead of admin.token in the data directory"`
}

// Rotation says how often the refresher mints a new generation of
// credentials (Interval) and how long each generation lives (SessionDuration).
type Rotation struct {
	Interval        time.Duration `yaml:"interval" env:"IMDSEMU_ROTATION_INTERVAL" flag:"rotation-interval" help:"how often a new credential generation is minted"`
	SessionDuration time.Duration `yaml:"session-duration" env:"IMDSEMU_SESSION_DURATION" flag:"session-duration" help:"lifetime of each credential generation"`
}

// Throttle limits each metadata client (remote IP) to a token bucket: Burst
// requests at once, RPS a second after that. RPS 0 means off.
type Throttle struct {
	RPS   float64 `yaml:"rps" env:"IMDSEMU_THROTTLE_RPS" flag:"throttle-rps" help:"limit each client IP to this many metadata requests a second (429 beyond); 0 is off"`
	Burst int     `yaml:"burst" env:"IMDSEMU_THROTTLE_BURST" flag:"throttle-burst" help:"requests a client may make at once under --throttle-rps (0: the rate rounded up)" min:"0" must:"be 0 (the rate rounded up) or more"`
}

// Instance describes the emulated EC2 instance: the instance: section of the
// file. "" means Default's value for the first six fields and the metadata
// server's default for the metadata tree (see imds.Instance).
type Instance struct {
	ID               string `yaml:"id" match:"^i-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"i-\" followed by 8 or 17 lowercase hex digits"`
	Type             string `yaml:"type" match:"^[a-z0-9-]+\\.[a-z0-9-]+$" must:"look like \"t3.micro\""`
	Region           string `yaml:"region" match:"^[a-z]{2}(-[a-z]+)+-[0-9]+$" must:"look like \"us-east-1\""`
	AvailabilityZone string `yaml:"availability-zone" check:"zone"`
	Account          string `yaml:"account" match:"^[0-9]{12}$" must:"be 12 digits"`
	// Profile is the name of the instance profile attached to the instance,
	// in Account; "" means none (IMDS then serves no credentials).
	Profile string `yaml:"profile" match:"^[\\w+=,.@-]{1,128}$" must:"match [\\w+=,.@-]{1,128}"`

	// The metadata tree. PublicIPv4 "" means no public address.
	AMIID              string `yaml:"ami-id" match:"^ami-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"ami-\" followed by 8 or 17 lowercase hex digits"`
	Hostname           string `yaml:"hostname" match:"^[A-Za-z0-9]([A-Za-z0-9.-]{0,253}[A-Za-z0-9])?$" must:"be a DNS name such as ip-10-0-0-1.ec2.internal"`
	LocalIPv4          string `yaml:"local-ipv4" check:"ipv4"`
	PublicIPv4         string `yaml:"public-ipv4" check:"ipv4"`
	MAC                string `yaml:"mac" check:"mac"`
	AvailabilityZoneID string `yaml:"availability-zone-id" match:"^[a-z]{2,}[0-9]+-az[0-9]+$" must:"look like \"use1-az1\""`
	// Tags are served under tags/instance/ when InstanceMetadataTags is on.
	Tags map[string]string `yaml:"tags"`
	// UserData is served at /latest/user-data; UserDataFile names a file
	// whose contents are (relative to the config file). At most one.
	UserData     string `yaml:"user-data"`
	UserDataFile string `yaml:"user-data-file"`

	// The rest of the tree (docs/metadata.md); zero values mean
	// imds.Instance's defaults, or the category left out.
	LifeCycle       string   `yaml:"life-cycle" match:"^(on-demand|spot)$" must:"be on-demand or spot"`
	AutoScaling     bool     `yaml:"auto-scaling"`
	AMILaunchIndex  int      `yaml:"ami-launch-index" min:"0" must:"be 0 or more"`
	AMIManifestPath string   `yaml:"ami-manifest-path" match:"^[ -~]+$" must:"be one line of printable ASCII"`
	ReservationID   string   `yaml:"reservation-id" match:"^r-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"r-\" followed by 8 or 17 lowercase hex digits"`
	KernelID        string   `yaml:"kernel-id" match:"^aki-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"aki-\" followed by 8 or 17 lowercase hex digits"`
	RamdiskID       string   `yaml:"ramdisk-id" match:"^ari-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"ari-\" followed by 8 or 17 lowercase hex digits"`
	ProductCodes    []string `yaml:"product-codes" match:"^[a-z0-9]+$" must:"be a product code (lowercase letters and digits)"`
	// SecurityGroups are names and SecurityGroupIDs their ids, in the same
	// order; both left out means one group, default.
	SecurityGroups   []string `yaml:"security-groups"`
	SecurityGroupIDs []string `yaml:"security-group-ids" match:"^sg-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"sg-\" followed by 8 or 17 lowercase hex digits"`
	InterfaceID      string   `yaml:"interface-id" match:"^eni-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"eni-\" followed by 8 or 17 lowercase hex digits"`
	SubnetID         string   `yaml:"subnet-id" match:"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"subnet-\" followed by 8 or 17 lowercase hex digits"`
	VPCID            string   `yaml:"vpc-id" match:"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"vpc-\" followed by 8 or 17 lowercase hex digits"`
	SubnetCIDR       string   `yaml:"subnet-ipv4-cidr-block" check:"cidr4"`
	VPCCIDR          string   `yaml:"vpc-ipv4-cidr-block" check:"cidr4"`
	IPv6             string   `yaml:"ipv6" check:"ipv6"`
	PlacementGroup   string   `yaml:"placement-group" match:"^[ -~]+$" must:"be one line of printable ASCII"`
	PartitionNumber  int      `yaml:"partition-number" min:"0" max:"7" must:"be from 1 to 7 (a partition placement group has at most 7)"`
	HostID           string   `yaml:"host-id" match:"^h-([0-9a-f]{8}|[0-9a-f]{17})$" must:"be \"h-\" followed by 8 or 17 lowercase hex digits"`
	// KeyName and PublicKey are the launch key pair (public-keys/0).
	KeyName            string   `yaml:"key-name" match:"^[ -~]+$" must:"be one line of printable ASCII"`
	PublicKey          string   `yaml:"public-key"`
	RootDevice         string   `yaml:"root-device" match:"^(/dev/)?[a-z][a-z0-9]*$" must:"be a device name such as /dev/xvda"`
	EBSDevices         []string `yaml:"ebs-devices" match:"^(/dev/)?[a-z][a-z0-9]*$" must:"be a device name such as sdb"`
	EphemeralDevices   []string `yaml:"ephemeral-devices" match:"^(/dev/)?[a-z][a-z0-9]*$" must:"be a device name such as sdb"`
	DetailedMonitoring bool     `yaml:"detailed-monitoring"`
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
// is the YAML path of the setting (roles[1].max-session-duration), the
// environment variable's name or the flag (--hop-limit).
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
