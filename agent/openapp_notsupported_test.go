package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestOpenAppAnsweredNotSupported: on a kiosk whose sessions launch no apps
// (WithoutApps: shiftgate-kiosk --demo), "open APP" for an app the session
// was granted starts nothing and is answered app.refused not_supported, as
// on an agent without an app opener, not error: nothing failed, and the
// script or supervisor reading the answer must not go looking in the
// agent's log for a failure.
func TestOpenAppAnsweredNotSupported(t *testing.T) {
	k := newOpenAppKiosk(t, nil)
	// Set before the login: Sessions.Start and OpenApp read it on the
	// loop's goroutine afterwards.
	k.s.noApps = true
	id := uniqueSession("notsupported")
	k.connect()
	k.login(id, "ana", time.Hour) // granted emr and mail

	k.a.OpenAppAnswered(id, "emr")
	got := k.ev.expect(t, EventAppRefused)[0]
	want := Event{Event: EventAppRefused, Time: k.clock.Now(), SessionID: id, App: "emr", Reason: AppRefusedNotSupported}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("app.refused (-want +got):\n%s", diff)
	}
	k.ev.none(t)
	if ps := appProcs(t, id, emrCmd); len(ps) != 0 {
		t.Errorf("emr started on a kiosk without apps: %+v", ps)
	}
	if want := `msg="app not opened: this kiosk runs sessions without apps" session=` + id + ` app=emr`; !strings.Contains(k.logs.String(), want) {
		t.Errorf("the log does not say why emr was not opened:\n%s", k.logs.String())
	}

	k.a.Signout()
	k.ev.ended(t)
}
