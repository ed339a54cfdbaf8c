package sts

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/imdsemu/imdsemu/policy"
)

// decodedMessage is the document DecodeAuthorizationMessage returns, in the
// shape AWS uses (allowed, explicitDeny, matchedStatements, failures,
// context), plus imdsemu's explanation of the decision.
type decodedMessage struct {
	Allowed           bool          `json:"allowed"`
	ExplicitDeny      bool          `json:"explicitDeny"`
	MatchedStatements items[match]  `json:"matchedStatements"`
	Failures          items[string] `json:"failures"`
	Context           msgContext    `json:"context"`
	Explanation       string        `json:"explanation"`
}

type items[T any] struct {
	Items []T `json:"items"`
}

type match struct {
	Source      string `json:"source"`
	Policy      string `json:"policy,omitempty"`
	StatementID string `json:"statementId,omitempty"`
	Index       int    `json:"statementIndex"`
	Effect      string `json:"effect"`
}

type msgContext struct {
	Principal  msgPrincipal     `json:"principal"`
	Action     string           `json:"action"`
	Resource   string           `json:"resource"`
	Conditions items[condition] `json:"conditions"`
}

type msgPrincipal struct {
	ID  string `json:"id"`
	ARN string `json:"arn"`
}

type condition struct {
	Key    string       `json:"key"`
	Values items[value] `json:"values"`
}

type value struct {
	Value string `json:"value"`
}

// deny turns a denial into AccessDenied: AWS's message, then the sealed
// explanation for DecodeAuthorizationMessage.
func (s *Server) deny(c *caller, req policy.Request, dec policy.Decision) *Error {
	who := req.Principal.ARN
	if who == "" {
		who = "anonymous"
	}
	return s.denyAs(fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s", who, req.Action, req.Resource), c, req, dec)
}

// denyAs is deny with the message text given.
func (s *Server) denyAs(text string, c *caller, req policy.Request, dec policy.Decision) *Error {
	msg := decodedMessage{Allowed: dec.Allowed, ExplicitDeny: dec.Reason == policy.ExplicitDeny, Explanation: dec.Explanation}
	msg.MatchedStatements.Items = []match{}
	msg.Failures.Items = []string{}
	for _, m := range dec.Matched {
		msg.MatchedStatements.Items = append(msg.MatchedStatements.Items, match{
			Source: m.Source.String(), Policy: m.Policy, StatementID: m.Sid, Index: m.Index, Effect: string(m.Effect),
		})
	}
	msg.Context = msgContext{Action: req.Action, Resource: req.Resource, Principal: msgPrincipal{ARN: req.Principal.ARN}}
	if c != nil {
		msg.Context.Principal.ID = c.userID
	}
	msg.Context.Conditions.Items = []condition{}
	for _, k := range req.Context.Keys() {
		vs, _ := req.Context.Get(k)
		cond := condition{Key: k}
		cond.Values.Items = []value{}
		for _, v := range vs {
			cond.Values.Items = append(cond.Values.Items, value{v})
		}
		msg.Context.Conditions.Items = append(msg.Context.Conditions.Items, cond)
	}
	return s.accessDenied(text, msg)
}

// accessDenied seals msg and appends it to text, as EC2 appends its
// "Encoded authorization failure message".
func (s *Server) accessDenied(text string, msg decodedMessage) *Error {
	b, err := json.Marshal(msg)
	if err != nil {
		return errAccessDenied("%s", text)
	}
	sealed, err := s.issuer.SealMessage(deflate(b))
	if err != nil {
		s.log.Error("sts: sealing authorization message", "err", err)
		return errAccessDenied("%s", text)
	}
	return errAccessDenied("%s. Encoded authorization failure message: %s", text, sealed)
}

// revokedError denies every request of a session issued before its role's
// revocation: the AWSRevokeOlderSessions policy AWS's console attaches
// (Deny * when aws:TokenIssueTime is before the revocation).
func (s *Server) revokedError(c *caller, action string) *Error {
	resource := "*"
	text := fmt.Sprintf("User: %s is not authorized to perform: sts:%s on resource: %s with an explicit deny in an identity-based policy",
		c.arn, action, resource)
	msg := decodedMessage{
		ExplicitDeny: true,
		Explanation: fmt.Sprintf(`explicit deny in identity-based policy "AWSRevokeOlderSessions": sessions of role %s issued before %s are revoked; this session was issued at %s`,
			c.session.RoleARN, c.revoked.UTC().Format(time.RFC3339), c.session.IssuedAt.UTC().Format(time.RFC3339)),
		MatchedStatements: items[match]{Items: []match{{Source: policy.SourceIdentity.String(), Policy: "AWSRevokeOlderSessions", Effect: string(policy.Deny)}}},
		Failures:          items[string]{Items: []string{}},
		Context: msgContext{
			Principal: msgPrincipal{ID: c.userID, ARN: c.arn}, Action: "sts:" + action, Resource: resource,
			Conditions: items[condition]{Items: []condition{{Key: "aws:tokenissuetime",
				Values: items[value]{Items: []value{{c.session.IssuedAt.UTC().Format(time.RFC3339)}}}}}},
		},
	}
	return s.accessDenied(text, msg)
}

// deflate compresses an authorization message before sealing: the context
// keys repeat a lot, and the result rides in an error message.
func deflate(b []byte) []byte {
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return out.Bytes()
}

// inflate reverses deflate, refusing more than maxDecoded bytes.
func inflate(b []byte) ([]byte, error) {
	const maxDecoded = 1 << 20
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), maxDecoded+1))
	if err != nil || len(out) > maxDecoded {
		return nil, ErrBadMessage
	}
	return out, nil
}
