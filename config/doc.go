// Package config reads the YAML config file of `imdsemu serve` and the
// IMDSEMU_* environment variables into Settings and a rolestore.Seed.
//
// # Precedence
//
// Default supplies every setting; a config file (Load, Parse) overrides what
// it sets; ApplyEnv overrides with the environment; flags (BindFlags,
// Flags.Apply) win over both. Flags.Resolve does all of it for
// `imdsemu serve`, fills in the CLI's defaults and the data directory
// (DataDir), and validates the result (Settings.Validate).
//
// Each field of Settings names its YAML key, environment variable, flag,
// help and CLI default in struct tags, so that a new setting is one field
// (plus its check in Validate). The entities are decoded the same way into
// tagged structs and then converted to rolestore types.
//
// # The file
//
//	metadata-addr: 127.0.0.1:1338    # host:port; empty = the CLI's default
//	admin-addr: 127.0.0.1:1340
//	data-dir: ./data                 # as written; the CLI resolves it
//	http-tokens: optional            # optional | required
//	http-endpoint: enabled           # enabled | disabled
//	log-format: text                 # text | json
//	rotation:
//	  interval: 1h                   # a new generation of credentials every
//	  session-duration: 6h           # lifetime of each generation
//	instance:
//	  id: i-0123456789abcdef0
//	  type: t3.micro
//	  region: us-east-1
//	  availability-zone: us-east-1a
//	  profile: imdsemu-demo          # instance profile attached; "" = none
//	  account: "123456789012"
//	  ami-id: ami-0123456789abcdef0  # the metadata tree; all optional
//	  hostname: ip-10-0-0-1.ec2.internal
//	  local-ipv4: 10.0.0.1
//	  public-ipv4: 203.0.113.7       # none by default
//	  mac: 0e:00:0a:00:00:01
//	  availability-zone-id: use1-az1
//	  tags: {Name: web-1}            # served with instance-metadata-tags: true
//	  user-data: "#!/bin/sh"         # or user-data-file: (relative to this file); at most 16 KB
//	hop-limit: 1                     # IP TTL of token PUT responses, 1-64
//	ipv6-addr: "[fd00:ec2::254]:80"  # optional second metadata listener
//	ecs-addr: 127.0.0.1:1341         # optional ECS container credentials listener
//	extended-credentials: true       # iam/security-credentials-extended/; default true
//	instance-metadata-tags: false    # tags/instance/
//	throttle: {rps: 0, burst: 0}     # per-client 429 limit; rps 0 = off
//	accounts:
//	  - id: "123456789012"
//	    alias: demo
//	roles:
//	  - name: imdsemu-demo
//	    account: "123456789012"
//	    path: /
//	    description: demo role
//	    max-session-duration: 1h     # Go duration or integer seconds
//	    trust-policy: |              # a JSON string or a YAML mapping
//	      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}
//	    policies:                    # name: JSON string or YAML mapping
//	      s3-read: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}
//	    tags: {team: platform}
//	instance-profiles:
//	  - name: imdsemu-demo
//	    account: "123456789012"
//	    role: imdsemu-demo           # or roles: [imdsemu-demo]; at most one
//	scenarios:                       # fault timelines; see docs/faults.md
//	  flaky-start:
//	    - at: 0s
//	      fault: {action: status, status: 500, path: /latest/api/token, times: 3}
//	    - at: 30s
//	      fault: {action: latency, delay: 2s, for: 20s}
//	    - at: 60s
//	      clear: true                # end the rules this scenario added
//	start-scenario: flaky-start      # started by serve; env IMDSEMU_START_SCENARIO
//	sts-addr: 127.0.0.1:1339         # the STS Query API; env IMDSEMU_STS_ADDR
//	users:                           # IAM users; keys come from `imdsemu key create`
//	  - name: alice
//	    account: "123456789012"      # optional, as for roles
//	    path: /
//	    groups: [developers]         # names only; groups carry no policies
//	    policies: {assume: {Version: 2012-10-17, Statement: [{Effect: Allow, Action: "sts:AssumeRole", Resource: "*"}]}}
//	    tags: {team: platform}
//	oidc-providers:                  # for AssumeRoleWithWebIdentity
//	  - url: http://127.0.0.1:1339   # https://HOST/PATH, or http:// on loopback
//	    client-ids: [sts.amazonaws.com]
//	    jwks-file: ./jwks.json       # optional; else fetched from the (loopback) issuer
//	saml-providers:                  # for AssumeRoleWithSAML
//	  - name: corp                   # arn:aws:iam::ACCOUNT:saml-provider/corp
//	    metadata-file: ./idp.xml     # or metadata: "<EntityDescriptor …>"
//
// Durations are Go durations ("90m", "1h30m") or whole seconds (3600). A key
// set to null (~) is the same as a key left out.
// Policy documents written as YAML mappings are converted to JSON keeping key
// order; unquoted dates such as 2012-10-17 stay strings. YAML anchors,
// aliases and merge keys (<<) work as usual; top-level keys starting with
// "x-" are ignored, so they can hold anchors shared by several entities.
//
// # Entities and defaults
//
// If the file declares any accounts, roles or instance profiles, the seed is
// exactly what it declares; Default's entities are not added. If it declares
// none, the seed is Default's (account 123456789012, role and instance
// profile imdsemu-demo). Either way, settings the file leaves out keep
// Default's values.
//
// Within declared entities:
//   - a role or profile without "account" belongs to the only declared
//     account; when no accounts are listed, to instance.account (or
//     123456789012), and the accounts referenced are declared implicitly;
//   - a role without "trust-policy" trusts ec2.amazonaws.com (EC2TrustPolicy);
//   - instance.account defaults to the only account, instance.profile to the
//     only instance profile in that account (none if there is none). Set
//     profile: "" for an instance without a profile.
//
// Apply the seed with rolestore.Store.Apply; it upserts and deletes nothing.
//
// # Errors
//
// Unknown keys, duplicate keys, wrong types, missing required fields, values
// rolestore rejects and broken cross references (a profile's role that does
// not exist, two roles on one profile, an instance profile that is not
// declared) are each an *Error naming file, line, column and the YAML path of
// the field, such as
//
//	imdsemu.yaml:14:27: roles[1].max-session-duration: must be between 1h0m0s and 12h0m0s, got 13h
//
// Parse reports up to 20 problems at once, joined with errors.Join in file
// order; errors.As finds the first. Error messages never contain policy
// documents.
//
// The package has no state; everything in it is safe for concurrent use.
package config
