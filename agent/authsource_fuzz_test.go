package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// FuzzParseAuthenticator: --authenticator is "soft:DIR" or "fido2" and
// nothing else: anything else is refused with an error quoting it (or,
// for fido2 in a binary without it, ErrFIDO2NotBuilt), and a source is
// given only for those two forms.
func FuzzParseAuthenticator(f *testing.F) {
	for _, s := range []string{"soft:/var/lib/shiftgate/badges", "soft:", "soft", "fido2", "FIDO2", " fido2", "soft:dir:x", "", "usb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		src, err := ParseAuthenticator(spec, authenticator.SoftOptions{})
		if err != nil {
			if src != nil {
				t.Fatalf("ParseAuthenticator(%q) gave a source with error %v", spec, err)
			}
			if !errors.Is(err, ErrFIDO2NotBuilt) && !strings.HasPrefix(err.Error(), fmt.Sprintf("authenticator %q: ", spec)) {
				t.Fatalf("ParseAuthenticator(%q) error does not quote the flag: %v", spec, err)
			}
			return
		}
		if src == nil || spec != "fido2" && (!strings.HasPrefix(spec, "soft:") || spec == "soft:") {
			t.Fatalf("ParseAuthenticator(%q) accepted", spec)
		}
	})
}
