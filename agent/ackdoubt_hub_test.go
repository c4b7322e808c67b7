package agent

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestHubTakesEndAfterAckAsNoOp runs against a complete hub what the agent
// sends when a revoke's ack is in doubt (ackDoubt): the ack, then, after
// the channel dropped, the session's end. The hub answers the report with
// an ack and keeps the revocation acknowledged at the time of the ack.
func TestHubTakesEndAfterAckAsNoOp(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{Clock: hubtest.NewClock(time.Now())})
	const (
		user  = "urn:ietf:params:scim:schemas:core:2.0:User"
		group = "urn:ietf:params:scim:schemas:core:2.0:Group"
		ext   = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	)
	r := h.Do(t, http.MethodPost, "/scim/v2/Users", fmt.Sprintf(
		`{"schemas":[%q,%q],"userName":"ola","active":true,%q:{"sites":["north"]}}`, user, ext, ext))
	if r.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	id, _ := r.JSON()["id"].(string)
	if r := h.Do(t, http.MethodPost, "/scim/v2/Groups", fmt.Sprintf(`{"schemas":[%q],"displayName":"Nurse","members":[{"value":%q}]}`, group, id)); r.Status != http.StatusCreated {
		t.Fatalf("create group: %d %s", r.Status, r.Body)
	}
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	badge := h.RegisterBadge(t, k, "ola", authSoftOpts())
	ans, _ := k.Tap(t, badge)
	var g wire.SessionGrant
	if ans.Type != wire.TypeSessionGrant || ans.Unmarshal(&g) != nil {
		t.Fatalf("login: %s %s", ans.Type, ans.Data)
	}

	if r := h.API(t, http.MethodPost, "/api/v1/users/ola/signout", nil); r.Status != http.StatusOK {
		t.Fatalf("signout: %d %s", r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	if push.Type != wire.TypeSessionRevoke {
		t.Fatalf("got %s %s, want session.revoke", push.Type, push.Data)
	}
	k.Ack(push)
	h.WaitAcked(t, g.SessionID)
	acked := func() time.Time {
		rs, err := h.Store().ListRevocations(t.Context(), store.RevocationQuery{SessionID: g.SessionID})
		if err != nil || len(rs) != 1 {
			t.Fatalf("revocations: %+v, %v", rs, err)
		}
		return rs[0].Acked
	}
	first := acked()

	k.Conn.Close()
	h.Clock.Advance(time.Minute)
	k.Dial("")
	k.Call(wire.TypeSessionEnd, wire.SessionEnd{SessionID: g.SessionID, Reason: wire.ReasonForced}, wire.TypeAck, nil)
	if got := acked(); !got.Equal(first) {
		t.Errorf("revocation acknowledged at %s after the report, want %s (the ack's time)", got, first)
	}
}
