package lifecycle_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// extendFixture: ana works at North and South on a shift ending at t0+9h,
// with a Nurse session on a kiosk of each site and one on a kiosk of West,
// a site she is not a worker of; bo works at North only; cy at no site.
// now is t0+8h30m.
type extendFixture struct {
	st    store.Store
	eng   *lifecycle.Engine
	now   time.Time
	moved [][]lifecycle.ExpiryChange // what OnExpiry was handed
}

func newExtendFixture(t *testing.T) *extendFixture {
	t.Helper()
	ctx := t.Context()
	st, log := openStore(t)
	f := &extendFixture{st: st, now: t0.Add(8*time.Hour + 30*time.Minute)}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: func() time.Time { return f.now },
		OnExpiry: func(ms []lifecycle.ExpiryChange) { f.moved = append(f.moved, ms) }})
	if err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	shift := []store.Shift{{Start: t0.Add(time.Hour), End: t0.Add(9 * time.Hour)}}
	for _, u := range []store.User{
		{ID: "u-ana", UserName: "ana", Sites: []string{"North", "South"}, Shifts: shift},
		{ID: "u-bo", UserName: "bo", Sites: []string{"North"}, Shifts: shift},
		{ID: "u-cy", UserName: "cy", Shifts: shift},
	} {
		u.Active = true
		if _, err := eng.CreateUser(ctx, actor, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eng.CreateGroup(ctx, actor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-ana", "u-bo"}}); err != nil {
		t.Fatal(err)
	}
	for _, site := range []string{"North", "South", "West"} {
		if _, err := st.CreateDevice(ctx, store.Device{ID: "d-" + site, Name: site + "-1", Site: strings.ToLower(site), Profile: "generic-x86", State: store.DeviceActive, Created: t0, Modified: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateSession(ctx, store.Session{ID: "s-" + site, UserID: "u-ana", DeviceID: "d-" + site, Role: "Nurse", Started: t0.Add(2 * time.Hour), Expires: t0.Add(9 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *extendFixture) expires(t *testing.T, id string) time.Time {
	t.Helper()
	s, err := f.st.GetSession(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s.Expires
}

// TestExtendShiftSite: the site an extension counts at must be one of the
// worker's sites, named in any case and stored as the worker's record
// spells it; a worker of one site may leave it out, a worker of several
// or of none may not. Refused requests store and audit nothing.
func TestExtendShiftSite(t *testing.T) {
	ctx := t.Context()
	until := t0.Add(11 * time.Hour)
	for _, tc := range []struct {
		name, user, site string
		want             string // the stored site; "" for a refusal
		msg              string // the refusal says
	}{
		{"one of the worker's sites", "u-ana", "South", "South", ""},
		{"named in another case", "u-ana", " south ", "South", ""},
		{"the only site left out", "u-bo", "", "North", ""},
		{"several sites, none named", "u-ana", "", "", `works at several sites (North, South): give "site"`},
		{"a site the worker does not work at", "u-ana", "West", "", `does not work at site "West"`},
		{"a site of another worker", "u-bo", "south", "", `does not work at site "south"`},
		{"a worker without sites", "u-cy", "", "", "has no site"},
		{"a worker without sites, a site named", "u-cy", "North", "", `does not work at site "North"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newExtendFixture(t)
			x, _, err := f.eng.ExtendShift(ctx, lifecycle.Actor{Name: "console:sam", System: "console"}, tc.user, tc.site, until, "late handover")
			stored, lerr := f.st.ListShiftExtensions(ctx, tc.user)
			if lerr != nil {
				t.Fatal(lerr)
			}
			recs, aerr := f.st.ListAudit(ctx, store.AuditQuery{Action: "shift.extend"})
			if aerr != nil {
				t.Fatal(aerr)
			}
			if tc.want == "" {
				if !errors.Is(err, lifecycle.ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("err = %v, want ErrInvalid saying %q", err, tc.msg)
				}
				if len(stored) != 0 || len(recs) != 0 {
					t.Errorf("a refused extension left %d extensions and %d audit records", len(stored), len(recs))
				}
				return
			}
			if err != nil {
				t.Fatalf("extend: %v", err)
			}
			if x.Site != tc.want || len(stored) != 1 || stored[0].Site != tc.want {
				t.Errorf("site returned %q, stored %+v; want %q", x.Site, stored, tc.want)
			}
			if len(recs) != 1 {
				t.Fatalf("%d shift.extend records, want 1", len(recs))
			}
			var detail map[string]any
			if err := json.Unmarshal(recs[0].Detail, &detail); err != nil {
				t.Fatal(err)
			}
			if detail["site"] != tc.want || detail["approver"] != "console:sam" || detail["extension"] != x.ID {
				t.Errorf("audit detail = %v, want site %q, approver and extension", detail, tc.want)
			}
		})
	}
}

// TestExtendShiftMovesSessionsAtItsSiteOnly: an extension at South moves
// the expiry of the worker's session on South's kiosk (handed to OnExpiry
// for the push, audited), and no other: not at North, another of her
// sites, nor at West. When it runs out and the worker's shifts change, the
// session at South is decided without it while North still ends with the
// shift.
func TestExtendShiftMovesSessionsAtItsSiteOnly(t *testing.T) {
	ctx := t.Context()
	f := newExtendFixture(t)
	until := t0.Add(11 * time.Hour)
	_, moved, err := f.eng.ExtendShift(ctx, lifecycle.Actor{Name: "token:admin", System: "api"}, "u-ana", "south", until, "night cover")
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 1 || moved[0].Session.ID != "s-South" || !moved[0].Session.Expires.Equal(until) || moved[0].Reason != lifecycle.ReasonShiftEnd {
		t.Fatalf("moved = %+v, want only s-South to %s (shift_end)", moved, until)
	}
	if len(f.moved) != 1 || len(f.moved[0]) != 1 || f.moved[0][0].Session.ID != "s-South" {
		t.Errorf("OnExpiry got %+v, want s-South only", f.moved)
	}
	for id, want := range map[string]time.Time{"s-South": until, "s-North": t0.Add(9 * time.Hour), "s-West": t0.Add(9 * time.Hour)} {
		if got := f.expires(t, id); !got.Equal(want) {
			t.Errorf("%s expires %s, want %s", id, got, want)
		}
	}
	recs, err := f.st.ListAudit(ctx, store.AuditQuery{Action: "session.expiry_change"})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || !strings.Contains(string(recs[0].Detail), `"session":"s-South"`) {
		t.Errorf("session.expiry_change records = %+v, want one for s-South", recs)
	}

	// A change of shifts re-decides every session with its own site's
	// extensions: South keeps the extension's end, North the shift's.
	f.now = t0.Add(8*time.Hour + 45*time.Minute)
	later := []store.Shift{{Start: t0.Add(time.Hour), End: t0.Add(9*time.Hour + 15*time.Minute)}}
	if _, err := f.eng.SetShifts(ctx, actor, "u-ana", later, nil); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]time.Time{"s-South": until, "s-North": t0.Add(9*time.Hour + 15*time.Minute)} {
		if got := f.expires(t, id); !got.Equal(want) {
			t.Errorf("after the shift change, %s expires %s, want %s", id, got, want)
		}
	}
}
