// Package policy parses, validates and evaluates AWS IAM policy documents,
// and explains each decision.
//
// It imports only the standard library. The behaviour follows the IAM User
// Guide: "IAM JSON policy element reference" (grammar, Version, Statement,
// Sid, Effect, Principal, NotPrincipal, Action, NotAction, Resource,
// NotResource, Condition), "Condition operators", "Single-valued vs.
// multivalued context keys" (ForAllValues/ForAnyValue), "Policy variables",
// "Policy evaluation logic" (single account and cross-account), "Permissions
// boundaries" and "Session policies", and the IAM/STS quotas for policy sizes.
//
// # Parsing
//
// [Parse] takes the raw JSON and a [Kind] (managed, boundary, user/group/role
// inline, session, trust, resource-based). The kind decides which elements
// are required or forbidden and the size limit; [ParseOptions] also names the
// document and can override the limit. Parsing is strict, as IAM is: unknown
// or duplicated elements, a lower-case "allow", a malformed condition value
// or an action without a service prefix are errors. Errors are
// *[SyntaxError], *[ValidationError] or *[SizeError]; each has an
// ErrorCode method giving the AWS error code ("MalformedPolicyDocument" for the
// first two) and a Detail method giving a message a person can act on, e.g.
//
//	Statement[1] (Sid "S3"): Effect must be "Allow" or "Deny", got "allow"
//
// Statement indexes in messages are 0-based. [Document.MarshalJSON] writes a
// canonical form that parses back to an equivalent document.
//
// # Evaluation
//
// [Evaluate] decides a [Request] (principal, action, resource, context keys)
// against a [Set] of documents: identity-based, resource-based, role trust,
// permissions boundary and session policies. An explicit Deny anywhere wins;
// otherwise an Allow is needed as AWS's evaluation logic describes (see
// [Evaluate] for the rules). A denial is a [Decision] value, never an error.
// Service control policies and resource control policies are not modelled.
//
// Matching follows AWS: actions are case-insensitive with '*' and '?';
// resources are matched per ARN segment, and a '*' in the resource segment
// spans '/' and ':'; condition key names are case-insensitive; a condition
// that does not hold makes its statement not apply (it is not a Deny);
// negated operators hold when the key is missing; ForAllValues holds for a
// missing key and ForAnyValue does not. Policy variables (${aws:username},
// ${aws:PrincipalTag/team, 'default'}, ${*}, ${?}, ${$}) are substituted in
// Resource and in String and ARN condition values, only under Version
// 2012-10-17. A variable with no value and no default matches nothing.
//
// # Explanations
//
// Every [Decision] lists the statements that matched ([StatementRef]) and an
// Explanation worded like AWS's access-denied messages, e.g. `explicit deny
// in identity-based policy "inline:foo" statement "DenyAll"` or `no
// identity-based policy allows the s3:GetObject action`.
//
// # Concurrency
//
// A [Document] is immutable once parsed; its patterns are compiled at parse
// time. Any number of goroutines may call [Evaluate] with the same documents
// at once. The package starts no goroutines and has no global state.
package policy
