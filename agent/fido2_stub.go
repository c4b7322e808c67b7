//go:build !fido2

package agent

import "log/slog"

// fido2Source is replaced by a libfido2 backend in binaries built with the
// fido2 tag.
func fido2Source() (AuthenticatorSource, error) { return nil, ErrFIDO2NotBuilt }

// fido2Reader is replaced by the libfido2 device poller in binaries built
// with the fido2 tag.
func fido2Reader([]string, *slog.Logger) (Reader, error) { return nil, ErrFIDO2NotBuilt }
