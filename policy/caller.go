package policy

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// AWSPrincipal returns the AWS principal that signs with the credentials of
// principalARN: an account's root (arn:aws:iam::ACCOUNT:root), an IAM user,
// an assumed-role session (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION)
// or a federated user. account is the principal's account, default the
// ARN's. equivalent lists the identities the principal also answers to;
// for an assumed-role session with none given it is the session's role,
// arn:PARTITION:iam::ACCOUNT:role/ROLE (a session ARN carries no role path,
// so give the role's ARN when it has one).
//
// The STS request path and `imdsemu policy simulate` both build their
// principal here, so a simulation evaluates what STS evaluates.
func AWSPrincipal(principalARN, account string, equivalent ...string) (Principal, error) {
	a, err := arn.Parse(principalARN)
	if err != nil {
		return Principal{}, fmt.Errorf("principal %q is not an ARN", principalARN)
	}
	p := Principal{Type: PrincipalAWS, ARN: principalARN, Account: account, Equivalent: equivalent}
	rest, session := strings.CutPrefix(a.Resource, "assumed-role/")
	if role, _, ok := strings.Cut(rest, "/"); ok && session && a.Service == "sts" && len(equivalent) == 0 {
		p.Equivalent = []string{arn.ARN{Partition: a.Partition, Service: "iam", AccountID: a.AccountID, Resource: "role/" + role}.String()}
	}
	return p, nil
}

// Values of aws:PrincipalType.
const (
	PrincipalTypeAccount       = "Account"
	PrincipalTypeUser          = "User"
	PrincipalTypeAssumedRole   = "AssumedRole"
	PrincipalTypeFederatedUser = "FederatedUser"
)

// SetPrincipalKeys sets the global condition keys that follow from an AWS
// principal: aws:PrincipalArn (for an assumed-role session, its role: the
// first Equivalent), aws:PrincipalAccount, aws:PrincipalType and, for an
// IAM user, aws:username. Keys c already has are kept, so a caller can
// override any of them. Other principal types set nothing.
func SetPrincipalKeys(c *Context, p Principal) {
	if p.Type != PrincipalAWS || p.ARN == "" {
		return
	}
	a, err := arn.Parse(p.ARN)
	if err != nil {
		return
	}
	principalARN, account, ptype := p.ARN, a.AccountID, ""
	if p.Account != "" {
		account = p.Account
	}
	res := a.Resource
	switch {
	case a.Service == "iam" && res == "root":
		ptype = PrincipalTypeAccount
	case a.Service == "iam" && strings.HasPrefix(res, "user/"):
		ptype = PrincipalTypeUser
		setMissing(c, "aws:username", res[strings.LastIndexByte(res, '/')+1:])
	case a.Service == "sts" && strings.HasPrefix(res, "assumed-role/"):
		ptype = PrincipalTypeAssumedRole
		if len(p.Equivalent) > 0 {
			principalARN = p.Equivalent[0]
		}
	case a.Service == "sts" && strings.HasPrefix(res, "federated-user/"):
		ptype = PrincipalTypeFederatedUser
	}
	setMissing(c, "aws:PrincipalArn", principalARN)
	setMissing(c, "aws:PrincipalAccount", account)
	setMissing(c, "aws:PrincipalType", ptype)
}

func setMissing(c *Context, key, val string) {
	if _, ok := c.Get(key); !ok && val != "" {
		c.Set(key, val)
	}
}

// ParseContext reads condition keys given as KEY=VALUE[,VALUE...] (the
// form of `imdsemu policy simulate --context`); KEY= sets a key with no
// values.
func ParseContext(pairs []string) (Context, error) {
	var c Context
	for _, kv := range pairs {
		key, val, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return c, fmt.Errorf("context %q: want KEY=VALUE[,VALUE...]", kv)
		}
		if val == "" {
			if _, present := c.Get(key); !present {
				c.Set(key)
			}
			continue
		}
		c.Add(key, strings.Split(val, ",")...)
	}
	return c, nil
}

// ParsePrincipalType reads a principal type as the Principal element's keys
// name it, in any case: aws, service, federated, canonicaluser (or
// canonical) or anonymous.
func ParsePrincipalType(s string) (PrincipalType, error) {
	switch strings.ToLower(s) {
	case "aws":
		return PrincipalAWS, nil
	case "service":
		return PrincipalService, nil
	case "federated":
		return PrincipalFederated, nil
	case "canonical", "canonicaluser":
		return PrincipalCanonicalUser, nil
	case "anonymous":
		return PrincipalAnonymous, nil
	}
	return 0, fmt.Errorf("principal type %q: want aws, service, federated, canonical or anonymous", s)
}
