package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestImportShiftsGraceBounds: --shift-grace takes what the login policy
// takes, 0 to 12h; anything else is a usage error (exit 2) that changes
// nothing, not a grace of none (negative) or one the policy refuses.
func TestImportShiftsGraceBounds(t *testing.T) {
	dir := t.TempDir()
	start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)
	withHub(t, dir, func(_ store.Store, eng *lifecycle.Engine) {
		if _, err := eng.CreateUser(t.Context(), lifecycle.Actor{Name: "t", System: "scim"}, store.User{ID: "u-ana", UserName: "ana", Active: true}); err != nil {
			t.Fatal(err)
		}
	})
	file := filepath.Join(t.TempDir(), "week.csv")
	body := "userName,start,end\nana," + start.Format(time.RFC3339) + "," + start.Add(8*time.Hour).Format(time.RFC3339) + "\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, grace := range []string{"-15m", "12h1m"} {
		code, _, errs := run(t, "import", "shifts", "--data", dir, "--shift-grace", grace, file)
		if code != 2 || !strings.Contains(errs, "give 0 or a duration up to 12h") {
			t.Errorf("--shift-grace %s: exit %d, %q; want a usage error", grace, code, errs)
		}
	}
	if u := storedUser(t, dir, "u-ana"); len(u.Shifts) != 0 {
		t.Fatalf("a refused import stored shifts: %v", u.Shifts)
	}
	for _, grace := range []string{"0", "12h"} {
		if code, out, errs := run(t, "import", "shifts", "--data", dir, "--shift-grace", grace, file); code != 0 || !strings.Contains(out, "replaced the shifts of 1 users") {
			t.Errorf("--shift-grace %s: exit %d\n%s%s", grace, code, out, errs)
		}
	}
}

// TestImportShiftsSiteZone: the CLI reads a local time without a zone
// value in the zone of the user's registered site, and refuses, in a dry
// run too, a --zone that is not that zone (it would put the shift hours
// off), instead of reading every line in --zone.
func TestImportShiftsSiteZone(t *testing.T) {
	dir := t.TempDir()
	a := lifecycle.Actor{Name: "t", System: "scim"}
	withHub(t, dir, func(_ store.Store, eng *lifecycle.Engine) {
		if _, err := eng.CreateSite(t.Context(), a, store.Site{Name: "chicago", TimeZone: "America/Chicago"}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.CreateUser(t.Context(), a, store.User{ID: "u-ana", UserName: "ana", Active: true, Sites: []string{"chicago"}}); err != nil {
			t.Fatal(err)
		}
	})
	file := filepath.Join(t.TempDir(), "week.csv")
	if err := os.WriteFile(file, []byte("userName,start,end\nana,2026-12-01 06:00,2026-12-01 14:00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const refusal = "line 2: ana works in America/Chicago at site chicago, but --zone is Europe/Berlin: a local time read in Europe/Berlin would be hours off; " +
		"give this user's lines their zone in the zone column, or leave out --zone to read them in the site's zone"
	for _, dry := range []string{"--dry-run=true", "--dry-run=false"} {
		code, _, errs := run(t, "import", "shifts", "--data", dir, "--zone", "Europe/Berlin", dry, file)
		if code != 1 || !strings.Contains(errs, refusal) || !strings.Contains(errs, "nothing was imported") {
			t.Errorf("--zone Europe/Berlin %s: exit %d, stderr:\n%s", dry, code, errs)
		}
	}
	if u := storedUser(t, dir, "u-ana"); len(u.Shifts) != 0 {
		t.Fatalf("a refused import stored shifts: %v", u.Shifts)
	}
	if code, out, errs := run(t, "import", "shifts", "--data", dir, file); code != 0 || !strings.Contains(out, "replaced the shifts of 1 users") {
		t.Fatalf("without --zone: exit %d\n%s%s", code, out, errs)
	}
	chicago, _ := time.LoadLocation("America/Chicago")
	want := []store.Shift{{Start: time.Date(2026, 12, 1, 6, 0, 0, 0, chicago).UTC(), End: time.Date(2026, 12, 1, 14, 0, 0, 0, chicago).UTC()}}
	if got := storedUser(t, dir, "u-ana").Shifts; !shift.Equal(got, want) {
		t.Errorf("shifts = %v, want %v (06:00–14:00 in Chicago)", got, want)
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		recs, err := st.ListAudit(t.Context(), store.AuditQuery{Action: "user.shifts_replace", Subject: "user:u-ana"})
		if err != nil || len(recs) != 1 || !strings.Contains(string(recs[0].Detail), `"localZone":"America/Chicago","localZoneFrom":"site"`) {
			t.Errorf("audit = %+v, %v; want the zone the local times were read in", recs, err)
		}
	})
}
