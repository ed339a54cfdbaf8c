package sts

import (
	"fmt"
	"net/http"
	"strings"
)

// AWS STS error codes imdsemu answers with.
const (
	CodeAccessDenied                = "AccessDenied"
	CodeExpiredToken                = "ExpiredToken"
	CodeExpiredTokenException       = "ExpiredTokenException"
	CodeIDPCommunicationError       = "IDPCommunicationError"
	CodeIDPRejectedClaim            = "IDPRejectedClaim"
	CodeIncompleteSignature         = "IncompleteSignature"
	CodeInternalFailure             = "InternalFailure"
	CodeInvalidAction               = "InvalidAction"
	CodeInvalidAuthorizationMessage = "InvalidAuthorizationMessageException"
	CodeInvalidClientTokenID        = "InvalidClientTokenId"
	CodeInvalidIdentityToken        = "InvalidIdentityToken"
	CodeInvalidParameterValue       = "InvalidParameterValue"
	CodeMalformedPolicyDocument     = "MalformedPolicyDocument"
	CodeMalformedQueryString        = "MalformedQueryString"
	CodeMissingAction               = "MissingAction"
	CodeMissingAuthenticationToken  = "MissingAuthenticationToken"
	CodePackedPolicyTooLarge        = "PackedPolicyTooLarge"
	CodeRequestEntityTooLarge       = "RequestEntityTooLarge"
	CodeSignatureDoesNotMatch       = "SignatureDoesNotMatch"
	CodeValidationError             = "ValidationError"
	CodeXAmzContentSHA256Mismatch   = "XAmzContentSHA256Mismatch"
)

// Messages AWS STS gives with some codes, word for word.
const (
	MsgInvalidClientTokenID       = "The security token included in the request is invalid."
	MsgExpiredToken               = "The security token included in the request is expired"
	MsgSignatureDoesNotMatch      = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	MsgMissingAuthenticationToken = "Request is missing Authentication Token"
)

// Error is an STS error as it goes on the wire: an AWS error code, the HTTP
// status AWS answers it with, and a message. Messages never contain secrets
// or session tokens; they may contain access key ids and ARNs, as AWS's do.
type Error struct {
	Code   string
	Status int
	Msg    string
}

func (e *Error) Error() string { return "sts: " + e.Code + ": " + e.Msg }

// Type is "Sender" for 4xx errors and "Receiver" for 5xx, as in the
// ErrorResponse document.
func (e *Error) Type() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

func newError(code string, status int, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Code: code, Status: status, Msg: msg}
}

func errInvalidClientTokenID() *Error {
	return &Error{Code: CodeInvalidClientTokenID, Status: http.StatusForbidden, Msg: MsgInvalidClientTokenID}
}

// errExpiredToken is 403: that is what AWS STS answers (aws-sdk-java-v2
// issue 1649 quotes "Status Code: 403; Error Code: ExpiredToken").
func errExpiredToken() *Error {
	return &Error{Code: CodeExpiredToken, Status: http.StatusForbidden, Msg: MsgExpiredToken}
}

func errSignatureDoesNotMatch(msg string) *Error {
	if msg == "" {
		msg = MsgSignatureDoesNotMatch
	}
	return &Error{Code: CodeSignatureDoesNotMatch, Status: http.StatusForbidden, Msg: msg}
}

// errIncompleteSignature is 400 for STS (hashicorp/vault#4939, boto3#2280).
func errIncompleteSignature(format string, args ...any) *Error {
	return newError(CodeIncompleteSignature, http.StatusBadRequest, format, args...)
}

func errMissingAuthenticationToken() *Error {
	return &Error{Code: CodeMissingAuthenticationToken, Status: http.StatusForbidden, Msg: MsgMissingAuthenticationToken}
}

func errAccessDenied(format string, args ...any) *Error {
	return newError(CodeAccessDenied, http.StatusForbidden, format, args...)
}

func errInternal() *Error {
	return &Error{Code: CodeInternalFailure, Status: http.StatusInternalServerError,
		Msg: "The request processing has failed because of an unknown error, exception or failure."}
}

// notAuthorized is AWS's AccessDenied wording for an authorization failure.
func notAuthorized(principal, action, resource string) *Error {
	return errAccessDenied("User: %s is not authorized to perform: %s on resource: %s", principal, action, resource)
}

// validation collects parameter constraint violations and renders them the
// way AWS's Coral frontends do: "2 validation errors detected: Value 'x' at
// 'roleSessionName' failed to satisfy constraint: ...; Value ...".
type validation struct {
	msgs []string
}

// fail records that value at member breaks constraint.
func (v *validation) fail(member, value, constraint string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint))
}

// missing records a required member that is absent.
func (v *validation) missing(member string) {
	v.msgs = append(v.msgs, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
}

func (v *validation) err() *Error {
	switch len(v.msgs) {
	case 0:
		return nil
	case 1:
		return newError(CodeValidationError, http.StatusBadRequest, "1 validation error detected: %s", v.msgs[0])
	}
	return newError(CodeValidationError, http.StatusBadRequest, "%d validation errors detected: %s", len(v.msgs), strings.Join(v.msgs, "; "))
}
