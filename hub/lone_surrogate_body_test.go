package hub_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A JSON body that escapes half of a UTF-16 surrogate pair on its own
// ("\ud800") is refused (400) on the admin API, the agent API and SCIM,
// as bytes that are not UTF-8 are: encoding/json would read U+FFFD in its
// place, and store and audit a name the client never sent. A pair
// ("\ud83d\ude00") is a character and goes through.
func TestLoneSurrogateBodyIs400(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})

	t.Run("admin API", func(t *testing.T) {
		for _, name := range []string{`k\ud800`, `\udfff1`, `k\ud83dx`} {
			r := h.DoToken(t, h.AdminToken(t), "POST", "/api/v1/devices/codes", []byte(`{"name":"`+name+`","site":"north"}`))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("name %s: status %d %s, want 400", name, r.Status, r.Body)
			}
			if msg, _ := r.JSON()["error"].(string); !strings.Contains(msg, `\ud`) || !strings.Contains(msg, "surrogate") {
				t.Errorf("name %s: message %q does not name the escape", name, msg)
			}
		}
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

	// The access reviews' calls read their bodies themselves.
	t.Run("admin API, access reviews", func(t *testing.T) {
		due := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
		for _, body := range []string{"{\"name\":\"Q\xff\",\"due\":\"" + due + "\"}", `{"name":"Q\ud800","due":"` + due + `"}`} {
			r := h.DoToken(t, h.AdminToken(t), "POST", "/api/v1/reviews", []byte(body))
			if msg, _ := r.JSON()["error"].(string); r.Status != http.StatusBadRequest || !strings.Contains(msg, "UTF-8") && !strings.Contains(msg, "surrogate") {
				t.Errorf("body %q: %d %s, want 400 naming UTF-8 or the surrogate", body, r.Status, r.Body)
			}
		}
		if r := h.DoToken(t, h.AdminToken(t), "GET", "/api/v1/reviews", nil); bytes.Contains(r.Body, []byte("Q\uFFFD")) {
			t.Errorf("a campaign was started under the altered name: %s", r.Body)
		}
	})

	t.Run("agent API", func(t *testing.T) {
		resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json",
			strings.NewReader(`{"code":"k\ud8001","csr":"","profile":"generic-x86"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "surrogate") {
			t.Fatalf("status %d %s, want 400 naming the lone surrogate", resp.StatusCode, b)
		}
	})

	t.Run("SCIM", func(t *testing.T) {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"k\ud800"}`},
			{"POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Nurse \udc00"}`},
			{"POST", "/scim/v2/Users/.search", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName eq \"k\ud800\""}`},
		} {
			r := h.Do(t, c.method, c.path, c.body)
			m := r.JSON()
			if r.Status != http.StatusBadRequest || m["scimType"] != scim.ScimTypeInvalidSyntax || m["status"] != "400" {
				t.Errorf("%s %s: %d %s, want 400 invalidSyntax", c.method, c.path, r.Status, r.Body)
			}
			if d, _ := m["detail"].(string); !strings.Contains(d, "surrogate") {
				t.Errorf("%s %s: detail %q does not name the lone surrogate", c.method, c.path, d)
			}
		}
		if r := h.Do(t, "GET", "/scim/v2/Users", nil); bytes.Contains(r.Body, []byte("k\uFFFD")) {
			t.Errorf("a user was made with the altered userName: %s", r.Body)
		}

		// A pair is one character, kept as sent.
		r := h.Do(t, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"k\ud83d\ude00"}`)
		if r.Status != http.StatusCreated || r.JSON()["userName"] != "k\U0001F600" {
			t.Errorf("a surrogate pair: %d %s, want 201 with userName k\U0001F600", r.Status, r.Body)
		}
	})
}
