package rolestore

import (
	"errors"
	"fmt"
)

// IAM error codes, as the IAM Query API answers them. Code maps any error
// of the store to one of these.
const (
	CodeNoSuchEntity            = "NoSuchEntity"
	CodeEntityAlreadyExists     = "EntityAlreadyExists"
	CodeLimitExceeded           = "LimitExceeded"
	CodeDeleteConflict          = "DeleteConflict"
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
	CodeInvalidInput            = "InvalidInput"
	CodeValidationError         = "ValidationError"
)

// More sentinels beside ErrNotFound and ErrConflict; errors.Is finds them
// through an *Error of the matching code.
var (
	// ErrAlreadyExists: the entity to create exists (EntityAlreadyExists).
	ErrAlreadyExists = errors.New("rolestore: already exists")
	// ErrLimitExceeded: the write would pass an IAM quota (LimitExceeded):
	// a third access key for one user, a ninth MFA device, an 11th group.
	ErrLimitExceeded = errors.New("rolestore: limit exceeded")
	// ErrMalformedPolicy: a policy document is not acceptable
	// (MalformedPolicyDocument).
	ErrMalformedPolicy = errors.New("rolestore: malformed policy document")
	// ErrInvalidInput: a parameter is not acceptable for another reason
	// than its shape (InvalidInput), e.g. an AWS managed policy to change.
	ErrInvalidInput = errors.New("rolestore: invalid input")
)

// Error is a store error with its IAM error code and the message AWS gives
// for it, e.g. {LimitExceeded, "Cannot exceed quota for GroupsPerUser: 10"}.
// It never carries a policy document or a secret. errors.Is matches it to
// the sentinel of its code: NoSuchEntity to ErrNotFound, DeleteConflict to
// ErrConflict, EntityAlreadyExists to ErrAlreadyExists, LimitExceeded to
// ErrLimitExceeded, MalformedPolicyDocument to ErrMalformedPolicy and
// InvalidInput to ErrInvalidInput.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is matches the sentinel of the error's code.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Code == CodeNoSuchEntity
	case ErrConflict:
		return e.Code == CodeDeleteConflict
	case ErrAlreadyExists:
		return e.Code == CodeEntityAlreadyExists
	case ErrLimitExceeded:
		return e.Code == CodeLimitExceeded
	case ErrMalformedPolicy:
		return e.Code == CodeMalformedPolicyDocument
	case ErrInvalidInput:
		return e.Code == CodeInvalidInput
	}
	return false
}

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Code returns the IAM error code for an error of the store: the code of an
// *Error, ValidationError for a *ValidationError, NoSuchEntity for
// ErrNotFound, DeleteConflict for ErrConflict, and "" for anything else
// (a failure of the store itself: InternalFailure).
func Code(err error) string {
	var e *Error
	var ve *ValidationError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	case errors.As(err, &ve):
		return CodeValidationError
	case errors.Is(err, ErrNotFound):
		return CodeNoSuchEntity
	case errors.Is(err, ErrConflict):
		return CodeDeleteConflict
	case errors.Is(err, ErrLimitExceeded):
		return CodeLimitExceeded
	}
	return ""
}
