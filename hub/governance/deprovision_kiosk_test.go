package governance_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// lostDevices is a store that no longer knows some kiosks, as one
// restored from a backup older than their enrollment.
type lostDevices struct {
	store.Store
	lost map[string]bool
}

func (s lostDevices) GetDevice(ctx context.Context, id string) (store.Device, error) {
	if s.lost[id] {
		return store.Device{}, fmt.Errorf("device %s: %w", id, store.ErrNotFound)
	}
	return s.Store.GetDevice(ctx, id)
}

// TestLeaverOnDisabledKiosk: a leaver whose session was on a kiosk that
// never acknowledged its teardown is pending while the kiosk may still
// acknowledge, but not forever: a kiosk disabled since is cut off and
// never will, so the session counts as ended when the kiosk was disabled,
// once DisabledKioskAckWindow has passed (an acknowledgement inside it
// counts as usual); a session on a kiosk the store no longer knows ends at
// its revocation. A leaver on an enabled kiosk stays pending.
func TestLeaverOnDisabledKiosk(t *testing.T) {
	ctx := t.Context()
	hour := time.Hour
	e := newEnv(t, t0)
	kiosk := map[string]string{} // user name → the kiosk of its session
	session := map[string]string{}
	ids := map[string]string{}
	for _, name := range []string{"ann", "bo", "cy", "dee"} {
		u := e.user(name, []string{"north"}, nil)
		ids[name] = u.ID
		session[name] = e.session(u.ID, "north", "Picker")
		s, err := e.st.GetSession(ctx, session[name])
		if err != nil {
			t.Fatal(err)
		}
		kiosk[name] = s.DeviceID
	}
	gov, err := governance.New(governance.Config{Store: lostDevices{Store: e.st, lost: map[string]bool{kiosk["dee"]: true}},
		Audit: e.log, Engine: e.engine, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ttd := func(when string, want governance.Durations) {
		t.Helper()
		r, err := gov.Numbers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := gocmp.Diff(want, r.TimeToDeprovision); d != "" {
			t.Errorf("time to deprovision %s (-want +got):\n%s", when, d)
		}
	}

	// Every one leaves at 1h; no kiosk acknowledges.
	e.at(t0.Add(hour))
	for _, name := range []string{"ann", "bo", "cy", "dee"} {
		e.update(ids[name], func(u *store.User) { u.Active = false })
	}
	// dee's kiosk is unknown: its session ended with its revocation (0 s).
	ttd("before any kiosk is disabled", governance.Durations{P50: f(0), P95: f(0), Max: f(0), Count: 1, Pending: 3})

	// ann's and bo's kiosks are disabled at 3h.
	e.at(t0.Add(3 * hour))
	for _, name := range []string{"ann", "bo"} {
		if err := e.engine.DisableDevice(ctx, actor, kiosk[name]); err != nil {
			t.Fatal(err)
		}
	}
	ttd("as the kiosks are disabled", governance.Durations{P50: f(0), P95: f(0), Max: f(0), Count: 1, Pending: 3})
	// bo's kiosk acknowledges over the channel left open for that.
	e.at(t0.Add(3*hour + 5*time.Second)).ack(session["bo"])
	e.at(t0.Add(3*hour + 10*time.Second))
	ttd("inside the window", governance.Durations{P50: f(0), P95: f(2*3600 + 5), Max: f(2*3600 + 5), Count: 2, Sum: 2*3600 + 5, Pending: 2})

	// Past the window, ann's session ended when its kiosk was disabled.
	e.at(t0.Add(3*hour + governance.DisabledKioskAckWindow))
	ttd("past the window", governance.Durations{P50: f(2 * 3600), P95: f(2*3600 + 5), Max: f(2*3600 + 5), Count: 3, Sum: 4*3600 + 5, Pending: 1})

	// cy's kiosk is enabled: cy waits, however long.
	e.at(t0.Add(90 * 24 * hour))
	ttd("months later", governance.Durations{P50: f(2 * 3600), P95: f(2*3600 + 5), Max: f(2*3600 + 5), Count: 3, Sum: 4*3600 + 5, Pending: 1})
}
