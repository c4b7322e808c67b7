package hub_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A JSON body with bytes that are not UTF-8 is refused (400), on the admin
// API, the agent API and SCIM alike: encoding/json would put U+FFFD in
// their place, and a kiosk named "k\xff1" was stored and audited as
// "k\uFFFD1", a name the client never sent.
func TestNonUTF8BodyIs400(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})

	t.Run("admin API", func(t *testing.T) {
		r := h.DoToken(t, h.AdminToken(t), "POST", "/api/v1/devices/codes", []byte("{\"name\":\"k\xff1\",\"site\":\"north\"}"))
		if r.Status != http.StatusBadRequest {
			t.Fatalf("status %d %s, want 400", r.Status, r.Body)
		}
		if msg, _ := r.JSON()["error"].(string); !strings.Contains(msg, "UTF-8") {
			t.Errorf("message %q does not say the body must be UTF-8", msg)
		}
		// Nothing was made or audited under the altered name.
		recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if strings.Contains(rec.Subject, "\uFFFD") || bytes.Contains(rec.Detail, []byte("\uFFFD")) || bytes.Contains(rec.Detail, []byte(`\ufffd`)) {
				t.Errorf("the altered name reached the audit trail: %s %s %s", rec.Action, rec.Subject, rec.Detail)
			}
		}
	})

	t.Run("agent API", func(t *testing.T) {
		resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json",
			strings.NewReader("{\"code\":\"k\xff1\",\"csr\":\"\",\"profile\":\"generic-x86\"}"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "UTF-8") {
			t.Fatalf("status %d %s, want 400 naming UTF-8", resp.StatusCode, b)
		}
	})

	t.Run("SCIM", func(t *testing.T) {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/scim/v2/Users", "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"k\xff1\"}"},
			{"POST", "/scim/v2/Groups", "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:Group\"],\"displayName\":\"Nurse \xc3\"}"},
			{"POST", "/scim/v2/Users/.search", "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:SearchRequest\"],\"filter\":\"userName eq \\\"k\xff1\\\"\"}"},
		} {
			r := h.Do(t, c.method, c.path, c.body)
			m := r.JSON()
			if r.Status != http.StatusBadRequest || m["scimType"] != scim.ScimTypeInvalidSyntax || m["status"] != "400" {
				t.Errorf("%s %s: %d %s, want 400 invalidSyntax", c.method, c.path, r.Status, r.Body)
			}
			if d, _ := m["detail"].(string); !strings.Contains(d, "UTF-8") {
				t.Errorf("%s %s: detail %q does not say the body must be UTF-8", c.method, c.path, d)
			}
		}
		if r := h.Do(t, "GET", "/scim/v2/Users", nil); bytes.Contains(r.Body, []byte("k\uFFFD1")) {
			t.Errorf("a user was made with the altered userName: %s", r.Body)
		}
	})
}
