package agent

import (
	"encoding/json"
	"testing"
)

// TestPinnedRelyingPartyReadsBack: the origin and rp_id Enroll writes into
// state.json for any hub URL it accepts are ones ReadEnrollment accepts
// again, as the same relying party, and that relying party takes the hub
// URL's own origin. An IPv6 literal with a zone (a link-local address, its
// % written %25 in the URL) wrote an origin that no longer parsed: the
// kiosk was enrolled, its code spent, and the agent refused to start.
func TestPinnedRelyingPartyReadsBack(t *testing.T) {
	for _, hubURL := range []string{
		"https://hub.example:8443",
		"https://HUB.Example:443/",
		"https://127.0.0.1:8443",
		"https://[::1]:8443",
		"https://[::1]:443",
		"https://[fe80::1%25eth0]:8443",
		"https://[fe80::1%25eth0]:443",
	} {
		u, err := parseHubURL(hubURL)
		mustNoErr(t, err)
		rp := hubRelyingParty(u)
		e := Enrollment{Version: stateVersion, HubURL: u.String(), DeviceID: "d1", Profile: "p", Origin: rp.Origin, RPID: rp.ID}
		if err := e.Validate(); err != nil {
			t.Errorf("--hub %s: state.json with origin %q, rp_id %q refused: %v", hubURL, rp.Origin, rp.ID, err)
			continue
		}
		got, err := e.RelyingParty()
		if err != nil || got != rp {
			t.Errorf("--hub %s: read back as %+v, %v; want %+v", hubURL, got, err, rp)
		}
		if err := rp.allows(u.String(), json.RawMessage(`{"challenge":"YQ"}`), false); err != nil {
			t.Errorf("--hub %s: a challenge of that origin refused: %v", hubURL, err)
		}
	}
}
