package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestCodeFormSentAgainAfterExpiry: the enrollment code form sent again
// after its code expired (enroll.CodeTTL), but while its key is still
// kept, says that the code has expired and to make another. It said that
// the code enrolls a kiosk until a time already gone by. Sent again
// before then, it still says until when the code works.
func TestCodeFormSentAgainAfterExpiry(t *testing.T) {
	clock := hubtest.NewClock(time.Now().UTC().Truncate(time.Second))
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	makeWorld(t, h)
	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	admin := newClient(t, h, nil)
	if r := admin.register(tok); r.Status != 200 {
		t.Fatalf("register admin: %d %s", r.Status, r.Body)
	}
	key := admin.formKey("/console/devices", onceField)
	form := url.Values{"name": {"till-7"}, "site": {"north"}, "once": {key}}
	if r := admin.post("/console/devices/codes", form); r.Status != http.StatusCreated || enrollmentCode.FindStringSubmatch(r.Body) == nil {
		t.Fatalf("first send: %d %s, want 201 with the code", r.Status, r.Body)
	}
	expires := clock.Now().Add(enroll.CodeTTL).UTC().Format("2006-01-02 15:04:05Z")

	clock.Advance(enroll.CodeTTL - time.Minute)
	again := admin.post("/console/devices/codes", form)
	if again.Status != http.StatusOK || !strings.Contains(again.Body, "enrolls one kiosk named till-7 until") || !strings.Contains(again.Body, expires) ||
		strings.Contains(again.Body, "expired") {
		t.Errorf("sent again before the code expired: %d, want it to say the code works until %s:\n%s", again.Status, expires, again.Body)
	}

	clock.Advance(2 * time.Minute)
	late := admin.post("/console/devices/codes", form)
	if late.Status != http.StatusOK || enrollmentCode.FindStringSubmatch(late.Body) != nil {
		t.Fatalf("sent again after the code expired: %d, want 200 without a code:\n%s", late.Status, late.Body)
	}
	for _, want := range []string{`id="code-repeated"`, "till-7", "expired at", expires, "enrolls no kiosk now", "make another code"} {
		if !strings.Contains(late.Body, want) {
			t.Errorf("sent again after the code expired, the answer does not say %q:\n%s", want, late.Body)
		}
	}
	if strings.Contains(late.Body, "enrolls one kiosk named till-7 until") {
		t.Errorf("sent again after the code expired, the answer says the code works until a time gone by:\n%s", late.Body)
	}
}
