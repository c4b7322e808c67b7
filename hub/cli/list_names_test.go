package cli_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestListsQuoteStoredNames: device list, site list, review list and
// review show print names stored before names were checked (a kiosk, a
// site, a campaign, a userName, a role) quoted with their escapes, as
// token list does, so that a tab or a line break cannot shift the
// columns, a right-to-left override cannot make a row read as another,
// and an escape sequence cannot make the terminal erase or rewrite rows.
// Plain names are printed as they are.
func TestListsQuoteStoredNames(t *testing.T) {
	const (
		evilKiosk = "north-1\x1b[1A\x1b[2K\r\tx"
		evilSite  = "south\nfake row"
		evilCamp  = "Q1\x1b]0;pwned\a"
		evilUser  = "ada\u202eelin"
		evilRole  = "Nurse\tAdmin"
	)
	dir := t.TempDir()
	var campaign string
	withHub(t, dir, func(st store.Store, _ *lifecycle.Engine) {
		ctx := t.Context()
		now := time.Now().UTC()
		// Stored as by a hub that predates the checks of names.
		for _, s := range []store.Site{{ID: "s-plain", Name: "north", TimeZone: "Europe/Berlin", Created: now}, {ID: "s-evil", Name: evilSite, Created: now}} {
			if _, err := st.CreateSite(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []store.Device{
			{ID: "k-plain", Name: "north-2", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now},
			{ID: "k-evil", Name: evilKiosk, Site: evilSite, Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now},
		} {
			if _, err := st.CreateDevice(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.CreateUser(ctx, store.User{ID: "u-evil", UserName: evilUser, Active: true, Created: now, Modified: now}); err != nil {
			t.Fatal(err)
		}
		c, err := st.CreateCampaign(ctx, store.Campaign{ID: "c-evil", Name: evilCamp, Due: now.Add(48 * time.Hour), Created: now, CreatedBy: "test"},
			[]store.ReviewItem{{ID: "i-evil", CampaignID: "c-evil", UserID: "u-evil", Kind: store.ReviewItemRole, Entitlement: evilRole,
				ReviewerKind: "admins", Decision: store.ReviewPending, Created: now}})
		if err != nil {
			t.Fatal(err)
		}
		campaign = c.ID
	})

	for _, tc := range []struct {
		name  string
		args  []string
		want  []string // what the output must hold
		plain []string // raw text it must not
	}{
		{"device list", []string{"device", "list", "--data", dir},
			[]string{`k-evil   "north-1\x1b[1A\x1b[2K\r\tx"  "south\nfake row"  generic-x86`, "k-plain  north-2 "},
			[]string{"\x1b", "\r", "fake row\t", "\nfake row"}},
		{"site list", []string{"site", "list", "--data", dir},
			[]string{`"south\nfake row"  UTC`, "north              Europe/Berlin"},
			[]string{"\nfake row"}},
		{"review list", []string{"review", "list", "--data", dir},
			[]string{campaign + `  "Q1\x1b]0;pwned\a"  `},
			[]string{"\x1b", "\a"}},
		{"review show", []string{"review", "show", "--data", dir, "--id", campaign},
			[]string{`"Q1\x1b]0;pwned\a"  due `, `i-evil  "ada\u202eelin"  role  "Nurse\tAdmin"  admins`},
			[]string{"\x1b", "\a", "\u202e", "Nurse\tAdmin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, tc.args...)
			if code != 0 {
				t.Fatalf("%s: exit %d, %q", tc.name, code, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%s:\n%s\nwant it to hold %q", tc.name, out, w)
				}
			}
			for _, p := range tc.plain {
				if strings.Contains(out, p) {
					t.Errorf("%s printed %q raw:\n%q", tc.name, p, out)
				}
			}
		})
	}
}
