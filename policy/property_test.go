package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// genSet is a Set kept as statement JSON so that it can be changed and
// re-parsed: slot → documents → statements.
type genSet [5][][]string

var slotKinds = [5]Kind{KindInlineRole, KindResource, KindTrust, KindBoundary, KindSession}

func (g genSet) build(t *rapid.T) Set {
	var docs [5][]*Document
	for slot, ds := range g {
		for i, stmts := range ds {
			src := `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`
			d, err := ParseOptions([]byte(src), Options{Kind: slotKinds[slot], Name: fmt.Sprintf("%d/%d", slot, i), MaxSize: -1})
			if err != nil {
				t.Fatalf("generated policy does not parse: %v\n%s", err, src)
			}
			docs[slot] = append(docs[slot], d)
		}
	}
	return Set{Identity: docs[0], Resource: docs[1], Trust: docs[2], Boundary: docs[3], Session: docs[4]}
}

func (g genSet) clone() genSet {
	var out genSet
	for slot := range g {
		for _, stmts := range g[slot] {
			out[slot] = append(out[slot], slices.Clone(stmts))
		}
	}
	return out
}

var (
	propActions   = []string{"*", "s3:*", "s3:Get*", "S3:getobject", "s3:PutObject", "iam:*", "ec2:Run?nstances", "sts:AssumeRole"}
	propResources = []string{"*", "arn:aws:s3:::b/*", "arn:aws:s3:::*", "arn:aws:sqs:*:111122223333:*", "arn:aws:s3:::${aws:username}/*", "arn:aws:iam::111122223333:role/*"}
	propConds     = []string{
		`{"StringEquals":{"aws:username":"alice"}}`,
		`{"StringNotEquals":{"aws:username":"alice"}}`,
		`{"ForAllValues:StringEquals":{"aws:TagKeys":["a","b"]}}`,
		`{"ForAnyValue:StringLike":{"aws:TagKeys":"a*"}}`,
		`{"Bool":{"aws:SecureTransport":"true"}}`,
		`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`,
		`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`,
		`{"NumericLessThan":{"s3:max-keys":"10"}}`,
		`{"Null":{"aws:username":"true"}}`,
		`{"StringLikeIfExists":{"aws:username":"a*"}}`,
	}
	propPrincipals = []string{`"*"`, `{"AWS":"*"}`, `{"AWS":"111122223333"}`, `{"AWS":"` + userARN + `"}`, `{"AWS":"` + roleARN + `"}`,
		`{"AWS":"` + sessARN + `"}`, `{"AWS":"444455556666"}`, `{"AWS":"` + otherUsr + `"}`, `{"Service":"ec2.amazonaws.com"}`}
	propRequestPrincipals = []Principal{
		user(), session(), {ARN: rootARN}, {ARN: otherUsr}, {ARN: fedUser},
		{Type: PrincipalService, ARN: "ec2.amazonaws.com"}, {Type: PrincipalAnonymous},
	}
	propRequestActions   = []string{"s3:GetObject", "s3:PutObject", "iam:CreateUser", "ec2:RunInstances", "sts:AssumeRole"}
	propRequestResources = []string{"arn:aws:s3:::b/k", "arn:aws:s3:::alice/k", "arn:aws:sqs:us-east-1:111122223333:q", "arn:aws:sqs:us-east-1:444455556666:q", roleARN, "*"}
)

// genStatement draws one statement valid for slot, with the given effect
// ("" = random).
func genStatement(t *rapid.T, slot int, effect string) string {
	if effect == "" {
		effect = rapid.SampledFrom([]string{"Allow", "Deny"}).Draw(t, "effect")
	}
	var parts []string
	parts = append(parts, fmt.Sprintf(`"Effect":%q`, effect))
	actionKey := "Action"
	if rapid.IntRange(0, 4).Draw(t, "notAction") == 0 {
		actionKey = "NotAction"
	}
	acts := rapid.SliceOfN(rapid.SampledFrom(propActions), 1, 2).Draw(t, "actions")
	parts = append(parts, fmt.Sprintf(`%q:%s`, actionKey, jsonList(acts)))
	principalBased := slot == 1 || slot == 2
	if !principalBased || rapid.Bool().Draw(t, "hasResource") {
		resKey := "Resource"
		if rapid.IntRange(0, 4).Draw(t, "notResource") == 0 {
			resKey = "NotResource"
		}
		res := rapid.SliceOfN(rapid.SampledFrom(propResources), 1, 2).Draw(t, "resources")
		parts = append(parts, fmt.Sprintf(`%q:%s`, resKey, jsonList(res)))
	}
	if principalBased {
		key := "Principal"
		if slot == 1 && effect == "Deny" && rapid.IntRange(0, 3).Draw(t, "notPrincipal") == 0 {
			key = "NotPrincipal"
		}
		parts = append(parts, fmt.Sprintf(`%q:%s`, key, rapid.SampledFrom(propPrincipals).Draw(t, "principal")))
	}
	if rapid.Bool().Draw(t, "hasCondition") {
		parts = append(parts, `"Condition":`+rapid.SampledFrom(propConds).Draw(t, "condition"))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func jsonList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

func genPolicySet(t *rapid.T) genSet {
	var g genSet
	maxDocs := [5]int{3, 2, 1, 1, 1}
	for slot := range g {
		n := rapid.IntRange(0, maxDocs[slot]).Draw(t, fmt.Sprintf("docs%d", slot))
		for range n {
			m := rapid.IntRange(1, 4).Draw(t, "statements")
			var stmts []string
			for range m {
				stmts = append(stmts, genStatement(t, slot, ""))
			}
			g[slot] = append(g[slot], stmts)
		}
	}
	return g
}

func genRequest(t *rapid.T) Request {
	var c Context
	if u := rapid.SampledFrom([]string{"", "alice", "bob"}).Draw(t, "username"); u != "" {
		c.Set("aws:username", u)
	}
	if rapid.Bool().Draw(t, "hasTags") {
		c.Set("aws:TagKeys", rapid.SliceOfN(rapid.SampledFrom([]string{"a", "b", "ab", "c"}), 0, 3).Draw(t, "tags")...)
	}
	if rapid.Bool().Draw(t, "hasTLS") {
		c.SetBool("aws:SecureTransport", rapid.Bool().Draw(t, "tls"))
	}
	if ip := rapid.SampledFrom([]string{"", "10.1.2.3", "192.0.2.1"}).Draw(t, "ip"); ip != "" {
		c.Set("aws:SourceIp", ip)
	}
	if rapid.Bool().Draw(t, "hasMaxKeys") {
		c.SetInt("s3:max-keys", int64(rapid.IntRange(0, 20).Draw(t, "maxKeys")))
	}
	return Request{
		Principal: rapid.SampledFrom(propRequestPrincipals).Draw(t, "principal"),
		Action:    rapid.SampledFrom(propRequestActions).Draw(t, "action"),
		Resource:  rapid.SampledFrom(propRequestResources).Draw(t, "resource"),
		Context:   c,
	}
}

// addStatement appends stmt to an existing document of slot, or (for the
// identity and resource slots) to a new document. Adding a new trust,
// boundary or session document would change which checks apply, so those
// slots only grow existing documents.
func addStatement(t *rapid.T, g genSet, stmtFor func(slot int) string) genSet {
	g = g.clone()
	var choices []int
	for slot := range g {
		if len(g[slot]) > 0 || slot <= 1 {
			choices = append(choices, slot)
		}
	}
	slot := rapid.SampledFrom(choices).Draw(t, "slot")
	stmt := stmtFor(slot)
	if len(g[slot]) == 0 || (slot <= 1 && rapid.Bool().Draw(t, "newDoc")) {
		g[slot] = append(g[slot], []string{stmt})
		return g
	}
	i := rapid.IntRange(0, len(g[slot])-1).Draw(t, "doc")
	g[slot][i] = append(g[slot][i], stmt)
	return g
}

func TestProperty_AddingDenyNeverAllows(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genPolicySet(t)
		req := genRequest(t)
		before := Evaluate(req, g.build(t))
		g2 := addStatement(t, g, func(slot int) string { return genStatement(t, slot, "Deny") })
		after := Evaluate(req, g2.build(t))
		if !before.Allowed && after.Allowed {
			t.Fatalf("adding a Deny turned %v into allowed (%s)\nbefore: %v\nafter: %v", before.Reason, after.Explanation, g, g2)
		}
		if before.Reason == ExplicitDeny && after.Reason != ExplicitDeny {
			t.Fatalf("adding a Deny removed an explicit deny: %v", after.Reason)
		}
	})
}

func TestProperty_AddingAllowNeverDenies(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genPolicySet(t)
		req := genRequest(t)
		before := Evaluate(req, g.build(t))
		g2 := addStatement(t, g, func(slot int) string { return genStatement(t, slot, "Allow") })
		after := Evaluate(req, g2.build(t))
		if before.Allowed && !after.Allowed {
			t.Fatalf("adding an Allow turned allowed into %v (%s)\nbefore: %v\nafter: %v", after.Reason, after.Explanation, g, g2)
		}
	})
}

func TestProperty_StatementOrderIrrelevant(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genPolicySet(t)
		req := genRequest(t)
		shuffled := g.clone()
		for slot := range shuffled {
			shuffled[slot] = rapid.Permutation(shuffled[slot]).Draw(t, "docOrder")
			for i := range shuffled[slot] {
				shuffled[slot][i] = rapid.Permutation(shuffled[slot][i]).Draw(t, "stmtOrder")
			}
		}
		a := Evaluate(req, g.build(t))
		b := Evaluate(req, shuffled.build(t))
		if a.Allowed != b.Allowed || a.Reason != b.Reason {
			t.Fatalf("reordering changed the decision: %v (%s) vs %v (%s)", a.Reason, a.Explanation, b.Reason, b.Explanation)
		}
		if got, want := matchSummary(b), matchSummary(a); got != want {
			t.Fatalf("reordering changed the matched statements: %s vs %s", got, want)
		}
	})
}

// matchSummary describes Matched independently of order.
func matchSummary(d Decision) string {
	var s []string
	for _, m := range d.Matched {
		s = append(s, fmt.Sprintf("%v/%v/%s", m.Source, m.Effect, m.Via))
	}
	slices.Sort(s)
	return strings.Join(s, " ")
}
