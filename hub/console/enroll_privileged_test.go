package console_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/authn"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// consoleEnroll arms, as c in the console, an enrollment of userName at
// the connected kiosk k; then promote gives the worker what it will
// (between the arming and the tap, as the identity provider or an admin
// may), and the worker's new soft badge answers the kiosk's enroll.start.
// It returns the hub's answer to the registration.
func consoleEnroll(t *testing.T, c *client, k *hubtest.Kiosk, userName string, promote func()) wire.Envelope {
	t.Helper()
	if r := c.post("/console/site/enrollments", url.Values{"user": {userName}, "device": {k.ID}}); r.Status != http.StatusSeeOther {
		t.Fatalf("arm the enrollment of %s: %d %s", userName, r.Status, r.Body)
	}
	push := k.Recv(5 * time.Second)
	var es wire.EnrollStart
	if push.Type != wire.TypeEnrollStart || push.Unmarshal(&es) != nil {
		t.Fatalf("got %s %s, want enroll.start", push.Type, push.Data)
	}
	promote()
	reply, _ := hubtest.TapToRegister(t, k, push, es, userName, authenticator.SoftOptions{})
	return reply
}

// TestSupervisorEnrollPrivilegeCheckedAtTap: supervisor sam of north arms
// a badge enrollment for a worker of north who holds no privileged role,
// so the console's check before the arming lets it through. Before the
// worker's tap, the worker is given the privileged role Supervisor,
// through a group (the identity provider) or a grant (an admin). The tap
// is refused: the kiosk is told the enrollment was withdrawn, no
// credential is stored or audited as registered, and the hub log says
// why (the supervisor's 403; the kiosk is not told the role). The rule is
// decided in the transaction that stores the credential. Without the
// promotion the badge registers, and an admin's enrollment has no such
// rule.
func TestSupervisorEnrollPrivilegeCheckedAtTap(t *testing.T) {
	var logs syncBuffer
	h := hubtest.Start(t, hubtest.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := t.Context()
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	k := h.EnrollKiosk(t, "north-1", "north")
	k.Dial("")
	if !h.Engine().Rules().Rule("Supervisor").Privileged {
		t.Fatal("the default policy does not mark Supervisor privileged")
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-sup", DisplayName: "Supervisor"}); err != nil {
		t.Fatal(err)
	}
	joinSupervisors := func(t *testing.T, userID string) {
		if _, err := h.Engine().UpdateGroup(ctx, lifecycleActor, "g-sup", func(g store.Group) (store.Group, error) {
			g.Members = append(g.Members, userID)
			return g, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	grantSupervisor := func(t *testing.T, userID string) {
		if _, err := h.Engine().GrantAccess(ctx, lifecycleActor, store.Grant{UserID: userID, Role: "supervisor", Site: "north",
			Reason: "cover", End: time.Now().Add(4 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		name     string
		by       *client
		user     string
		promote  func(t *testing.T, userID string) // between the arming and the tap
		refusal  string                            // what the hub log says; "" when the badge registers
		disclose string                            // the role as the refusal names it
	}{
		{"group added after the arming", sup, "ivy", joinSupervisors, "supervisors cannot enroll a badge for ivy", "the privileged role Supervisor"},
		{"grant made after the arming", sup, "ian", grantSupervisor, "supervisors cannot enroll a badge for ian", "the privileged role supervisor"},
		{"no privileged role", sup, "ida", func(*testing.T, string) {}, "", ""},
		{"armed by an admin", admin, "ike", joinSupervisors, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := worker(t, h, tc.user, "north", "employee", "Nurse")
			reply := consoleEnroll(t, tc.by, k, tc.user, func() { tc.promote(t, u.ID) })
			creds, err := h.Store().ListCredentials(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			registered, err := h.Store().SearchAudit(ctx, store.AuditSearch{Action: authn.ActionCredentialRegistered, Subjects: []string{"user:" + u.ID}})
			if err != nil {
				t.Fatal(err)
			}
			if tc.refusal == "" {
				if reply.Type != wire.TypeRegistered || len(creds) != 1 || len(registered) != 1 {
					t.Errorf("registration: %s %s, %d credentials, %d audit records; want it registered", reply.Type, reply.Data, len(creds), len(registered))
				}
				return
			}
			var e wire.Error
			if reply.Type != wire.TypeError || reply.Unmarshal(&e) != nil || e.Code != wire.ErrEnrollmentExpired {
				t.Errorf("registration: %s %s; want %s %s", reply.Type, reply.Data, wire.TypeError, wire.ErrEnrollmentExpired)
			}
			if strings.Contains(e.Message, "privileged") {
				t.Errorf("the kiosk is told of the worker's roles: %q", e.Message)
			}
			if len(creds) != 0 || len(registered) != 0 {
				t.Errorf("after the refused registration: %d credentials, %d credential.registered records; want none", len(creds), len(registered))
			}
			var logged string
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, "credential registration refused") && strings.Contains(line, tc.refusal) {
					logged = line
				}
			}
			if !strings.Contains(logged, tc.disclose) || !strings.Contains(logged, "ask an admin") {
				t.Errorf("hub log has no refusal saying %q, who holds %s:\n%s", tc.refusal, tc.disclose, logs.String())
			}
		})
	}
}
