package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A suspension (a sign counter went backwards) of a credential that was
// revoked or suspended meanwhile changes nothing: its owner's sessions,
// opened since with another badge, stay, and no credential.suspended
// record claims a suspension that did not happen.
func TestSuspendOfRetiredCredentialChangesNothing(t *testing.T) {
	f := newConsoleFixture(t)
	ctx := t.Context()
	f.user(t, "u1", "ola")
	if _, err := f.st.CreateDevice(ctx, store.Device{ID: "dev-1", Name: "kiosk-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Credential{
		{ID: []byte("revoked"), State: store.CredentialRevoked, Reason: "badge lost"},
		{ID: []byte("suspended"), State: store.CredentialSuspended, Reason: "held"},
		{ID: []byte("active"), State: store.CredentialActive},
	} {
		c.UserID, c.PublicKey, c.Created = "u1", []byte{1}, t0
		if _, err := f.st.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.st.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", DeviceID: "dev-1", Role: "Picker", Started: t0, Expires: t0.Add(8 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	records := func() int {
		recs, err := f.st.ListAudit(ctx, store.AuditQuery{Action: "credential.suspended"})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}

	for _, id := range []string{"revoked", "suspended"} {
		err := f.eng.SuspendCredential(ctx, actor, []byte(id), "sign counter regression", nil)
		if !errors.Is(err, lifecycle.ErrCredentialNotActive) {
			t.Errorf("suspend the %s credential: %v, want ErrCredentialNotActive", id, err)
		}
		c, err := f.st.GetCredential(ctx, []byte(id))
		if err != nil || c.State.String() != id {
			t.Errorf("%s credential after the suspension: %+v, %v; want it unchanged", id, c, err)
		}
	}
	if s, err := f.st.GetSession(ctx, "s1"); err != nil || !s.Ended.IsZero() {
		t.Fatalf("session after suspending retired credentials: %+v, %v; want it live", s, err)
	}
	if n := records(); n != 0 {
		t.Fatalf("%d credential.suspended records for suspensions that changed nothing", n)
	}

	// An active one is suspended, and its owner's sessions end.
	if err := f.eng.SuspendCredential(ctx, actor, []byte("active"), "sign counter regression", nil); err != nil {
		t.Fatal(err)
	}
	if s, err := f.st.GetSession(ctx, "s1"); err != nil || s.Ended.IsZero() || s.EndReason != lifecycle.ReasonCredentialRevoked {
		t.Fatalf("session after suspending an active credential: %+v, %v; want it ended %s", s, err, lifecycle.ReasonCredentialRevoked)
	}
	if n := records(); n != 1 {
		t.Fatalf("%d credential.suspended records, want 1", n)
	}
}
