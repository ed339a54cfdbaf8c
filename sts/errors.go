package sts

import (
	"net/http"

	"github.com/imdsemu/imdsemu/internal/awsquery"
	"github.com/imdsemu/imdsemu/internal/sigv4"
)

// AWS STS error codes imdsemu answers with.
const (
	CodeAccessDenied                = "AccessDenied"
	CodeExpiredToken                = "ExpiredToken"
	CodeExpiredTokenException       = "ExpiredTokenException"
	CodeIDPCommunicationError       = "IDPCommunicationError"
	CodeIDPRejectedClaim            = "IDPRejectedClaim"
	CodeIncompleteSignature         = sigv4.CodeIncompleteSignature
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
	CodeSignatureDoesNotMatch       = sigv4.CodeSignatureDoesNotMatch
	CodeValidationError             = "ValidationError"
	CodeXAmzContentSHA256Mismatch   = sigv4.CodeXAmzContentSHA256Mismatch
)

// Messages AWS STS gives with some codes, word for word.
const (
	MsgInvalidClientTokenID       = "The security token included in the request is invalid."
	MsgExpiredToken               = "The security token included in the request is expired"
	MsgSignatureDoesNotMatch      = sigv4.MsgSignatureDoesNotMatch
	MsgMissingAuthenticationToken = "Request is missing Authentication Token"
)

// Error is an STS error as it goes on the wire: an AWS error code, the HTTP
// status AWS answers it with, and a message (the Query protocol's error,
// shared with the IAM API). Messages never contain secrets or session
// tokens; they may contain access key ids and ARNs, as AWS's do.
type Error = awsquery.Error

func newError(code string, status int, format string, args ...any) *Error {
	return awsquery.Errorf(code, status, format, args...)
}

func errInvalidClientTokenID() *Error {
	return &Error{Code: CodeInvalidClientTokenID, Status: http.StatusForbidden, Msg: MsgInvalidClientTokenID}
}

// errExpiredToken is 403: that is what AWS STS answers (aws-sdk-java-v2
// issue 1649 quotes "Status Code: 403; Error Code: ExpiredToken").
func errExpiredToken() *Error {
	return &Error{Code: CodeExpiredToken, Status: http.StatusForbidden, Msg: MsgExpiredToken}
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

// validation collects parameter constraint violations (Fail, Missing, Err)
// and reads parameters against STS's constraints (validate.go).
type validation struct {
	awsquery.Validation
}
