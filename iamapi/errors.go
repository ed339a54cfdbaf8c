package iamapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/imdsemu/imdsemu/internal/awsquery"
	"github.com/imdsemu/imdsemu/rolestore"
)

// IAM error codes imdsemu answers with (botocore's IAM model gives each
// code its HTTP status).
const (
	CodeAccessDenied              = "AccessDenied"
	CodeDeleteConflict            = "DeleteConflict"
	CodeEntityAlreadyExists       = "EntityAlreadyExists"
	CodeInvalidAction             = "InvalidAction"
	CodeInvalidInput              = "InvalidInput"
	CodeLimitExceeded             = "LimitExceeded"
	CodeMalformedPolicyDocument   = "MalformedPolicyDocument"
	CodeNoSuchEntity              = "NoSuchEntity"
	CodeReportNotPresent          = "ReportNotPresent"
	CodeServiceFailure            = "ServiceFailure"
	CodeValidationError           = "ValidationError"
	CodeInvalidAuthenticationCode = "InvalidAuthenticationCode"
)

// Error is an IAM error as it goes on the wire: AWS's code, the HTTP status
// AWS answers it with, and a message (the Query protocol's error, shared
// with STS). Messages never carry secrets.
type Error = awsquery.Error

func newError(code string, status int, format string, args ...any) *Error {
	return awsquery.Errorf(code, status, format, args...)
}

func errNoSuchEntity(format string, args ...any) *Error {
	return newError(CodeNoSuchEntity, http.StatusNotFound, format, args...)
}

func errAlreadyExists(format string, args ...any) *Error {
	return newError(CodeEntityAlreadyExists, http.StatusConflict, format, args...)
}

func errDeleteConflict(format string, args ...any) *Error {
	return newError(CodeDeleteConflict, http.StatusConflict, format, args...)
}

func errLimitExceeded(format string, args ...any) *Error {
	return newError(CodeLimitExceeded, http.StatusConflict, format, args...)
}

func errInvalidInput(format string, args ...any) *Error {
	return newError(CodeInvalidInput, http.StatusBadRequest, format, args...)
}

func errMalformedPolicy(format string, args ...any) *Error {
	return newError(CodeMalformedPolicyDocument, http.StatusBadRequest, format, args...)
}

// errInternal is ServiceFailure; the cause goes to the log, not the wire.
func errInternal() *Error {
	return &Error{Code: CodeServiceFailure, Status: http.StatusInternalServerError,
		Msg: "The request processing has failed because of an unknown error, exception or failure."}
}

// storeError maps a store error to IAM's: the store's own IAM code and
// message (rolestore.Error), or notFound's message for a bare ErrNotFound,
// or a shape violation as InvalidInput; anything else is logged and
// internal.
func (s *Server) storeError(rc *request, err error, notFound string) *Error {
	var re *rolestore.Error
	code := rolestore.Code(err)
	switch {
	case code == "":
		s.log.Error("iam: store", "action", rc.action, "err", err)
		return errInternal()
	case errors.As(err, &re) && re.Message != "":
		return newError(code, statusOf(code), "%s", re.Message)
	case code == rolestore.CodeNoSuchEntity && notFound != "":
		return errNoSuchEntity("%s", notFound)
	case code == rolestore.CodeValidationError:
		return errInvalidInput("%s", strings.TrimPrefix(err.Error(), "rolestore: "))
	}
	return newError(code, statusOf(code), "%s", strings.TrimPrefix(err.Error(), "rolestore: "))
}

// statusOf is the HTTP status IAM answers an error code with.
func statusOf(code string) int {
	switch code {
	case CodeNoSuchEntity:
		return http.StatusNotFound
	case CodeEntityAlreadyExists, CodeLimitExceeded, CodeDeleteConflict:
		return http.StatusConflict
	case CodeServiceFailure:
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// validation collects parameter constraint violations (Fail, Missing, Err)
// and reads parameters against IAM's shapes (params.go).
type validation struct {
	awsquery.Validation
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
