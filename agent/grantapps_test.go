package agent

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// shortApps returns n distinct app IDs as short as they come ("0", "1",
// … "a0" …), so that a grant naming them fits one frame as a hub could
// send it.
func shortApps(n int) []string {
	apps := make([]string, n)
	for i := range apps {
		apps[i] = strconv.FormatInt(int64(i), 36)
	}
	return apps
}

// TestGrantWithTooManyAppsNotOpened: a session.grant naming more apps than
// any login policy grants (a broken hub; such a session froze the kiosk's
// screen building a tile for each) is not opened: the worker is refused
// with error, and the hub is told the session was not opened. A grant with
// as many apps as a policy can give opens with all of them.
func TestGrantWithTooManyAppsNotOpened(t *testing.T) {
	h := newHarness(t)
	h.connect()
	registerBadge(t, h.badges, "ana")
	grant := func(id string, apps []string) {
		g := wire.SessionGrant{SessionID: id, User: "ana", Role: "nurse", Apps: apps, ExpiresAt: h.clock.Now().Add(time.Hour)}
		env, err := wire.New(wire.TypeSessionGrant, "", "x", g)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Frame(); err != nil {
			t.Fatalf("a hub could not send the grant: %v", err)
		}
		h.hub.setResponder(wire.TypeLogin, func(ctx context.Context, _ any) (wire.Envelope, error) { return env, nil })
	}

	grant("s1", shortApps(maxGrantApps+1))
	h.a.Tap("ana")
	if e := h.ev.expect(t, EventLoginRefused)[0]; e.Reason != RefusedError {
		t.Errorf("login.refused %+v, want reason %s", e, RefusedError)
	}
	h.wantState(Locked)
	h.hub.waitFor("session.end s1 not_opened", func() bool {
		for _, d := range h.hub.requestsOf(wire.TypeSessionEnd) {
			if se, ok := d.(wire.SessionEnd); ok && se.SessionID == "s1" && se.Reason == wire.ReasonNotOpened {
				return true
			}
		}
		return false
	})
	if st, _ := readSessionState(h.dir); st.Session != nil {
		t.Errorf("session.json holds %s", st.Session.ID)
	}

	grant("s2", shortApps(maxGrantApps))
	h.a.Tap("ana")
	if e := h.ev.expect(t, EventSessionStarted)[0]; e.SessionID != "s2" || len(e.Apps) != maxGrantApps {
		t.Errorf("session.started %s with %d apps, want s2 with %d", e.SessionID, len(e.Apps), maxGrantApps)
	}
	h.wantState(Active)
}
