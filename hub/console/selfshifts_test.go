package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestAPIRefusesSettingOwnShifts: shifts decide when a user may sign in,
// so PUT /api/v1/users/{userName}/shifts is refused, as an extension of
// one's own shift is, to the admin ada (linked to hub user
// ada@example.org) setting her own shifts with her console session or with
// an admin token she made on the console: 403, her shifts unchanged, no
// user.shifts_replace record. She sets nia's shifts with either; a token
// the CLI operator made, who is no hub user, sets ada's.
func TestAPIRefusesSettingOwnShifts(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	shifts := []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
	for _, u := range []store.User{
		{ID: "u-ada", UserName: "ada@example.org", Sites: []string{"north"}, Shifts: shifts}, // the console admin
		{ID: "u-nia", UserName: "nia", Sites: []string{"north"}, Shifts: shifts},
	} {
		u.Active = true
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	admin := bootstrapAdmin(t, h)
	if ada := account(t, h, "ada@example.org"); ada.UserID != "u-ada" {
		t.Fatalf("console account ada is linked to %q, want u-ada", ada.UserID)
	}
	tok := newTokenOn(t, admin.post("/console/tokens", url.Values{"name": {"ada-scripts"}, "scope": {"admin"}}))
	// All night: a sign-in window far wider than the shift.
	wider := []map[string]time.Time{{"start": now.Add(-2 * time.Hour), "end": now.Add(10 * time.Hour)}}
	bySession := func(user string) (int, string) {
		r := admin.do("PUT", "/api/v1/users/"+user+"/shifts", wider, console.CSRFHeader, admin.csrf)
		return r.Status, r.Body
	}
	byToken := func(tok string) func(string) (int, string) {
		return func(user string) (int, string) {
			r := h.DoToken(t, tok, "PUT", "/api/v1/users/"+user+"/shifts", wider)
			return r.Status, string(r.Body)
		}
	}
	shiftsOf := func(id string) []store.Shift {
		u, err := h.Store().GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return u.Shifts
	}
	replaced := func(id string) int {
		recs, err := h.Store().ListAudit(ctx, store.AuditQuery{Action: "user.shifts_replace", Subject: "user:" + id})
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}

	for _, tc := range []struct {
		name string
		put  func(user string) (int, string)
	}{
		{"console session", bySession},
		{"token made on the console", byToken(tok)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := tc.put("ada@example.org"); status != http.StatusForbidden || !strings.Contains(body, "you cannot change your own shifts") {
				t.Errorf("ada sets her own shifts: %d %s, want 403 saying she cannot change her own shifts", status, body)
			}
			if got := shiftsOf("u-ada"); !shift.Equal(got, shifts) {
				t.Errorf("ada's shifts after the refused change: %v, want %v", got, shifts)
			}
			if n := replaced("u-ada"); n != 0 {
				t.Errorf("%d user.shifts_replace records of ada after refused changes, want none", n)
			}
			if status, body := tc.put("nia"); status != http.StatusOK {
				t.Errorf("ada sets nia's shifts: %d %s, want 200", status, body)
			}
		})
	}
	if n := replaced("u-nia"); n != 2 {
		t.Errorf("%d user.shifts_replace records of nia, want 2", n)
	}

	// A token the CLI operator made is no person: it sets ada's shifts.
	if status, body := byToken(h.AdminToken(t))("ada@example.org"); status != http.StatusOK {
		t.Errorf("CLI token sets ada's shifts: %d %s, want 200", status, body)
	}
	if got := shiftsOf("u-ada"); len(got) != 1 || !got[0].End.Equal(now.Add(10*time.Hour)) {
		t.Errorf("ada's shifts after the CLI token set them: %v, want the wider shift", got)
	}
}
