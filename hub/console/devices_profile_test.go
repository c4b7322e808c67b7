package console_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

var enrollmentCode = regexp.MustCompile(`<output id="enrollment-code">([^<]+)</output>`)

// TestConsoleCodeBoundToProfile: a code made on the Kiosks page for a
// hardware profile enrolls only a kiosk of that profile, as one made with
// the CLI or the API does, and its audit record names the profile. The
// page offers the profiles the hub knows; an unknown one is 400 and
// makes nothing.
func TestConsoleCodeBoundToProfile(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	page := admin.get("/console/devices")
	for _, want := range []string{`<select id="kiosk-profile" name="profile">`, `<option value="">any profile`, `<option value="rpi5-touch">rpi5-touch</option>`, `<option value="generic-x86">generic-x86</option>`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the Kiosks page has no %s", want)
		}
	}

	r := admin.post("/console/devices/codes", url.Values{"name": {"till-1"}, "site": {"north"}, "profile": {"rpi5-tuoch"}})
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "rpi5-tuoch") || !strings.Contains(r.Body, "rpi5-touch") {
		t.Errorf("code for an unknown profile: %d %s; want 400 naming it and the known ones", r.Status, r.Body)
	}
	if got := actionsOf(t, h, "device.code"); got != "" {
		t.Errorf("an unknown profile made a code: audit %q", got)
	}

	r = admin.post("/console/devices/codes", url.Values{"name": {"till-1"}, "site": {"north"}, "profile": {"rpi5-touch"}})
	m := enrollmentCode.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("code: %d %s", r.Status, r.Body)
	}
	if !strings.Contains(r.Body, "--profile rpi5-touch") {
		t.Errorf("the code's page does not say to enroll with --profile rpi5-touch")
	}
	recs, err := h.Store().ListAudit(t.Context(), store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var detail map[string]any
	for _, rec := range recs {
		if rec.Action == "device.code" {
			if err := json.Unmarshal(rec.Detail, &detail); err != nil {
				t.Fatal(err)
			}
		}
	}
	if detail["profile"] != "rpi5-touch" {
		t.Errorf("device.code audit detail %v, want profile rpi5-touch", detail)
	}

	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	csr, err := certs.NewCSR(key, "till-1")
	if err != nil {
		t.Fatal(err)
	}
	redeem := func(profile string) (int, string) {
		t.Helper()
		b, _ := json.Marshal(wire.EnrollRequest{Code: m[1], CSR: csr, Profile: profile})
		resp, err := h.Client.Post(h.URL+wire.EnrollPath, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		return resp.StatusCode, body.String()
	}
	if status, body := redeem("generic-x86"); status != http.StatusForbidden || !strings.Contains(body, "--profile rpi5-touch") {
		t.Errorf("enrolling a rpi5-touch code as generic-x86: %d %s, want 403 naming the profile", status, body)
	}
	if status, body := redeem("rpi5-touch"); status != http.StatusOK {
		t.Fatalf("enrolling with the code's profile: %d %s", status, body)
	}
	if d, err := h.Store().GetDeviceByName(t.Context(), "till-1"); err != nil || d.Profile != "rpi5-touch" {
		t.Errorf("enrolled kiosk: %+v, %v; want profile rpi5-touch", d, err)
	}

	// No profile is still a code any profile may redeem, as with the CLI.
	r = admin.post("/console/devices/codes", url.Values{"name": {"till-2"}, "site": {"north"}})
	if r.Status != http.StatusCreated || !strings.Contains(r.Body, "--profile PROFILE") {
		t.Errorf("code for any profile: %d", r.Status)
	}
}

// TestKiosksPageLastSeenAfterLeaving: a kiosk that stayed connected for
// two days and just left shows on the Kiosks page as last seen when it
// left, not when its channel opened: the hub has not stored that
// sighting yet (it writes them every two seconds), and the page asks for
// it (Config.KioskSeen).
func TestKiosksPageLastSeenAfterLeaving(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	clock.Advance(2 * 24 * time.Hour)
	left := clock.Now()

	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	admin := newClient(t, h, nil)
	if r := admin.register(tok); r.Status != 200 {
		t.Fatalf("register admin: %d %s", r.Status, r.Body)
	}
	row := regexp.MustCompile(`(?s)<tr data-kiosk="north-1">.*?</tr>`)
	kiosk := func() string {
		t.Helper()
		p := admin.get("/console/devices")
		if p.Status != http.StatusOK {
			t.Fatalf("Kiosks page: %d %s", p.Status, p.Body)
		}
		return row.FindString(p.Body)
	}
	if got := kiosk(); !strings.Contains(got, `class="online"`) {
		t.Fatalf("the connected kiosk's row: %s", got)
	}
	k.Conn.Close()
	var got string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got = kiosk(); strings.Contains(got, `class="offline"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the closed kiosk is still shown online: %s", got)
		}
	}
	if want := "<td>" + left.Format("2006-01-02 15:04:05Z") + "</td>"; !strings.Contains(got, want) {
		t.Errorf("the kiosk's row %s\nhas no last seen %s (when it left)", got, want)
	}
}
