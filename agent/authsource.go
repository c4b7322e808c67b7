package agent

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// ErrFIDO2NotBuilt is returned for --authenticator fido2 by binaries built
// without the fido2 build tag (which needs libfido2).
var ErrFIDO2NotBuilt = errors.New("hardware FIDO2 support is not built in this binary (build tag fido2)")

// ParseAuthenticator turns the --authenticator value into a source of
// authenticators: "soft:DIR" gives soft badges DIR/NAME.json (created on
// their first registration, see authenticator.NewSoft); "fido2" the
// hardware reader, when built in.
func ParseAuthenticator(spec string, opts authenticator.SoftOptions) (AuthenticatorSource, error) {
	switch {
	case strings.HasPrefix(spec, "soft:"):
		dir := strings.TrimPrefix(spec, "soft:")
		if dir == "" {
			return nil, fmt.Errorf("authenticator %q: soft needs a directory: soft:DIR", spec)
		}
		return func(name string) (authenticator.Authenticator, error) {
			return authenticator.NewSoft(dir, name, opts)
		}, nil
	case spec == "fido2":
		return fido2Source()
	default:
		return nil, fmt.Errorf("authenticator %q: want soft:DIR or fido2", spec)
	}
}
