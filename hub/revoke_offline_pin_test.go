package hub_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// dialWelcome opens k's device channel with hello and returns the welcome
// with its envelope, whose ID a kiosk acknowledges a welcome revoke by.
// k.Conn is the new channel, so k.Ack and k.Recv use it.
func dialWelcome(t *testing.T, h *hubtest.Hub, k *hubtest.Kiosk, hello wire.Hello) (wire.Envelope, wire.Welcome) {
	t.Helper()
	hello.AgentVersion, hello.Profile = "test", "generic-x86"
	d := websocket.Dialer{TLSClientConfig: k.TLS, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("wss"+h.URL[len("https"):]+wire.WSPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	k.Conn = conn
	id := k.Send(wire.TypeHello, hello)
	env := k.Recv(5 * time.Second)
	var w wire.Welcome
	if env.Type != wire.TypeWelcome || env.Re != id || env.Unmarshal(&w) != nil {
		t.Fatalf("hello answered with %s %s, want a welcome", env.Type, env.Data)
	}
	return env, w
}

// TestRevokeOutlivesRehireBeforeAck: a leaver's kiosk is offline when the
// identity provider deactivates the user, and the user is enabled again (a
// re-hire, or an IdP mistake undone) before the kiosk comes back. The
// session the deprovisioning ended stays ended: the kiosk that reports it
// at its next hello is told to tear it down, its acknowledgement is the
// revocation's, and the badge the deprovisioning revoked opens nothing.
func TestRevokeOutlivesRehireBeforeAck(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	k, g := signedIn(t, h, "ola", "Picker")
	users, _, err := h.Store().ListUsers(t.Context(), store.UserQuery{UserName: "ola"})
	if err != nil || len(users) != 1 {
		t.Fatalf("users: %v, %v", users, err)
	}
	uid := users[0].ID
	k.Conn.Close()

	patch := func(active bool) {
		t.Helper()
		v := "false"
		if active {
			v = "true"
		}
		want(t, h.Do(t, http.MethodPatch, "/scim/v2/Users/"+uid, `{"schemas":["`+patchOp+`"],"Operations":[{"op":"replace","path":"active","value":`+v+`}]}`), http.StatusOK)
	}
	patch(false)
	patch(true)
	if u := user(t, h, uid); u.State != store.UserActive {
		t.Fatalf("re-enabled user is %v", u.State)
	}

	env, w := dialWelcome(t, h, k, wire.Hello{LiveSession: g.SessionID, Complete: true})
	if w.Revoke == nil || w.Revoke.SessionID != g.SessionID || w.Revoke.Reason != wire.ReasonDeprovisioned || env.ID == "" {
		t.Fatalf("welcome after deactivation and re-enabling = %+v (id %q), want a tracked revoke of %s (deprovisioned)", w, env.ID, g.SessionID)
	}
	if w.Extend != nil {
		t.Errorf("welcome extends the ended session: %+v", w.Extend)
	}
	k.Ack(env)
	h.WaitAcked(t, g.SessionID)
	s, err := h.Store().GetSession(t.Context(), g.SessionID)
	if err != nil || s.Ended.IsZero() || s.EndReason != wire.ReasonDeprovisioned {
		t.Fatalf("session after the re-hire = %+v (%v), want ended (deprovisioned)", s, err)
	}
}

// TestGrantRevokedWhileKioskOffline: a worker signed in at a site they
// hold only through a just-in-time grant; the grant is revoked while the
// kiosk is away. The kiosk is told at its next hello, and its
// acknowledgement is recorded against the grant's revocation.
func TestGrantRevokedWhileKioskOffline(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	createUser(t, h, "cy", `{"sites":["south"]}`)
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := registerBadge(t, h, k, "cy")
	id := postGrant(t, h, map[string]any{"user": "cy", "role": "Nurse", "site": "north", "end": time.Now().Add(4 * time.Hour), "reason": "cover"})
	g := grant(t, first(tap(t, k, badge)))
	k.Conn.Close()

	if r := h.API(t, http.MethodPost, "/api/v1/grants/"+id+"/revoke", nil); r.Status != http.StatusOK {
		t.Fatalf("revoke grant: %d %s", r.Status, r.Body)
	}
	env, w := dialWelcome(t, h, k, wire.Hello{LiveSession: g.SessionID, Complete: true})
	if w.Revoke == nil || w.Revoke.SessionID != g.SessionID || w.Revoke.Reason != wire.ReasonEntitlementRemoved {
		t.Fatalf("welcome after the grant's revocation = %+v, want a revoke of %s (entitlement_removed)", w, g.SessionID)
	}
	k.Ack(env)
	h.WaitAcked(t, g.SessionID)
	rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: g.SessionID})
	if err != nil || len(rs) != 1 || rs[0].Detail != "grant:"+id {
		t.Fatalf("revocations of the session = %+v (%v), want one, of grant %s", rs, err, id)
	}
}
