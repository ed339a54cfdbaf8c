package federation

import (
	"fmt"
	"net/http"
)

// STS error codes returned in [Error.Code].
const (
	// CodeInvalidIdentityToken: the token or assertion could not be
	// validated (bad signature, unknown provider or key, wrong audience,
	// malformed, missing a required claim or attribute).
	CodeInvalidIdentityToken = "InvalidIdentityToken"
	// CodeExpiredToken: the token or assertion has expired.
	CodeExpiredToken = "ExpiredTokenException"
	// CodeIDPCommunication: the provider's discovery document or keys could
	// not be fetched, or fetching them was refused (not a loopback address).
	CodeIDPCommunication = "IDPCommunicationError"
	// CodeValidation: a request parameter broke a length constraint.
	CodeValidation = "ValidationError"
)

// Error is a federation failure as STS reports it: Code is the STS error
// code (one of the Code* constants) and Msg the message. Msg never contains
// the token or assertion.
type Error struct {
	Code, Msg string
}

func (e *Error) Error() string { return e.Code + ": " + e.Msg }

// HTTPStatus is the status STS answers with for e's code: 400 for all of
// them (IDPRejectedClaim, which this package does not return, would be 403).
func (e *Error) HTTPStatus() int {
	if e.Code == "IDPRejectedClaim" {
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

func invalidToken(format string, args ...any) *Error {
	return newError(CodeInvalidIdentityToken, format, args...)
}

// expiredError is the message STS gives for an expired web identity token
// or SAML assertion, with both times in Unix seconds.
func expiredError(now, expiry int64) *Error {
	return newError(CodeExpiredToken, "Token expired: current date/time %d must be before the expiration date/time %d", now, expiry)
}
