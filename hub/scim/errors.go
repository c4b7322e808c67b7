package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// ErrorURN is the schema of a SCIM error response (RFC 7644 §3.12).
const ErrorURN = "urn:ietf:params:scim:api:messages:2.0:Error"

// SCIM error types (the "scimType" of RFC 7644 §3.12, Table 9).
const (
	ScimTypeInvalidFilter = "invalidFilter"
	ScimTypeTooMany       = "tooMany"
	ScimTypeUniqueness    = "uniqueness"
	ScimTypeMutability    = "mutability"
	ScimTypeInvalidSyntax = "invalidSyntax"
	ScimTypeInvalidPath   = "invalidPath"
	ScimTypeNoTarget      = "noTarget"
	ScimTypeInvalidValue  = "invalidValue"
	ScimTypeInvalidVers   = "invalidVers"
	ScimTypeSensitive     = "sensitive"
)

// Error is a SCIM protocol error. It carries the HTTP status and, for 400s,
// the scimType; it marshals to the RFC 7644 §3.12 error schema, so a handler
// renders any *Error with json.Marshal and w.WriteHeader(err.StatusCode()).
//
// Detail is shown to the client (an IdP admin reading provisioning logs): it
// says what is wrong and how to fix it, and never contains attribute values,
// which may be secrets.
type Error struct {
	Status   int
	ScimType string
	Detail   string

	// allow is a 405's Allow header: the methods the endpoint takes.
	allow string
}

// Error implements error.
func (e *Error) Error() string {
	if e.ScimType == "" {
		return fmt.Sprintf("scim: %d: %s", e.Status, e.Detail)
	}
	return fmt.Sprintf("scim: %d %s: %s", e.Status, e.ScimType, e.Detail)
}

// StatusCode is the HTTP status to answer with.
func (e *Error) StatusCode() int { return e.Status }

// MarshalJSON renders the RFC 7644 §3.12 error response; "status" is a
// string there, not a number.
func (e Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Schemas  []string `json:"schemas"`
		Status   string   `json:"status"`
		ScimType string   `json:"scimType,omitempty"`
		Detail   string   `json:"detail,omitempty"`
	}{[]string{ErrorURN}, strconv.Itoa(e.Status), e.ScimType, e.Detail})
}

func newError(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// ErrInvalidFilter (400): the filter syntax is invalid, or the operator does
// not apply to the attribute's type.
func ErrInvalidFilter(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeInvalidFilter, format, args...)
}

// ErrTooMany (400): the query would return more results than the server will
// process; the client should narrow its filter.
func ErrTooMany(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeTooMany, format, args...)
}

// ErrUniqueness (409): a value that must be unique (userName) is already taken.
func ErrUniqueness(format string, args ...any) *Error {
	return newError(http.StatusConflict, ScimTypeUniqueness, format, args...)
}

// ErrMutability (400): the request would change a readOnly or immutable
// attribute, or remove a required one.
func ErrMutability(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeMutability, format, args...)
}

// ErrInvalidSyntax (400): the request body is not a well-formed SCIM message.
func ErrInvalidSyntax(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeInvalidSyntax, format, args...)
}

// ErrInvalidPath (400): a PATCH path is malformed or names no attribute.
func ErrInvalidPath(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeInvalidPath, format, args...)
}

// ErrNoTarget (400): a PATCH path matched nothing where a match is required.
func ErrNoTarget(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeNoTarget, format, args...)
}

// ErrInvalidValue (400): a value has the wrong type or format, or a required
// value is missing.
func ErrInvalidValue(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeInvalidValue, format, args...)
}

// ErrInvalidVers (400): the requested SCIM protocol version is not supported.
func ErrInvalidVers(format string, args ...any) *Error {
	return newError(http.StatusBadRequest, ScimTypeInvalidVers, format, args...)
}

// ErrSensitive (403): the request put confidential data in the URL, for
// example a filter on a secret; it must use POST /.search instead.
func ErrSensitive(format string, args ...any) *Error {
	return newError(http.StatusForbidden, ScimTypeSensitive, format, args...)
}
