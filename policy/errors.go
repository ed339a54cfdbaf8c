package policy

import (
	"fmt"
	"strconv"
)

// CodeMalformedPolicyDocument is the AWS error code for a policy document that
// is not valid JSON or breaks the policy grammar. [SyntaxError] and
// [ValidationError] report it from ErrorCode.
const CodeMalformedPolicyDocument = "MalformedPolicyDocument"

// SyntaxError reports a document that is not well-formed JSON, or JSON that
// repeats a key within one object.
type SyntaxError struct {
	// Offset is the byte offset in the input where the problem was found.
	Offset int64
	// Line and Column locate Offset for a person (both 1-based; Column counts bytes).
	Line, Column int
	// Msg says what is wrong.
	Msg string
}

func (e *SyntaxError) Error() string { return "policy: " + e.Detail() }

// Detail returns the message without the package prefix, suitable for the
// Message of an AWS error response.
func (e *SyntaxError) Detail() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// ErrorCode returns [CodeMalformedPolicyDocument].
func (e *SyntaxError) ErrorCode() string { return CodeMalformedPolicyDocument }

// ValidationError reports well-formed JSON that is not a valid policy: an
// unknown element, a missing or duplicated element, or a value of the wrong
// shape.
type ValidationError struct {
	// Statement is the 0-based index of the offending statement, or -1 when
	// the problem is at the document level.
	Statement int
	// Sid is the statement's Sid, if it has one.
	Sid string
	// Field names the element, e.g. "Effect" or "Condition.StringEquals.aws:username".
	Field string
	// Msg says what is wrong and, where it helps, what was expected.
	Msg string
}

func (e *ValidationError) Error() string { return "policy: " + e.Detail() }

// Detail returns the message without the package prefix, e.g.
//
//	Statement[1] (Sid "S3"): Effect must be "Allow" or "Deny", got "allow"
func (e *ValidationError) Detail() string {
	if e.Statement < 0 {
		return e.Msg
	}
	loc := "Statement[" + strconv.Itoa(e.Statement) + "]"
	if e.Sid != "" {
		loc += " (Sid " + strconv.Quote(e.Sid) + ")"
	}
	return loc + ": " + e.Msg
}

// ErrorCode returns [CodeMalformedPolicyDocument].
func (e *ValidationError) ErrorCode() string { return CodeMalformedPolicyDocument }

// SizeError reports a document longer than the limit for its [Kind].
type SizeError struct {
	Kind  Kind
	Size  int // characters counted as AWS counts them for Kind
	Limit int
}

func (e *SizeError) Error() string { return "policy: " + e.Detail() }

// Detail returns the message without the package prefix.
func (e *SizeError) Detail() string {
	what := "characters excluding whitespace"
	if e.Kind == KindSession {
		what = "characters"
	}
	return fmt.Sprintf("%s is %d %s, more than the limit of %d", e.Kind, e.Size, what, e.Limit)
}

// ErrorCode returns the code AWS uses for an oversized policy of this kind:
// "ValidationError" for a session policy (an STS parameter constraint) and
// "LimitExceeded" for policies stored by IAM or a resource.
func (e *SizeError) ErrorCode() string {
	if e.Kind == KindSession {
		return "ValidationError"
	}
	return "LimitExceeded"
}
