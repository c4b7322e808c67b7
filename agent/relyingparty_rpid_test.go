package agent

import (
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// TestRPIDRuleSharedWithClient: the origin and rp_id pair state.json may
// pin and the pair the badge's client signs for are decided by one rule
// (authenticator.RPIDAllowed): a parent domain is an RP ID of its hosts,
// a single label (localhost, com) or an IP address only of itself. Before,
// the client also took localhost as the RP ID of https://hub.localhost,
// which Enrollment.Validate refuses: the two copies of the rule differed.
func TestRPIDRuleSharedWithClient(t *testing.T) {
	for _, tc := range []struct {
		origin, rpID string
		ok           bool
	}{
		{"https://localhost:8443", "localhost", true},
		{"https://hub.localhost", "localhost", false},
		{"https://hub.example", "com", false},
		{"https://sso.corp.example", "corp.example", true},
		{"https://SSO.Corp.Example", "CORP.example", true},
		{"https://hub.example", "ub.example", false},
		{"https://127.0.0.1:8443", "127.0.0.1", true},
		{"https://127.0.0.1:8443", "0.0.1", false},
	} {
		e := Enrollment{Version: stateVersion, HubURL: "https://hub.example", DeviceID: "d1", Profile: "p", Origin: tc.origin, RPID: tc.rpID}
		if err := e.Validate(); (err == nil) != tc.ok {
			t.Errorf("state.json origin %s, rp_id %q: Validate says %v, want ok %v", tc.origin, tc.rpID, err, tc.ok)
		}
		badge, err := authenticator.NewSoft(t.TempDir(), "ana", authSoftOpts())
		mustNoErr(t, err)
		_, err = authenticator.Register(t.Context(), badge, tc.origin, creationOptionsFor(tc.rpID))
		switch {
		case tc.ok && err != nil:
			t.Errorf("client, origin %s, rp.id %q: %v, want it registered", tc.origin, tc.rpID, err)
		case !tc.ok && !errors.Is(err, authenticator.ErrSecurity):
			t.Errorf("client, origin %s, rp.id %q: %v, want %v", tc.origin, tc.rpID, err, authenticator.ErrSecurity)
		}
		_, err = authenticator.Authenticate(t.Context(), badge, tc.origin, optionsFor(tc.rpID, "c"))
		if !tc.ok && !errors.Is(err, authenticator.ErrSecurity) {
			t.Errorf("client, origin %s, rpId %q: assertion %v, want %v", tc.origin, tc.rpID, err, authenticator.ErrSecurity)
		}
	}
}
