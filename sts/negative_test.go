package sts_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/imdsemu/imdsemu/rolestore"
	"github.com/imdsemu/imdsemu/sts"
)

// TestServer_NegativeCases sends what broken or hostile clients send and
// checks AWS's status, code and (where AWS's wording is known) message for
// each; then that the server still serves.
func TestServer_NegativeCases(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	alice := longTerm(aliceKeyID, aliceSec)
	root := longTerm(rootKeyID, rootSec)
	inst := f.instanceCreds(t, time.Hour)
	web := f.roles["web"].ARN()

	// Credentials of other kinds, minted through the real API.
	out, err := f.client(alice).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String(web), RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	webSession := sessionCreds(out.Credentials.AccessKeyId, out.Credentials.SecretAccessKey, out.Credentials.SessionToken)
	fed, err := f.client(alice).GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	fedCreds := sessionCreds(fed.Credentials.AccessKeyId, fed.Credentials.SecretAccessKey, fed.Credentials.SessionToken)
	foreign, err := sts.NewIssuer(sts.IssuerOptions{Key: bytes.Repeat([]byte{9}, sts.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := foreign.Issue(ctx, sts.Request{Action: sts.ActionInstanceProfile, AccountID: acct, RoleARN: web, SessionName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	foreignCreds := aws.Credentials{AccessKeyID: fc.AccessKeyID, SecretAccessKey: fc.SecretAccessKey, SessionToken: fc.SessionToken}
	past, err := sts.NewIssuer(sts.IssuerOptions{Key: bytes.Repeat([]byte{7}, sts.KeySize), Now: func() time.Time { return f.clock.Now().Add(-2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := past.Issue(ctx, sts.Request{Action: sts.ActionInstanceProfile, AccountID: acct, RoleARN: f.roles["imdsemu-demo"].ARN(), SessionName: "i-0123456789abcdef0", Duration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	expired := aws.Credentials{AccessKeyID: pc.AccessKeyID, SecretAccessKey: pc.SecretAccessKey, SessionToken: pc.SessionToken}
	const inactiveID = "AKIAINACTIVEINACTIVE"
	if _, err := f.store.PutAccessKey(ctx, rolestore.AccessKey{ID: inactiveID, SecretAccessKey: bobSec, AccountID: acct, UserName: "bob", Status: rolestore.AccessKeyInactive}); err != nil {
		t.Fatal(err)
	}

	target := f.hs.URL + "/"
	gci := form("GetCallerIdentity")
	sign := func(c aws.Credentials, v url.Values) func(t testing.TB) *http.Request {
		return func(t testing.TB) *http.Request { return signed(t, target, c, v, now, "us-east-1", "sts") }
	}
	assume := func(kv ...string) url.Values {
		return form("AssumeRole", append([]string{"RoleArn", web, "RoleSessionName", "ok"}, kv...)...)
	}
	arns := make([]string, 0, 22)
	for i := 1; i <= 11; i++ {
		arns = append(arns, "PolicyArns.member."+strconv.Itoa(i)+".arn", "arn:aws:iam::aws:policy/ReadOnlyAccess")
	}
	tags := make([]string, 0, 102)
	for i := 1; i <= 51; i++ {
		tags = append(tags, fmt.Sprintf("Tags.member.%d.Key", i), fmt.Sprintf("k%d", i), fmt.Sprintf("Tags.member.%d.Value", i), "v")
	}

	// Session tags that do not compress: 50 values of 256 hex digits.
	bigTags := make([]string, 0, 200)
	seed := sha256.Sum256([]byte("packed"))
	for i := 1; i <= 50; i++ {
		var val string
		for len(val) < 256 {
			seed = sha256.Sum256(seed[:])
			val += hex.EncodeToString(seed[:])
		}
		bigTags = append(bigTags, fmt.Sprintf("Tags.member.%d.Key", i), fmt.Sprintf("k%d", i), fmt.Sprintf("Tags.member.%d.Value", i), val[:256])
	}

	cases := []struct {
		name   string
		req    func(t testing.TB) *http.Request
		status int
		code   string
		msg    string // prefix; "" = not checked
	}{
		// Signatures.
		{"TamperedSignature", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			h := r.Header.Get("Authorization")
			last := h[len(h)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			r.Header.Set("Authorization", h[:len(h)-1]+string(repl))
			return r
		}, 403, sts.CodeSignatureDoesNotMatch, sts.MsgSignatureDoesNotMatch},
		{"WrongSecret", sign(longTerm(aliceKeyID, bobSec), gci), 403, sts.CodeSignatureDoesNotMatch, sts.MsgSignatureDoesNotMatch},
		{"TamperedBody", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Body = ioNop("Action=GetCallerIdentity&Version=2011-06-15&x=1")
			r.ContentLength = int64(len("Action=GetCallerIdentity&Version=2011-06-15&x=1"))
			return r
		}, 403, sts.CodeSignatureDoesNotMatch, ""},
		{"ContentSHA256Mismatch", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Set("X-Amz-Content-Sha256", strings.Repeat("0", 64))
			return r
		}, 400, sts.CodeXAmzContentSHA256Mismatch, ""},
		{"EmptyRegion", func(t testing.TB) *http.Request { return signed(t, target, alice, gci, now, "", "sts") },
			403, sts.CodeSignatureDoesNotMatch, "Credential should be scoped to a valid region"},
		{"WrongService", func(t testing.TB) *http.Request { return signed(t, target, alice, gci, now, "us-east-1", "iam") },
			403, sts.CodeSignatureDoesNotMatch, "Credential should be scoped to correct service: 'sts'."},
		{"SkewedPast", func(t testing.TB) *http.Request {
			return signed(t, target, alice, gci, now.Add(-16*time.Minute), "us-east-1", "sts")
		}, 403, sts.CodeSignatureDoesNotMatch, "Signature expired: "},
		{"SkewedFuture", func(t testing.TB) *http.Request {
			return signed(t, target, alice, gci, now.Add(16*time.Minute), "us-east-1", "sts")
		}, 403, sts.CodeSignatureDoesNotMatch, "Signature not yet current: "},
		{"ScopeDateMismatch", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/"+now.UTC().Format("20060102")+"/", "/19990101/", 1))
			return r
		}, 403, sts.CodeSignatureDoesNotMatch, "Date in Credential scope does not match"},
		{"MissingAuthentication", func(t testing.TB) *http.Request {
			r, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(gci.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 403, sts.CodeMissingAuthenticationToken, "Request is missing Authentication Token"},
		{"MalformedAuthorization", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+aliceKeyID+"/x")
			return r
		}, 400, sts.CodeIncompleteSignature, "Authorization header requires 'Signature' parameter."},
		{"MissingXAmzDate", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Del("X-Amz-Date")
			return r
		}, 400, sts.CodeIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."},
		{"CredentialNotFiveParts", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+aliceKeyID+"/x, SignedHeaders=host, Signature=00")
			return r
		}, 400, sts.CodeIncompleteSignature, "Credential must have exactly 5 slash-delimited elements"},
		{"MissingEqualSign", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Credential=", "Credential ", 1))
			return r
		}, 400, sts.CodeIncompleteSignature, ""},
		{"HostNotSigned", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=", "SignedHeaders=x;", 1))
			h := r.Header.Get("Authorization")
			r.Header.Set("Authorization", strings.Replace(h, "host;", "", 1))
			return r
		}, 400, sts.CodeIncompleteSignature, "'Host' or ':authority' must be a 'SignedHeader'"},
		{"SigV2", func(t testing.TB) *http.Request {
			r := sign(alice, gci)(t)
			r.Header.Set("Authorization", "AWS "+aliceKeyID+":c2lnbmF0dXJl")
			return r
		}, 400, sts.CodeIncompleteSignature, "Unsupported AWS 'algorithm'"},

		// Credentials.
		{"UnknownKey", sign(longTerm("AKIAUNKNOWNUNKNOWNUN", aliceSec), gci), 403, sts.CodeInvalidClientTokenID, sts.MsgInvalidClientTokenID},
		{"InactiveKey", sign(longTerm(inactiveID, bobSec), gci), 403, sts.CodeInvalidClientTokenID, sts.MsgInvalidClientTokenID},
		{"LongTermKeyWithToken", sign(aws.Credentials{AccessKeyID: aliceKeyID, SecretAccessKey: aliceSec, SessionToken: inst.SessionToken}, gci),
			403, sts.CodeInvalidClientTokenID, sts.MsgInvalidClientTokenID},
		{"SessionMissingToken", sign(aws.Credentials{AccessKeyID: inst.AccessKeyID, SecretAccessKey: inst.SecretAccessKey}, gci),
			403, sts.CodeInvalidClientTokenID, sts.MsgInvalidClientTokenID},
		{"TokenFromAnotherImdsemu", sign(foreignCreds, gci), 403, sts.CodeInvalidClientTokenID, sts.MsgInvalidClientTokenID},
		{"TokenOfAnotherSession", sign(aws.Credentials{AccessKeyID: webSession.AccessKeyID, SecretAccessKey: inst.SecretAccessKey, SessionToken: inst.SessionToken}, gci),
			403, sts.CodeInvalidClientTokenID, sts.MsgInvalidClientTokenID},
		{"GarbageToken", sign(aws.Credentials{AccessKeyID: inst.AccessKeyID, SecretAccessKey: inst.SecretAccessKey, SessionToken: "AQoDYXdzEJr//////////wEaoAK"}, gci),
			403, sts.CodeInvalidClientTokenID, sts.MsgInvalidClientTokenID},
		{"ExpiredSession", sign(expired, gci), 403, sts.CodeExpiredToken, sts.MsgExpiredToken},

		// Parameters.
		{"BadSessionName", sign(alice, form("AssumeRole", "RoleArn", web, "RoleSessionName", "a:b")), 400, sts.CodeValidationError,
			"1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"},
		{"ShortSessionName", sign(alice, form("AssumeRole", "RoleArn", web, "RoleSessionName", "a")), 400, sts.CodeValidationError,
			"1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"MissingRoleArn", sign(alice, form("AssumeRole", "RoleSessionName", "ok")), 400, sts.CodeValidationError,
			"1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"TwoErrors", sign(alice, form("AssumeRole", "RoleSessionName", "a")), 400, sts.CodeValidationError, "2 validation errors detected: "},
		{"RoleArnNotAnARN", sign(alice, form("AssumeRole", "RoleArn", "role/web-not-an-arn-at-all", "RoleSessionName", "ok")), 400, sts.CodeValidationError, "ARNs must start with 'arn:'"},
		{"DurationTooShort", sign(alice, assume("DurationSeconds", "899")), 400, sts.CodeValidationError,
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"DurationNotANumber", sign(alice, assume("DurationSeconds", "1h")), 400, sts.CodeValidationError, ""},
		{"DurationOverRoleMax", sign(alice, assume("DurationSeconds", "43201")), 400, sts.CodeValidationError,
			"The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{"ChainedOverOneHour", sign(webSession, assume("DurationSeconds", "3601")), 400, sts.CodeValidationError,
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
		{"GetSessionTokenTooLong", sign(alice, form("GetSessionToken", "DurationSeconds", "129601")), 400, sts.CodeValidationError, ""},
		{"PackedPolicyTooLarge", sign(alice, assume(bigTags...)), 400, sts.CodePackedPolicyTooLarge, "Packed policy consumes "},
		{"TokenCodeNotDigits", sign(alice, form("GetSessionToken", "SerialNumber", "arn:aws:iam::123456789012:mfa/alice", "TokenCode", "12ab56")), 400, sts.CodeValidationError,
			`1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\d]*`},
		{"TokenCodeTooShort", sign(alice, form("GetSessionToken", "SerialNumber", "arn:aws:iam::123456789012:mfa/alice", "TokenCode", "123")), 400, sts.CodeValidationError,
			"1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6"},
		{"SerialNumberTooShort", sign(alice, form("GetSessionToken", "SerialNumber", "mfa", "TokenCode", "123456")), 400, sts.CodeValidationError,
			"1 validation error detected: Value 'mfa' at 'serialNumber' failed to satisfy constraint: Member must have length greater than or equal to 9"},
		{"FederationNameTooShort", sign(alice, form("GetFederationToken", "Name", "c")), 400, sts.CodeValidationError,
			"1 validation error detected: Value 'c' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"FederationNameBadCharacter", sign(alice, form("GetFederationToken", "Name", "carol smith")), 400, sts.CodeValidationError,
			`1 validation error detected: Value 'carol smith' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"FederationTokenTooLong", sign(alice, form("GetFederationToken", "Name", "carol", "DurationSeconds", "129601")), 400, sts.CodeValidationError, ""},
		{"FederationPolicyTooLong", sign(alice, form("GetFederationToken", "Name", "carol", "Policy", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"`+strings.Repeat("x", 2048)+`"}]}`)),
			400, sts.CodeValidationError, "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048"},
		{"BadPolicyJSON", sign(alice, assume("Policy", `{"Version":"2012-10-17","Statement":[`)), 400, sts.CodeMalformedPolicyDocument, ""},
		{"PolicyGrammar", sign(alice, assume("Policy", `{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}`)),
			400, sts.CodeMalformedPolicyDocument, `Statement[0]: Effect must be "Allow" or "Deny"`},
		{"TooManyPolicyArns", sign(alice, assume(arns...)), 400, sts.CodeValidationError, "1 validation error detected: "},
		{"TooManyTags", sign(alice, assume(tags...)), 400, sts.CodeValidationError, ""},
		{"DuplicateTagKeys", sign(alice, assume("Tags.member.1.Key", "Team", "Tags.member.1.Value", "a", "Tags.member.2.Key", "team", "Tags.member.2.Value", "b")),
			400, sts.CodeInvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"BadListIndex", sign(alice, assume("Tags.member.x.Key", "Team")), 400, sts.CodeInvalidParameterValue, ""},

		// Callers.
		{"RootAssumesRole", sign(root, assume()), 403, sts.CodeAccessDenied, "Roles may not be assumed by root accounts."},
		{"UntrustedUser", sign(longTerm(bobKeyID, bobSec), assume()), 403, sts.CodeAccessDenied,
			"User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: " + web},
		{"UnknownRole", sign(alice, form("AssumeRole", "RoleArn", "arn:aws:iam::123456789012:role/nope", "RoleSessionName", "ok")), 403, sts.CodeAccessDenied,
			"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/nope"},
		{"SessionCallsGetSessionToken", sign(inst, form("GetSessionToken")), 403, sts.CodeAccessDenied, "Cannot call GetSessionToken with session credentials"},
		{"SessionCallsGetFederationToken", sign(webSession, form("GetFederationToken", "Name", "carol")), 403, sts.CodeAccessDenied,
			"Cannot call GetFederationToken with session credentials"},
		{"FederatedUserAssumesRole", sign(fedCreds, assume()), 403, sts.CodeAccessDenied,
			"User: arn:aws:sts::123456789012:federated-user/carol is not authorized to perform: sts:AssumeRole"},
		{"InstanceRoleNotTrusted", sign(inst, assume()), 403, sts.CodeAccessDenied,
			"User: arn:aws:sts::123456789012:assumed-role/imdsemu-demo/i-0123456789abcdef0 is not authorized to perform: sts:AssumeRole on resource: " + web},

		// Protocol.
		{"UnknownAction", sign(alice, form("Frobnicate")), 400, sts.CodeInvalidAction, "Could not find operation Frobnicate for version 2011-06-15"},
		{"MissingAction", sign(alice, url.Values{"Version": {"2011-06-15"}}), 400, sts.CodeMissingAction, ""},
		{"WrongVersion", sign(alice, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2010-01-01"}}), 400, sts.CodeInvalidAction,
			"Could not find operation GetCallerIdentity for version 2010-01-01"},
		{"MissingVersion", sign(alice, url.Values{"Action": {"GetCallerIdentity"}}), 400, sts.CodeInvalidAction,
			"Could not find operation GetCallerIdentity for version NO_VERSION_SPECIFIED"},
		{"BadWebIdentityToken", func(t testing.TB) *http.Request {
			v := form("AssumeRoleWithWebIdentity", "RoleArn", web, "RoleSessionName", "ok", "WebIdentityToken", "not.a.jwt")
			r, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(v.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 400, sts.CodeInvalidIdentityToken, ""},
		{"PutMethod", func(t testing.TB) *http.Request {
			r, _ := http.NewRequest(http.MethodPut, target, nil)
			return r
		}, 405, sts.CodeInvalidAction, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.req(t))
			if r.Status != tc.status || r.Code != tc.code {
				t.Fatalf("got %d %s %q, want %d %s", r.Status, r.Code, r.Msg, tc.status, tc.code)
			}
			if tc.msg != "" && !strings.HasPrefix(r.Msg, tc.msg) {
				t.Errorf("message = %q, want prefix %q", r.Msg, tc.msg)
			}
			for _, secret := range []string{aliceSec, bobSec, rootSec, inst.SecretAccessKey, inst.SessionToken, webSession.SecretAccessKey} {
				if strings.Contains(r.Body, secret) {
					t.Errorf("response reveals a secret or token")
				}
			}
		})
	}
	// The server keeps serving, and nothing above changed the store.
	if r := f.call(t, alice, gci); r.Status != 200 {
		t.Errorf("after the bad requests: %d %s", r.Status, r.Code)
	}
	if k, err := f.store.AccessKeys(ctx, acct, "alice"); err != nil || len(k) != 1 {
		t.Errorf("alice's keys = %v, %v", k, err)
	}
}

func sessionCreds(id, secret, token *string) aws.Credentials {
	return aws.Credentials{AccessKeyID: aws.ToString(id), SecretAccessKey: aws.ToString(secret), SessionToken: aws.ToString(token)}
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func ioNop(s string) nopCloser { return nopCloser{strings.NewReader(s)} }
