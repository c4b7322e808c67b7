package agent

import (
	"encoding/json"
	"strings"
	"unicode"
)

// maxDisplayName bounds the names the agent passes on to a screen, in
// runes.
const maxDisplayName = 64

// creationDisplayName returns the user's display name from WebAuthn
// PublicKeyCredentialCreationOptions (publicKey.user.displayName, as the hub
// sends them in enroll.start), cleaned for a screen (cleanName) and at most
// maxDisplayName runes. It is "" when
// the options carry none.
func creationDisplayName(options json.RawMessage) string {
	type user struct {
		DisplayName string `json:"displayName"`
	}
	type pk struct {
		User user `json:"user"`
	}
	var o struct {
		PublicKey *pk `json:"publicKey"`
		pk
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return ""
	}
	name := o.User.DisplayName
	if o.PublicKey != nil {
		name = o.PublicKey.User.DisplayName
	}
	return cleanName(name)
}

// cleanName makes a name from the hub safe to show on one line: control
// and format characters (bidi overrides among them) split words, and runs
// of spaces become one.
func cleanName(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
	}), " ")
	if r := []rune(s); len(r) > maxDisplayName {
		s = strings.TrimSpace(string(r[:maxDisplayName-1])) + "…"
	}
	return s
}
