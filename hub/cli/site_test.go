package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// withHub opens the hub in dir for fn, as the CLI does, and closes it.
func withHub(t *testing.T, dir string, fn func(st store.Store, eng *lifecycle.Engine)) {
	t.Helper()
	st, err := hub.OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := audit.LoadOrCreateKey(t.Context(), dir, st)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	fn(st, eng)
}

func storedUser(t *testing.T, dir, id string) store.User {
	t.Helper()
	var u store.User
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		var err error
		if u, err = st.GetUser(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	})
	return u
}

// TestSiteCommands: `site set` registers a site and then changes its
// zone, each time saying what it did and moving the end of the site's
// user sent as a calendar day; the same zone again changes nothing; a bad
// zone or a missing flag is a usage error; `site list` shows the sites,
// and refuses a directory without a hub; the audit chain stays intact.
func TestSiteCommands(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "site", "list", "--data", dir); code == 0 || !strings.Contains(errs, "holds no hub") {
		t.Errorf("site list of an empty directory: exit %d, %q; want it refused", code, errs)
	}
	withHub(t, dir, func(_ store.Store, eng *lifecycle.Engine) {
		if _, err := eng.CreateUser(t.Context(), lifecycle.Actor{Name: "t", System: "scim"},
			store.User{ID: "u-ana", UserName: "ana", Active: true, Sites: []string{"north"}, EndDay: "2099-12-31"}); err != nil {
			t.Fatal(err)
		}
	})
	end := func(zone string) time.Time {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2100, 1, 1, 0, 0, 0, 0, loc)
	}

	steps := []struct {
		name, site, zone, want string
		end                    time.Time
	}{
		{"register", "north", "America/Los_Angeles", "site north registered: time zone America/Los_Angeles (1 user's dates moved)", end("America/Los_Angeles")},
		{"change", "NORTH", "Asia/Tokyo", "site north: time zone Asia/Tokyo, was America/Los_Angeles (1 user's dates moved)", end("Asia/Tokyo")},
		{"the same zone", "north", "Asia/Tokyo", "site north: time zone Asia/Tokyo already; nothing changed", end("Asia/Tokyo")},
		{"a site without users", "south", "Europe/Berlin", "site south registered: time zone Europe/Berlin (0 users' dates moved)", end("Asia/Tokyo")},
	}
	for _, s := range steps {
		code, out, errs := run(t, "site", "set", "--data", dir, "--name", s.site, "--time-zone", s.zone)
		if code != 0 || strings.TrimSpace(out) != s.want {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %q", s.name, code, out, errs, s.want)
		}
		if u := storedUser(t, dir, "u-ana"); !u.EndDate.Equal(s.end) {
			t.Errorf("%s: ana's end %s, want %s", s.name, u.EndDate, s.end)
		}
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a misspelt zone", []string{"--name", "north", "--time-zone", "Asia/Tokio"}, "not an IANA time zone name such as Europe/Berlin"},
		{"the host's zone", []string{"--name", "north", "--time-zone", "Local"}, "the hub host's"},
		{"a blank zone", []string{"--name", "north", "--time-zone", " "}, "--time-zone is blank"},
		{"no zone", []string{"--name", "north"}, "needs --time-zone"},
		{"no name", []string{"--time-zone", "UTC"}, "needs --name"},
	} {
		code, out, errs := run(t, append([]string{"site", "set", "--data", dir}, tc.args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 saying %q", tc.name, code, out, errs, tc.want)
		}
	}
	if u := storedUser(t, dir, "u-ana"); !u.EndDate.Equal(end("Asia/Tokyo")) {
		t.Errorf("after refused commands: ana's end %s, want %s", u.EndDate, end("Asia/Tokyo"))
	}

	code, out, errs := run(t, "site", "list", "--data", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") ||
		!strings.Contains(lines[1], "north") || !strings.Contains(lines[1], "Asia/Tokyo") ||
		!strings.Contains(lines[2], "south") || !strings.Contains(lines[2], "Europe/Berlin") {
		t.Errorf("site list: exit %d, stdout %q, stderr %q; want a header, north in Asia/Tokyo, south in Europe/Berlin", code, out, errs)
	}
	if code, _, errs := run(t, "audit", "verify", "--data", dir); code != 0 {
		t.Errorf("audit verify after site set: exit %d, %s", code, errs)
	}
	if code, _, errs := run(t, "site", "move", "--data", dir); code != 2 || !strings.Contains(errs, `unknown site command "move"`) {
		t.Errorf("site move: exit %d, %q; want a usage error", code, errs)
	}
}

// TestSiteSetRefusesToEndSessionsOffline: the CLI cannot tell kiosks, so
// a zone change that would end a live kiosk session (here: a leaver's
// last day is over in the new zone, so the leaver would be deprovisioned)
// is refused, names the API of the running hub, and changes nothing.
func TestSiteSetRefusesToEndSessionsOffline(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	// A last day that is over at UTC+14 (Etc/GMT-14) and not at UTC-12
	// (Etc/GMT+12), by an hour at least either way: it ends between
	// 10:00 UTC that day and 12:00 UTC the next.
	day := now
	if now.Hour() < 11 {
		day = now.AddDate(0, 0, -1)
	}
	withHub(t, dir, func(st store.Store, eng *lifecycle.Engine) {
		ctx := t.Context()
		a := lifecycle.Actor{Name: "t", System: "scim"}
		if _, err := eng.CreateSite(ctx, a, store.Site{Name: "north", TimeZone: "Etc/GMT+12"}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.CreateUser(ctx, a, store.User{ID: "u-leo", UserName: "leo", Active: true, Sites: []string{"north"}, EndDay: day.Format(time.DateOnly)}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateDevice(ctx, store.Device{ID: "k1", Name: "north-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateSession(ctx, store.Session{ID: "s1", UserID: "u-leo", DeviceID: "k1", Role: "Nurse", Started: now, Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	})
	before := storedUser(t, dir, "u-leo")
	if before.State != store.UserActive {
		t.Fatalf("leo is %s before, want active", before.State)
	}

	code, out, errs := run(t, "site", "set", "--data", dir, "--name", "north", "--time-zone", "Etc/GMT-14")
	if code != 1 || out != "" || !strings.Contains(errs, "would end live kiosk sessions (1)") ||
		!strings.Contains(errs, "nothing was changed") || !strings.Contains(errs, `PUT /api/v1/sites/north {"timeZone": "Etc/GMT-14"}`) {
		t.Errorf("exit %d, stdout %q, stderr %q; want it refused, naming the API", code, out, errs)
	}
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		u, err := st.GetUser(t.Context(), "u-leo")
		if err != nil || u.State != store.UserActive || u.Version != before.Version {
			t.Errorf("leo after the refusal: %+v, %v; want active, unchanged", u, err)
		}
		if s, err := st.GetSession(t.Context(), "s1"); err != nil || !s.Ended.IsZero() {
			t.Errorf("session after the refusal: %+v, %v; want live", s, err)
		}
		if s, err := st.GetSiteByName(t.Context(), "north"); err != nil || s.TimeZone != "Etc/GMT+12" {
			t.Errorf("north after the refusal: %+v, %v; want Etc/GMT+12", s, err)
		}
	})
}
