package sts

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/imdsemu/imdsemu/internal/pattern"
	"github.com/imdsemu/imdsemu/policy"
)

// Parameter constraints from the STS API model (botocore
// data/sts/2011-06-15/service-2.json): lengths in characters and patterns,
// reported with the model's member names.

// Immutable after package initialisation and safe for concurrent use.
var (
	sessionNameRe  = pattern.Lazy(`^[\w+=,.@-]*$`)
	externalIDRe   = pattern.Lazy(`^[\w+=,.@:/-]*$`)
	serialNumberRe = pattern.Lazy(`^[\w+=/:,.@-]*$`)
	tokenCodeRe    = pattern.Lazy(`^[\d]*$`)
	policyTextRe   = pattern.Lazy(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{00FF}]+$`)
	accessKeyIDRe  = pattern.Lazy(`^[\w]*$`)
	arnTextRe      = pattern.Lazy(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{0085}\x{00A0}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}]+$`)
)

// field is one string parameter and its constraints.
type field struct {
	param, member string
	min, max      int // characters; max 0 = none
	pattern       string
	re            *pattern.Regexp
	// hidden parameters (tokens, assertions, policies) are not echoed in
	// messages.
	hidden bool
}

var (
	fRoleARN         = field{param: "RoleArn", member: "roleArn", min: 20, max: 2048, re: arnTextRe, pattern: `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`}
	fRoleSessionName = field{param: "RoleSessionName", member: "roleSessionName", min: 2, max: 64, re: sessionNameRe, pattern: `[\w+=,.@-]*`}
	fExternalID      = field{param: "ExternalId", member: "externalId", min: 2, max: 1224, re: externalIDRe, pattern: `[\w+=,.@:\/-]*`}
	fSerialNumber    = field{param: "SerialNumber", member: "serialNumber", min: 9, max: 256, re: serialNumberRe, pattern: `[\w+=/:,.@-]*`}
	fTokenCode       = field{param: "TokenCode", member: "tokenCode", min: 6, max: 6, re: tokenCodeRe, pattern: `[\d]*`, hidden: true}
	fSourceIdentity  = field{param: "SourceIdentity", member: "sourceIdentity", min: 2, max: 64, re: sessionNameRe, pattern: `[\w+=,.@-]*`}
	fFederationName  = field{param: "Name", member: "name", min: 2, max: 32, re: sessionNameRe, pattern: `[\w+=,.@-]*`}
	fAccessKeyID     = field{param: "AccessKeyId", member: "accessKeyId", min: 16, max: 128, re: accessKeyIDRe, pattern: `[\w]*`}
	fEncodedMessage  = field{param: "EncodedMessage", member: "encodedMessage", min: 1, max: 10240, hidden: true}
	fWebIdentity     = field{param: "WebIdentityToken", member: "webIdentityToken", min: 4, max: 20000, hidden: true}
	fProviderID      = field{param: "ProviderId", member: "providerId", min: 4, max: 2048}
	fPrincipalARN    = field{param: "PrincipalArn", member: "principalArn", min: 20, max: 2048, re: arnTextRe, pattern: fRoleARN.pattern}
	fSAMLAssertion   = field{param: "SAMLAssertion", member: "sAMLAssertion", min: 4, max: 100000, hidden: true}
	// fPolicy has no maximum here: AssumeRole* take an unrestricted
	// document in the model; the 2,048-character limit is the policy
	// package's (GetFederationToken checks it as a constraint).
	fPolicy = field{param: "Policy", member: "policy", min: 1, re: policyTextRe, pattern: `[\u0009\u000A\u000D\u0020-\u00FF]+`, hidden: true}
)

// str reads f and records every constraint it breaks.
func (v *validation) str(p params, f field, required bool) string {
	val, ok := p.lookup(f.param)
	if !ok {
		if required {
			v.Missing(f.member)
		}
		return ""
	}
	show := truncate(val, 256)
	n := utf8.RuneCountInString(val)
	fail := func(constraint string) {
		if f.hidden {
			v.Add(fmt.Sprintf("Value at '%s' failed to satisfy constraint: %s", f.member, constraint))
			return
		}
		v.Fail(f.member, show, constraint)
	}
	if n < f.min {
		fail(fmt.Sprintf("Member must have length greater than or equal to %d", f.min))
	}
	if f.max > 0 && n > f.max {
		fail(fmt.Sprintf("Member must have length less than or equal to %d", f.max))
	}
	if f.re != nil && val != "" && !f.re.MatchString(val) {
		fail("Member must satisfy regular expression pattern: " + f.pattern)
	}
	return val
}

// duration reads DurationSeconds. Its range is the duration table's
// (SessionDuration); only the form and the table's minimum for a present
// value are checked here, since zero would otherwise mean "the default".
func (v *validation) duration(p params, a Action) time.Duration {
	raw, ok := p.lookup("DurationSeconds")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(raw, 10, 32)
	if err != nil {
		v.Fail("durationSeconds", truncate(raw, 32), "Member must be a whole number of seconds")
		return 0
	}
	if min := int64(Durations[a].Min / time.Second); n < min {
		v.Fail("durationSeconds", raw, fmt.Sprintf("Member must have value greater than or equal to %d", min))
		return 0
	}
	return time.Duration(n) * time.Second
}

// sessionParams are the parameters every credential-issuing action shares.
type sessionParams struct {
	policy            string
	policyDoc         *policy.Document
	policyARNs        []string
	tags              []Tag
	transitiveTagKeys []string
}

// maxSessionPolicies, maxSessionTags: the STS model's list limits.
const (
	maxPolicyARNs  = 10
	maxSessionTags = 50
)

// readSessionParams reads Policy, PolicyArns, and (when withTags) Tags and
// TransitiveTagKeys into sp, recording constraint violations in v.
// policyMax is the model's maximum for Policy (0 = none).
func readSessionParams(p params, v *validation, withTags bool, policyMax int) (sessionParams, *Error) {
	var sp sessionParams
	f := fPolicy
	f.max = policyMax
	sp.policy = v.str(p, f, false)
	arns, e := p.policyARNs(v)
	if e != nil {
		return sp, e
	}
	if len(arns) > maxPolicyARNs {
		v.Add(fmt.Sprintf("Value '[...%d ARNs]' at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", len(arns), maxPolicyARNs))
	}
	for i, arn := range arns {
		member := fmt.Sprintf("policyArns.%d.member.arn", i+1)
		if n := utf8.RuneCountInString(arn); n < 20 || n > 2048 {
			v.Fail(member, truncate(arn, 256), "Member must have length between 20 and 2048")
		} else if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":policy/") {
			v.Fail(member, truncate(arn, 256), "Member must be the ARN of a managed policy, arn:aws:iam::ACCOUNT:policy/NAME")
		}
	}
	sp.policyARNs = arns
	if !withTags {
		return sp, nil
	}
	tags, e := p.tags("Tags", v)
	if e != nil {
		return sp, e
	}
	if len(tags) > maxSessionTags {
		v.Add(fmt.Sprintf("Value '[...%d tags]' at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", len(tags), maxSessionTags))
	}
	for i, t := range tags {
		prefix := fmt.Sprintf("tags.%d.member.", i+1)
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > 128 {
			v.Fail(prefix+"key", truncate(t.Key, 256), "Member must have length between 1 and 128")
		} else if !pattern.TagText(t.Key) {
			v.Fail(prefix+"key", truncate(t.Key, 256), `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`)
		}
		if n := utf8.RuneCountInString(t.Value); n > 256 {
			v.Fail(prefix+"value", truncate(t.Value, 256), "Member must have length less than or equal to 256")
		} else if !pattern.TagText(t.Value) {
			v.Fail(prefix+"value", truncate(t.Value, 256), `Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]*`)
		}
	}
	sp.tags = tags
	keys, e := p.list("TransitiveTagKeys")
	if e != nil {
		return sp, e
	}
	if len(keys) > maxSessionTags {
		v.Add(fmt.Sprintf("Value '[...%d keys]' at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", len(keys), maxSessionTags))
	}
	for i, k := range keys {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 || !pattern.TagText(k) {
			v.Fail(fmt.Sprintf("transitiveTagKeys.%d.member", i+1), truncate(k, 256), "Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+")
		}
	}
	sp.transitiveTagKeys = keys
	return sp, nil
}

// check parses the session policy and checks the tags, after the
// constraints passed: MalformedPolicyDocument, duplicate or reserved tag
// keys, transitive keys that are not tags, PackedPolicyTooLarge.
func (sp *sessionParams) check() (packed int, e *Error) {
	if sp.policy != "" {
		d, err := policy.ParseOptions([]byte(sp.policy), policy.Options{Kind: policy.KindSession, Name: "session policy"})
		if err != nil {
			return 0, policyError(err)
		}
		sp.policyDoc = d
	}
	for i, t := range sp.tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return 0, newError(CodeInvalidParameterValue, http.StatusBadRequest, "Tag keys must not start with \"aws:\": %s", truncate(t.Key, 128))
		}
		if hasTagKey(sp.tags[:i], t.Key) {
			return 0, newError(CodeInvalidParameterValue, http.StatusBadRequest, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
	}
	for _, k := range sp.transitiveTagKeys {
		if !hasTagKey(sp.tags, k) {
			return 0, newError(CodeInvalidParameterValue, http.StatusBadRequest,
				"The transitive tag key %q is not among the session tags passed in Tags.", truncate(k, 128))
		}
	}
	packed = sp.packedSize()
	if packed > 100 {
		return packed, newError(CodePackedPolicyTooLarge, http.StatusBadRequest,
			"Packed policy consumes %d%% of allotted space, please use smaller policy.", packed)
	}
	return packed, nil
}

// packedBudget is the compressed size the session policy, policy ARNs and
// session tags share. AWS packs them in a binary format it does not
// document; imdsemu deflates them and reports the share of this budget.
const packedBudget = 2048

// packedSize is PackedPolicySize: the percentage of the allotted space that
// the session policy, managed policy ARNs and tags take once packed.
func (sp *sessionParams) packedSize() int {
	if sp.policy == "" && len(sp.policyARNs) == 0 && len(sp.tags) == 0 {
		return 0
	}
	var raw bytes.Buffer
	if sp.policy != "" {
		_ = json.Compact(&raw, []byte(sp.policy))
	}
	for _, a := range sp.policyARNs {
		raw.WriteString(a)
	}
	for _, t := range sp.tags {
		raw.WriteString(t.Key)
		raw.WriteString(t.Value)
	}
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	_, _ = w.Write(raw.Bytes())
	_ = w.Close()
	return (out.Len()*100 + packedBudget - 1) / packedBudget
}

// hasPacked reports whether the response carries PackedPolicySize: AWS
// includes it when a session policy, policy ARNs or tags were passed.
func (sp *sessionParams) hasPacked() bool {
	return sp.policy != "" || len(sp.policyARNs) > 0 || len(sp.tags) > 0
}

// policyError maps a policy parse error to STS's: MalformedPolicyDocument
// for syntax and grammar, the size error's own code for size.
func policyError(err error) *Error {
	var detail interface {
		ErrorCode() string
		Detail() string
	}
	if errors.As(err, &detail) {
		return newError(detail.ErrorCode(), http.StatusBadRequest, "%s", detail.Detail())
	}
	return newError(CodeMalformedPolicyDocument, http.StatusBadRequest, "The session policy is not a valid policy document.")
}

// durationError maps the duration table's refusal to ValidationError.
func durationError(err error) *Error {
	var de *DurationError
	if errors.As(err, &de) {
		return newError(CodeValidationError, http.StatusBadRequest, "%s", de.Msg)
	}
	return nil
}
