//go:build !fido2

package agent

// fido2Source is replaced by a libfido2 backend in binaries built with the
// fido2 tag.
func fido2Source() (AuthenticatorSource, error) { return nil, ErrFIDO2NotBuilt }
