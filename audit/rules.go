package audit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/imdsemu/imdsemu/policy"
)

// rootRules: the root user has access keys; the root user has no MFA.
func rootRules(a Account) []Finding {
	var fs []Finding
	root := "arn:aws:iam::" + a.ID + ":root"
	for _, k := range a.RootKeys {
		if !k.Active {
			continue
		}
		fs = append(fs, Finding{Rule: RuleRootAccessKey, Severity: Critical, Account: a.ID, Subject: k.ID,
			Detail: "The root user has an active access key: it can do anything in the account, and no IAM policy restricts it.",
			Fix:    "Delete it (imdsemu key delete " + k.ID + "; aws iam delete-access-key as root); do daily work as an IAM user or role and keep the root user for the few tasks only it can do."})
	}
	if !a.RootMFA {
		fs = append(fs, Finding{Rule: RuleRootNoMFA, Severity: Critical, Account: a.ID, Subject: root,
			Detail: "The root user has no MFA device.",
			Fix:    "Enable MFA for the root user (imdsemu mfa create --root; a virtual or hardware device in the console)."})
	}
	return fs
}

// userRules: MFA, key age and use, policies attached to the user.
func userRules(in Input, a Account) []Finding {
	var fs []Finding
	for _, u := range a.Users {
		if !u.MFA {
			fs = append(fs, Finding{Rule: RuleUserNoMFA, Severity: Medium, Account: a.ID, Subject: u.ARN,
				Detail: fmt.Sprintf("User %s has no MFA device.", u.Name),
				Fix:    fmt.Sprintf("Give %s an MFA device (imdsemu mfa create %s; aws iam enable-mfa-device) and require aws:MultiFactorAuthPresent for sensitive actions.", u.Name, u.Name)})
		}
		for _, k := range u.Keys {
			fs = append(fs, keyRules(in, a.ID, u, k)...)
		}
		if len(u.Inline) > 0 || len(u.Managed) > 0 {
			var what []string
			for _, n := range slices.Sorted(maps.Keys(u.Inline)) {
				what = append(what, "inline "+n)
			}
			what = append(what, u.Managed...)
			fs = append(fs, Finding{Rule: RuleDirectPolicy, Severity: Low, Account: a.ID, Subject: u.ARN,
				Detail: fmt.Sprintf("User %s has policies of its own (%s) instead of getting permissions from groups.", u.Name, strings.Join(what, ", ")),
				Fix:    "Put the permissions on a group for the user's job (aws iam create-group, put-group-policy or attach-group-policy), add the user to it (add-user-to-group) and remove the user's own policies."})
		}
		for _, arn := range u.Managed {
			if arn == AdministratorAccess {
				fs = append(fs, Finding{Rule: RuleAdminOnUser, Severity: High, Account: a.ID, Subject: u.ARN,
					Detail: fmt.Sprintf("User %s has AdministratorAccess (Action * on Resource *) attached directly.", u.Name),
					Fix:    "Grant only what the user's job needs, through a group; keep full administrators few, in an admins group, with MFA required."})
			}
		}
	}
	return fs
}

// keyRules: an active key older than MaxKeyAge, never used, or used from
// an instance that has a role.
func keyRules(in Input, account string, u User, k Key) []Finding {
	if !k.Active {
		return nil
	}
	var fs []Finding
	if age := in.Now.Sub(k.Created); !k.Created.IsZero() && age > MaxKeyAge {
		fs = append(fs, Finding{Rule: RuleKeyNotRotated, Severity: Medium, Account: account, Subject: k.ID,
			Detail: fmt.Sprintf("Access key %s of %s is %d days old (more than %d).", k.ID, u.Name, int(age/(24*time.Hour)), int(MaxKeyAge/(24*time.Hour))),
			Fix:    fmt.Sprintf("Rotate it: create a second key (imdsemu key create %s), move its users to it, deactivate the old one (imdsemu key deactivate %s), then delete it.", u.Name, k.ID)})
	}
	if k.LastUsed == nil {
		detail := fmt.Sprintf("Access key %s of %s has never been used.", k.ID, u.Name)
		if !in.KeyUseSince.IsZero() {
			detail = fmt.Sprintf("Access key %s of %s has not been used since %s (%s).", k.ID, u.Name, in.KeyUseSince.UTC().Format(time.RFC3339), noteKeyUseSinceStart)
		}
		fs = append(fs, Finding{Rule: RuleKeyUnused, Severity: Low, Account: account, Subject: k.ID, Detail: detail,
			Fix: fmt.Sprintf("If nobody needs it, deactivate it (imdsemu key deactivate %s) and delete it later; an unused key is only a key that can leak.", k.ID)})
		return fs
	}
	roles := map[string]string{} // instance -> role
	for _, i := range in.Instances {
		if i.Role != "" {
			roles[i.ID] = i.Role
		}
	}
	for _, src := range k.LastUsed.From {
		role, ok := roles[src.Instance]
		if !ok {
			continue
		}
		fs = append(fs, Finding{Rule: RuleKeyWhereRole, Severity: High, Account: account, Subject: k.ID,
			Detail: fmt.Sprintf("Long-term key %s of %s signs requests from %s, which reaches instance %s, whose role %s would give the app credentials that expire and rotate by themselves.",
				k.ID, u.Name, src.Address, src.Instance, role),
			Fix: "Remove the key from the app's configuration (environment, credentials file) so the SDK's default chain takes the instance role from IMDS; grant the role what the app needs; then deactivate and delete the key."})
	}
	return fs
}

// policyRules: wildcard grants in inline and customer managed policies.
func policyRules(a Account) []Finding {
	var fs []Finding
	check := func(subject, where, doc string, kind policy.Kind) {
		if f, ok := wildcard(a.ID, subject, where, doc, kind); ok {
			fs = append(fs, f)
		}
	}
	for _, u := range a.Users {
		for _, n := range slices.Sorted(maps.Keys(u.Inline)) {
			check(u.ARN, "inline policy "+n+" of user "+u.Name, u.Inline[n], policy.KindInlineUser)
		}
	}
	for _, g := range a.Groups {
		for _, n := range slices.Sorted(maps.Keys(g.Inline)) {
			check(g.ARN, "inline policy "+n+" of group "+g.Name, g.Inline[n], policy.KindInlineGroup)
		}
	}
	for _, r := range a.Roles {
		for _, n := range slices.Sorted(maps.Keys(r.Inline)) {
			check(r.ARN, "inline policy "+n+" of role "+r.Name, r.Inline[n], policy.KindInlineRole)
		}
	}
	for _, p := range a.Policies {
		check(p.ARN, "managed policy "+p.Name, p.Document, policy.KindManaged)
	}
	return fs
}

// wildcard reports an Allow statement that grants every action ("*" or
// NotAction), high, or every action of a service ("s3:*") on every
// resource, medium.
func wildcard(account, subject, where, doc string, kind policy.Kind) (Finding, bool) {
	d, err := policy.Parse([]byte(doc), kind)
	if err != nil {
		return Finding{}, false // the store holds only valid documents; a bad one grants nothing
	}
	sev, what := Severity(""), ""
	for _, s := range d.Statements() {
		if s.Effect != policy.Allow {
			continue
		}
		allResources := slices.Contains(s.Resource, "*") || len(s.NotResource) > 0
		switch {
		case slices.Contains(s.Action, "*") || len(s.NotAction) > 0:
			sev, what = High, "every action"
		case allResources && sev == "":
			for _, a := range s.Action {
				if strings.HasSuffix(a, ":*") {
					sev, what = Medium, "every action of "+strings.TrimSuffix(a, ":*")
					break
				}
			}
		}
		if sev == High {
			break
		}
	}
	if sev == "" {
		return Finding{}, false
	}
	return Finding{Rule: RuleWildcardGrant, Severity: sev, Account: account, Subject: subject,
		Detail: fmt.Sprintf("The %s allows %s with wildcards.", where, what),
		Fix:    "Grant least privilege: name the actions and the resources the principal needs (aws iam simulate-principal-policy, imdsemu policy simulate, show what a change would deny)."}, true
}

// instanceRules: instances whose clients still make IMDSv1 calls.
func instanceRules(in Input) []Finding {
	var fs []Finding
	for _, i := range in.Instances {
		var total uint64
		for _, n := range i.NoTokenRequests {
			total += n
		}
		if total == 0 {
			continue
		}
		clients := slices.Sorted(maps.Keys(i.NoTokenRequests))
		fs = append(fs, Finding{Rule: RuleIMDSv1, Severity: Medium, Account: i.Account, Subject: i.ID,
			Detail: fmt.Sprintf("Instance %s answered %d metadata %s without an IMDSv2 token (IMDSv1), from %s.", i.ID, total, plural(total, "request"), strings.Join(clients, ", ")),
			Fix:    "Update the SDKs and tools of those clients to versions that use IMDSv2 tokens, watch the count (imdsemu_imds_no_token_requests_total, EC2's MetadataNoToken) stay flat, then require tokens (imdsemu options set http-tokens required; aws ec2 modify-instance-metadata-options --http-tokens required)."})
	}
	return fs
}

// plural is word, with an s unless n is 1.
func plural(n uint64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// audienceKeys are the condition keys that tie a trust in a well-known web
// identity provider to one app: without one, a role trusting
// accounts.google.com can be assumed with a Google token of any app.
var audienceKeys = map[string]string{
	"accounts.google.com":            "accounts.google.com:aud",
	"cognito-identity.amazonaws.com": "cognito-identity.amazonaws.com:aud",
	"graph.facebook.com":             "graph.facebook.com:app_id",
	"www.amazon.com":                 "www.amazon.com:app_id",
}

// trustRules: a role trusting a well-known web identity provider with no
// condition on the app (aud, app_id).
func trustRules(a Account) []Finding {
	var fs []Finding
	for _, r := range a.Roles {
		if r.Trust == "" {
			continue
		}
		d, err := policy.Parse([]byte(r.Trust), policy.KindTrust)
		if err != nil {
			continue
		}
		for _, st := range d.Statements() {
			if st.Effect != policy.Allow || st.Principal == nil {
				continue
			}
			for _, provider := range st.Principal.Federated {
				key, ok := audienceKeys[provider]
				if !ok || slices.ContainsFunc(st.Condition, func(c policy.Condition) bool { return strings.EqualFold(c.Key, key) }) {
					continue
				}
				fs = append(fs, Finding{Rule: RuleOpenWebIdentity, Severity: High, Account: a.ID, Subject: r.ARN,
					Detail: fmt.Sprintf("Role %s trusts %s with no condition on %s: a token that %s issued to any app can assume it.", r.Name, provider, key, provider),
					Fix:    fmt.Sprintf(`Add "Condition": {"StringEquals": {"%s": "YOUR-APP-ID"}} to the trust policy statement (aws iam update-assume-role-policy).`, key)})
			}
		}
	}
	return fs
}
