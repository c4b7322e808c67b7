package hub_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestAccessReviewAPI: a campaign over the API assigns a SCIM-provisioned
// worker's Nurse role to the manager the IdP sent; revoking it ends the
// worker's kiosk session at once (pushed, acknowledged); the findings,
// the report and /metrics answer; client mistakes get 4xx.
func TestAccessReviewAPI(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	mo := createUser(t, h, "mo", `{"sites":["north"]}`)
	nia := want(t, h.Do(t, "POST", "/scim/v2/Users", fmt.Sprintf(`{"schemas":[%q,%q,%q],"userName":"nia","active":true,
		%q:{"manager":{"value":%q},"department":"Ward 3"},%q:{"sites":["north"]}}`,
		coreUser, enterprise, frontline, enterprise, mo, frontline)), 201)["id"].(string)
	createGroup(t, h, "Nurse", nia)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	g := grant(t, first(tap(t, k, registerBadge(t, h, k, "nia"))))

	due := time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	r := h.API(t, "POST", "/api/v1/reviews", `{"name":"nurses","due":"`+due+`","scope":{"roles":["Nurse"]}}`)
	c := wantAPI(t, r, http.StatusCreated)
	items := c["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("campaign items = %v", items)
	}
	it := items[0].(map[string]any)
	if it["user"] != "nia" || it["reviewer"] != "mo" || it["reviewer_kind"] != "manager" || it["decision"] != "pending" {
		t.Errorf("item = %v, want nia's role reviewed by her manager mo", it)
	}
	id, item := c["id"].(string), it["id"].(string)

	for _, tc := range []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"no token", "", "/api/v1/reviews", nil, 401},
		{"bad campaign body", "POST", "/api/v1/reviews", `{"name":"x","due":"someday"}`, 400},
		{"unknown scope field", "POST", "/api/v1/reviews", `{"name":"x","due":"` + due + `","scope":{"privilaged":true}}`, 400},
		{"due passed", "POST", "/api/v1/reviews", `{"name":"x","due":"2020-01-01"}`, 400},
		{"body too large", "POST", "/api/v1/reviews", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413},
		{"unknown campaign", "GET", "/api/v1/reviews/nope", nil, 404},
		{"item of another campaign", "POST", "/api/v1/reviews/nope/items/" + item, `{"decision":"keep"}`, 404},
		{"bad decision", "POST", "/api/v1/reviews/" + id + "/items/" + item, `{"decision":"maybe"}`, 400},
		{"decision not JSON", "POST", "/api/v1/reviews/" + id + "/items/" + item, `keep`, 400},
		{"bad dormant days", "GET", "/api/v1/findings?dormant_days=soon", nil, 400},
		{"unknown finding", "POST", "/api/v1/findings/nope/remediate", nil, 404},
	} {
		var r hubtest.Response
		if tc.method == "" {
			r = h.DoToken(t, "", "GET", tc.path, nil)
		} else {
			r = h.API(t, tc.method, tc.path, tc.body)
		}
		if r.Status != tc.want || (tc.want != 401 && r.JSON()["error"] == nil) {
			t.Errorf("%s: %d %s, want %d with an error", tc.name, r.Status, r.Body, tc.want)
		}
	}

	r = h.API(t, "POST", "/api/v1/reviews/"+id+"/items/"+item, `{"decision":"revoke","comment":"moved to pharmacy"}`)
	if d := wantAPI(t, r, 200); d["decision"] != "revoke" || d["outcome"] != "revoked" {
		t.Errorf("decision = %v", d)
	}
	expectRevoke(t, k, g.SessionID, "entitlement_removed")
	h.WaitAcked(t, g.SessionID)
	if r := h.API(t, "POST", "/api/v1/reviews/"+id+"/items/"+item, `{"decision":"keep"}`); r.Status != http.StatusConflict {
		t.Errorf("second decision: %d %s, want 409", r.Status, r.Body)
	}
	if p := wantAPI(t, h.API(t, "GET", "/api/v1/reviews", nil), 200)["campaigns"].([]any)[0].(map[string]any)["progress"].(map[string]any); p["completion_rate"] != 1.0 {
		t.Errorf("progress after the decision = %v", p)
	}

	run := wantAPI(t, h.API(t, "POST", "/api/v1/reviews/run", nil), 200)
	if n := len(run["campaigns_started"].([]any)); n != 3 {
		t.Errorf("first run started %d default campaigns, want 3", n)
	}
	if n := len(wantAPI(t, h.API(t, "POST", "/api/v1/reviews/run", nil), 200)["campaigns_started"].([]any)); n != 0 {
		t.Errorf("second run started %d, want 0", n)
	}

	fs := wantAPI(t, h.API(t, "GET", "/api/v1/findings?dormant_days=1", nil), 200)
	if _, ok := fs["findings"].([]any); !ok {
		t.Errorf("findings = %v", fs)
	}
	rep := wantAPI(t, h.API(t, "GET", "/api/v1/report", nil), 200)
	ttp := rep["time_to_provision_seconds"].(map[string]any)
	if ttp["count"] != 1.0 || ttp["p50"] == nil || rep["access_review_completion_rate"] != nil || rep["orphaned_account_rate"] != 0.0 {
		t.Errorf("report = %v", rep)
	}
	if ttd := rep["time_to_deprovision_seconds"].(map[string]any); ttd["count"] != 0.0 || ttd["p50"] != nil {
		t.Errorf("time to deprovision with no leaver = %v", ttd)
	}
	// A period before the hub's history measures nobody; a bad bound is 400.
	old := wantAPI(t, h.API(t, "GET", "/api/v1/report?since=2000-01-01&until=2000-12-31", nil), 200)
	if ttp := old["time_to_provision_seconds"].(map[string]any); ttp["count"] != 0.0 || old["period"] == nil {
		t.Errorf("report for 2000 = %v", old)
	}
	if r := h.API(t, "GET", "/api/v1/report?since=yesterday", nil); r.Status != 400 {
		t.Errorf("report?since=yesterday: %d %s, want 400", r.Status, r.Body)
	}

	body := h.API(t, "GET", "/metrics", nil).Body
	for _, m := range []string{"shiftgate_time_to_provision_seconds_count 1", `shiftgate_time_to_provision_seconds{quantile="0.95"}`,
		"shiftgate_time_to_deprovision_seconds_count 0", "shiftgate_orphaned_account_ratio 0", "shiftgate_orphaned_account_rate 0", "shiftgate_accounts 2", "shiftgate_access_review_items_due 0",
		// nia's one login, and the revocation her kiosk acknowledged.
		"shiftgate_kiosk_login_seconds_count 1", `shiftgate_kiosk_logins_total{result="granted"} 1`, "shiftgate_revocation_ack_seconds_count 1"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
	if strings.Contains(string(body), "shiftgate_access_review_completion_rat") {
		t.Errorf("/metrics shows a completion rate although no campaign is due")
	}
	if acts := actions(t, h, "user:"+nia); !contains(acts, "review.decide") || !contains(acts, "user.entitlements_removed") {
		t.Errorf("nia's audit = %v", acts)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// wantAPI fails the test unless an admin API response has the status and
// a JSON object body, which it returns.
func wantAPI(t *testing.T, r hubtest.Response, status int) map[string]any {
	t.Helper()
	m := r.JSON()
	if r.Status != status || m == nil || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d %s, want %d with a JSON object", r.Status, r.Body, status)
	}
	return m
}
