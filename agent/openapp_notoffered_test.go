package agent

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// TestOpenAppAnsweredNotOffered: the hub granted the session an app that
// the kiosk's profile does not give the session's role (the hub's idea of
// the kiosk's apps and this build's copy of the profile differ). "open
// APP" for it starts nothing, as at sign-in, and is answered app.refused
// not_offered, not error: nothing failed, and the script or supervisor
// reading the answer must look at the profile, not at the agent's log. An
// app the profile offers still opens.
func TestOpenAppAnsweredNotOffered(t *testing.T) {
	k := newOpenAppKiosk(t, nil)
	// Set before the login: Sessions.Start and OpenApp read it on the
	// loop's goroutine afterwards.
	k.s.profile = &profiles.Profile{Apps: map[string][]profiles.App{"nurse": {
		{ID: "emr", Command: strings.Fields(emrCmd)},
	}}}
	id := uniqueSession("notoffered")
	k.connect()
	k.login(id, "ana", time.Hour) // granted emr and mail
	waitProcs(t, id, emrCmd, 1)

	k.a.OpenAppAnswered(id, "mail")
	got := k.ev.expect(t, EventAppRefused)[0]
	want := Event{Event: EventAppRefused, Time: k.clock.Now(), SessionID: id, App: "mail", Reason: AppRefusedNotOffered}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("app.refused (-want +got):\n%s", diff)
	}
	k.ev.none(t)
	if ps := appProcs(t, id, mailCmd); len(ps) != 0 {
		t.Errorf("mail started although the profile does not offer it: %+v", ps)
	}
	if want := `msg="app not opened: the kiosk's profile does not offer it to the session's role" session=` + id + ` app=mail`; !strings.Contains(k.logs.String(), want) {
		t.Errorf("the log does not say why mail was not opened:\n%s", k.logs.String())
	}

	emr := waitProcs(t, id, emrCmd, 1)[0]
	mustNoErr(t, syscall.Kill(-emr.pgid, syscall.SIGKILL))
	waitProcs(t, id, emrCmd, 0)
	k.a.OpenAppAnswered(id, "emr")
	if e := k.ev.expect(t, EventAppLaunched)[0]; e.SessionID != id || e.App != "emr" {
		t.Errorf("app.launched %+v, want emr in %s", e, id)
	}

	k.a.Signout()
	k.ev.ended(t)
}
