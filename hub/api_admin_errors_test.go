package hub_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPIRevokeUnknownCredential: revoking a credential the hub does not
// have is a 404 that says so in the API's words, not the hub's internal
// operation names ("update credential …") with the ID echoed twice; an ID
// longer than any WebAuthn credential ID (1023 bytes) is a 400 that does
// not echo it.
func TestAPIRevokeUnknownCredential(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.API(t, "POST", "/api/v1/credentials/abcd/revoke", nil)
	msg, _ := r.JSON()["error"].(string)
	if r.Status != http.StatusNotFound || msg != "no credential abcd" {
		t.Errorf("revoke an unknown credential: %d %s, want 404 with \"no credential abcd\"", r.Status, r.Body)
	}

	long := strings.Repeat("ab", 1024)
	r = h.API(t, "POST", "/api/v1/credentials/"+long+"/revoke", nil)
	msg, _ = r.JSON()["error"].(string)
	if r.Status != http.StatusBadRequest || msg == "" || strings.Contains(msg, long) {
		t.Errorf("revoke a credential with a %d-byte ID: %d %.200s, want 400 that does not echo it", len(long)/2, r.Status, r.Body)
	}
}

// TestAPIEnrollAtDisabledKiosk: a disabled kiosk takes no badge
// registration and never comes online again, so an enrollment naming it
// is refused, saying it is disabled: neither "waiting for a tap" (while
// its channel is still open for the acks of its teardown) nor "offline,
// try again when it is online". Nothing is pushed to it or audited as
// authorized.
func TestAPIEnrollAtDisabledKiosk(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "jo", `{"sites":["north"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	wantAPI(t, h.API(t, "POST", "/api/v1/devices/north-1/disable", nil), http.StatusOK)

	r := h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": "jo", "device": "north-1"})
	msg, _ := r.JSON()["error"].(string)
	if r.Status != http.StatusBadRequest || !strings.Contains(msg, `kiosk "north-1" is disabled`) {
		t.Errorf("enrollment at a disabled kiosk: %d %s, want 400 saying it is disabled", r.Status, r.Body)
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "credential.enroll_authorized"})
	if err != nil || len(recs) != 0 {
		t.Errorf("enrollment at a disabled kiosk audited as authorized: %+v (%v)", recs, err)
	}
}

// TestAPISiteNameNotUTF8: a site named in the path with bytes that are
// not UTF-8 is refused (400) and not stored: stored, it would be shown
// (JSON) with U+FFFD in their place, a name under which no PUT finds it,
// and match no user's site, which SCIM's JSON cannot carry.
func TestAPISiteNameNotUTF8(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	r := h.API(t, "PUT", "/api/v1/sites/nor%FFth", map[string]string{"timeZone": "Europe/Berlin"})
	if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusBadRequest || !strings.Contains(msg, "UTF-8") {
		t.Errorf("PUT a site named with a byte that is not UTF-8: %d %s, want 400 saying it must be UTF-8", r.Status, r.Body)
	}
	if sites, err := h.Store().ListSites(t.Context()); err != nil || len(sites) != 0 {
		t.Errorf("sites after the refused PUT: %+v (%v)", sites, err)
	}
}
