package hub_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// storeLegacyPolicy stores doc as the next policy version, as a hub from
// before a name rule could (the store does not check names), and makes
// it the policy in force.
func storeLegacyPolicy(t *testing.T, h *hubtest.Hub, doc string) int64 {
	t.Helper()
	if _, err := h.Store().UpdatePolicy(t.Context(), func(store.PolicyVersion) (store.PolicyVersion, error) {
		return store.PolicyVersion{Document: []byte(doc), ChangedBy: "console:kim", Changed: time.Now()}, nil
	}); err != nil {
		t.Fatal(err)
	}
	p, err := h.Engine().LoadPolicy(t.Context(), lifecycle.Actor{Name: "test", System: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p.Version
}

// TestAPIPolicyPutKeepsStoredNames: a policy stored with a role, a
// certification and a site whose names store.Hidden came to refuse
// later (each ending in a variation selector) can still be replaced
// through PUT /api/v1/policy with a document that keeps them; a new name
// with such a character is still refused (400) and nothing is stored.
func TestAPIPolicyPutKeepsStoredNames(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	role := `{"name":"Lead\ufe0f","apps":["wms"],"certification":"Forklift\ufe0f","sites":["North\ufe0f"]}`
	v := storeLegacyPolicy(t, h, `{"max_session":"12h","shift_grace":"15m","roles":[`+role+`],"other":{"apps":[]}}`)

	body := `{"version":` + strconv.FormatInt(v, 10) + `,"max_session":"10h","shift_grace":"15m","roles":[` + role + `],"other":{"apps":[]}}`
	m := wantAPI(t, putPolicy(t, h, body), http.StatusOK)
	if m["version"] != float64(v+1) || m["max_session"] != "10h" {
		t.Errorf("PUT keeping the stored names: %v, want version %d with max_session 10h", m, v+1)
	}
	if _, ok := h.Engine().Rules().Roles["Lead\ufe0f"]; !ok {
		t.Errorf("roles in force %v, want Lead\\ufe0f kept", h.Engine().Rules().Roles)
	}

	bad := `{"version":` + strconv.FormatInt(v+1, 10) + `,"max_session":"10h","shift_grace":"15m","roles":[` + role + `,{"name":"Picker\ufe0f","apps":["wms"]}],"other":{"apps":[]}}`
	m = wantAPI(t, putPolicy(t, h, bad), http.StatusBadRequest)
	if msg, _ := m["error"].(string); !strings.Contains(msg, "Picker") || !strings.Contains(msg, "invisible") || strings.Contains(msg, "Lead") {
		t.Errorf("PUT with a new role Picker\\ufe0f: %v, want the invisible character named", m)
	}
	if got := storedVersion(t, h); got != v+1 {
		t.Errorf("policy version %d after a refused PUT, want %d", got, v+1)
	}
}

// TestAPISitePutKeepsStoredSiteName: PUT /api/v1/sites/{name} changes
// the time zone of a site registered under a name store.Hidden came to
// refuse later; registering a new site under such a name is still 400.
func TestAPISitePutKeepsStoredSiteName(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	if _, err := h.Store().CreateSite(t.Context(), store.Site{ID: store.NewID(), Name: "North\ufe0f", TimeZone: "UTC", Created: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	m := wantAPI(t, h.API(t, "PUT", "/api/v1/sites/North%EF%B8%8F", map[string]string{"timeZone": "Europe/Berlin"}), http.StatusOK)
	if m["name"] != "North\ufe0f" || m["timeZone"] != "Europe/Berlin" {
		t.Errorf("PUT of the stored site North\\ufe0f: %v, want its zone Europe/Berlin", m)
	}
	wantAPI(t, h.API(t, "PUT", "/api/v1/sites/South%EF%B8%8F", map[string]string{"timeZone": "Europe/Berlin"}), http.StatusBadRequest)
	if _, err := h.Store().GetSiteByName(t.Context(), "South\ufe0f"); err == nil {
		t.Error("South\\ufe0f was registered")
	}
}

// TestShiftGraceRestartChangesStoredPolicy: a hub started with a
// --shift-grace other than the stored policy's applies it as a new
// version, though the policy holds a role name store.Hidden came to
// refuse later; the role keeps its name.
func TestShiftGraceRestartChangesStoredPolicy(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	v := storeLegacyPolicy(t, h, `{"max_session":"12h","shift_grace":"20m","roles":[{"name":"Lead\ufe0f","apps":["wms"]}],"other":{"apps":[]}}`)
	dir := h.DataDir
	h.Stop()
	h = hubtest.Start(t, hubtest.Options{DataDir: dir, ShiftGrace: 30 * time.Minute})
	r := h.Engine().Rules()
	if _, ok := r.Roles["Lead\ufe0f"]; !ok || r.ShiftGrace != 30*time.Minute || storedVersion(t, h) != v+1 {
		t.Errorf("after the restart: roles %v, shift grace %s, version %d; want the stored role, 30m, version %d",
			r.Roles, r.ShiftGrace, storedVersion(t, h), v+1)
	}
}
