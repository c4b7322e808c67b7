package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestDisabledKioskCannotSignInWhileCutOff: a disabled kiosk's channel
// stays open a moment for its revocation pushes. A tap made then, with a
// challenge fetched before the disable, opens no session.
func TestDisabledKioskCannotSignInWhileCutOff(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	uid := createUser(t, h, "rae", `{"sites":["north"]}`)
	createGroup(t, h, "Picker", uid)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := h.RegisterBadge(t, k, "rae", authenticator.SoftOptions{})
	var ch wire.Challenge
	k.Call(wire.TypeChallengeRequest, nil, wire.TypeChallenge, &ch)
	assertion, err := authenticator.Authenticate(t.Context(), badge, ch.Origin, ch.Options)
	if err != nil {
		t.Fatal(err)
	}
	if r := h.API(t, "POST", "/api/v1/devices/north-1/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	id := k.Send(wire.TypeLogin, wire.Login{Credential: assertion})
	env := k.Recv(5 * time.Second)
	if env.Re != id || env.Type == wire.TypeSessionGrant {
		t.Fatalf("login on a disabled kiosk: %s %s, want a refusal", env.Type, env.Data)
	}
	ss, err := h.Store().ListSessions(t.Context(), store.SessionQuery{UserID: uid, LiveOnly: true})
	if err != nil || len(ss) != 0 {
		t.Fatalf("live sessions after a login on a disabled kiosk: %+v, %v; want none", ss, err)
	}
}

// A disabled kiosk whose teardown takes longer than the cut-off's first
// second still gets its acknowledgement in: the channel stays open while
// a revocation of its sessions waits for one, and closes right after.
func TestDisabledKioskSlowTeardownAcked(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "rae", "Picker")
	if r := h.API(t, "POST", "/api/v1/devices/north-1/disable", nil); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s %s, want session.revoke", push.Type, push.Data)
	}
	time.Sleep(1500 * time.Millisecond) // the teardown
	k.Ack(push)
	h.WaitAcked(t, g.SessionID)
	_ = k.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := k.Conn.ReadMessage(); err == nil {
		t.Fatal("the disabled kiosk's channel carried another message after its last ack; want it closed")
	}
}
