package agent

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestOpenAppAnsweredRefusals: OpenAppAnswered (stdin's "open APP
// [SESSION_ID]" on the headless agent) answers every request that starts
// nothing with app.refused, in order with the other events and with the
// session the request was made for (not the live one's user), for the
// reason the state machine decided; a request that starts the app gets
// app.launched and nothing else. OpenApp itself still only logs them.
func TestOpenAppAnsweredRefusals(t *testing.T) {
	opens := &appOpens{launched: true}
	var logs lockedBuffer
	h := newHarness(t, withGate(), withAppOpens(opens, &logs))
	h.connect()
	refused := func(sessionID, app, reason string) {
		t.Helper()
		h.a.OpenAppAnswered(sessionID, app)
		got := h.ev.expect(t, EventAppRefused)[0]
		want := Event{Event: EventAppRefused, Time: h.clock.Now(), SessionID: sessionID, App: app, Reason: reason}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("app.refused (-want +got):\n%s", diff)
		}
		h.ev.none(t)
	}

	refused("", "emr", AppRefusedNoSession)
	refused("s0", "emr", AppRefusedNoSession)

	h.login("s1", "ana", time.Hour) // granted emr and mail
	refused("s1", "payroll", AppRefusedNotGranted)
	refused("s9", "emr", AppRefusedOtherSession)
	// A request made when no session was live (it names none) opens
	// nothing in the session that began since.
	refused("", "emr", AppRefusedNoSession)

	h.a.OpenAppAnswered("s1", "emr")
	if e := h.ev.expect(t, EventAppLaunched)[0]; e.SessionID != "s1" || e.App != "emr" {
		t.Errorf("app.launched %+v, want emr in s1", e)
	}
	h.do(func() {})
	h.ev.none(t)

	opens.mu.Lock()
	opens.launched = false // running already
	opens.mu.Unlock()
	refused("s1", "emr", AppRefusedAlreadyRunning)
	opens.mu.Lock()
	opens.err = errors.New(`"emr" not found in PATH`)
	opens.mu.Unlock()
	refused("s1", "emr", AppRefusedError)

	// OpenApp (the kiosk UI's tile) is not answered: its screen shows the
	// session's apps, and a refusal is only logged, as before.
	h.a.OpenApp("s9", "emr")
	h.do(func() {})
	h.ev.none(t)

	h.hub.push(wire.TypeSessionRevoke, "p1", wire.SessionRevoke{SessionID: "s1", Reason: wire.ReasonDeprovisioned})
	h.ev.expect(t, EventSessionEnding)
	<-h.teardowns // held by the gate: the teardown is running
	refused("s1", "emr", AppRefusedEnding)
	h.gate <- nil
	h.ev.expect(t, EventSessionEnded)
	// A late request for the ended session.
	refused("s1", "emr", AppRefusedNoSession)

	if diff := cmp.Diff([]string{"s1/emr", "s1/emr", "s1/emr"}, opens.got()); diff != "" {
		t.Errorf("Config.OpenApp calls (-want +got):\n%s", diff)
	}
}

// TestOpenAppAnsweredWithoutOpener: an agent given no Config.OpenApp
// answers a request for a granted app of the live session with
// app.refused not_supported.
func TestOpenAppAnsweredWithoutOpener(t *testing.T) {
	var logs lockedBuffer
	h := newHarness(t, func(_ *harness, cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	h.connect()
	h.login("s1", "ana", time.Hour)
	h.a.OpenAppAnswered("s1", "emr")
	if e := h.ev.expect(t, EventAppRefused)[0]; e.Reason != AppRefusedNotSupported || e.SessionID != "s1" || e.App != "emr" {
		t.Errorf("app.refused %+v, want not_supported for emr in s1", e)
	}
	if !strings.Contains(logs.String(), `msg="app not opened: this agent opens no apps" session=s1 app=emr`) {
		t.Errorf("the log does not say why emr was not opened:\n%s", logs.String())
	}
}
