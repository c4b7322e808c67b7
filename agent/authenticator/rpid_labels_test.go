package authenticator

import (
	"errors"
	"testing"
)

// TestRPIDAllowedSingleLabelSpelledWithDot: a single label is the RP ID of
// itself only however it is spelt: "com." is the label com written as a
// fully qualified name, and ".localhost" names no parent domain at all.
// Before, any RP ID with a dot in it passed the single-label rule, so a
// trailing or leading dot made com the RP ID of every host under it (the
// hub's options, and a state.json's pin, as Validate uses the same rule).
func TestRPIDAllowedSingleLabelSpelledWithDot(t *testing.T) {
	for _, tc := range []struct {
		rpID, host string
		ok         bool
	}{
		{"com.", "hub.example.com.", false},
		{"localhost.", "hub.localhost.", false},
		{".localhost", "hub..localhost", false},
		{".", "hub.example.", false},
		// A parent domain spelt fully qualified is still one, and a host
		// its own RP ID however it is spelt.
		{"example.com.", "hub.example.com.", true},
		{"localhost.", "localhost.", true},
		{"example.com", "hub.example.com", true},
	} {
		if got := RPIDAllowed(tc.rpID, tc.host); got != tc.ok {
			t.Errorf("RPIDAllowed(%q, %q) = %v, want %v", tc.rpID, tc.host, got, tc.ok)
		}
	}

	// The client refuses the hub's options for such an RP ID.
	a := newTestSoft(t, t.TempDir(), "ana", SoftOptions{})
	options := []byte(`{"publicKey": {"rp": {"id": "com.", "name": "x"}, "user": {"id": "YW5h", "name": "ana", "displayName": "ana"},
		"challenge": "Y2hhbGxlbmdl", "pubKeyCredParams": [{"type": "public-key", "alg": -7}]}}`)
	if _, err := Register(t.Context(), a, "https://hub.example.com.", options); !errors.Is(err, ErrSecurity) {
		t.Errorf("register for rp.id com. from https://hub.example.com.: %v, want %v", err, ErrSecurity)
	}
}
