package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// liveAdminHub is liveHub with a second live session on every fifth
// kiosk, a kiosk disabled with its session live and one idle: kiosks
// in use with several sessions, of every state.
func liveAdminHub(t *testing.T, db *DB, kiosks int) {
	t.Helper()
	liveHub(t, db, kiosks)
	base := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	err := db.InTx(t.Context(), func(tx store.Ops) error {
		for i := 0; i < kiosks; i += 5 {
			if _, err := tx.CreateSession(t.Context(), store.Session{ID: fmt.Sprintf("t%05d", i), UserID: "u9", DeviceID: fmt.Sprintf("k%05d", i),
				Role: "picker", Started: base.Add(time.Duration(i%7) * time.Minute), Expires: base.Add(10 * time.Hour)}); err != nil {
				return err
			}
		}
		if _, err := tx.UpdateDevice(t.Context(), "k00003", func(d store.Device) (store.Device, error) {
			d.State = store.DeviceDisabled
			return d, nil
		}); err != nil {
			return err
		}
		_, err := tx.CreateDevice(t.Context(), store.Device{ID: "idle", Name: "Idle", Site: "north", Profile: "p", State: store.DeviceActive, Created: base})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// wholeLive reads every kiosk and live session of the hub, as the
// console's admin view did, and returns the kiosks in use in the order
// ListLiveKiosks gives them, with their sessions.
func wholeLive(t *testing.T, db *DB) []store.LiveKiosk {
	t.Helper()
	devices, err := db.ListDevices(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := db.ListSessions(t.Context(), store.SessionQuery{LiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	byDevice := map[string][]store.Session{}
	for _, s := range sessions {
		byDevice[s.DeviceID] = append(byDevice[s.DeviceID], s)
	}
	var out []store.LiveKiosk
	for _, d := range devices { // by Created, then ID
		if ss := byDevice[d.ID]; len(ss) > 0 {
			slices.SortFunc(ss, func(a, b store.Session) int {
				if c := a.Started.Compare(b.Started); c != 0 {
					return c
				}
				return strings.Compare(a.ID, b.ID)
			})
			out = append(out, store.LiveKiosk{Device: d, Sessions: ss})
		}
	}
	slices.SortStableFunc(out, func(a, b store.LiveKiosk) int {
		if c := strings.Compare(store.FoldName(a.Device.Site), store.FoldName(b.Device.Site)); c != 0 {
			return c
		}
		return strings.Compare(store.FoldName(a.Device.Name), store.FoldName(b.Device.Name))
	})
	return out
}

// TestLiveAdminReads: the counts by site, the first kiosks in use of some
// sites and the users' names are what a read of every kiosk and live
// session gives.
func TestLiveAdminReads(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	ctx := t.Context()
	liveAdminHub(t, db, 300)
	whole := wholeLive(t, db)

	// Counts, by spelling.
	want := map[string]store.LiveSiteCount{}
	for _, k := range whole {
		c := want[k.Device.Site]
		c.Site = k.Device.Site
		if c.First == "" || strings.ToLower(k.Device.Name) < strings.ToLower(c.First) {
			c.First = k.Device.Name
		}
		c.Kiosks++
		c.Sessions += len(k.Sessions)
		want[k.Device.Site] = c
	}
	counts, err := db.CountLiveSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.LiveSiteCount{}
	for _, c := range counts {
		if _, ok := got[c.Site]; ok {
			t.Errorf("site %q counted twice", c.Site)
		}
		got[c.Site] = c
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CountLiveSites (-whole read +got):\n%s", diff)
	}

	// The first kiosks in use of some sites, in every spelling.
	for _, tc := range []struct {
		name  string
		sites []string
		limit int
	}{
		{"north", []string{"NoRtH"}, 1000},
		{"several cut", []string{"north", "Zurich", "zürich", "south", "site-001", "east"}, 7},
		{"several all", []string{"north", "zürich", "south", "site-001", "east"}, 1000},
		{"one", []string{"south"}, 1},
		{"no limit", []string{"south"}, 0},
		{"no sites", nil, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var folded []string
			for _, s := range tc.sites {
				folded = append(folded, store.FoldName(s))
			}
			var want []store.LiveKiosk
			for _, k := range whole {
				if len(want) < tc.limit && slices.Contains(folded, store.FoldName(k.Device.Site)) {
					want = append(want, k)
				}
			}
			got, err := db.ListLiveKiosks(ctx, tc.sites, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ListLiveKiosks(%q, %d) (-whole read +got):\n%s", tc.sites, tc.limit, diff)
			}
		})
	}
	if n := len(whole); n < 150 {
		t.Fatalf("the fixture has %d kiosks in use, want most of 300", n)
	}

	// Names, of users that exist only.
	for _, u := range []store.User{{ID: "u1", UserName: "Ann"}, {ID: "u2", UserName: "bob"}} {
		u.Active = true
		if _, err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	names, err := db.LiveUserNames(ctx, []string{"u1", "u2", "u-gone"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"u1": "Ann", "u2": "bob"}, names); diff != "" {
		t.Errorf("LiveUserNames (-want +got):\n%s", diff)
	}
}

// TestLiveAdminPlans: the reads of an admin's view of every site go
// through the indexes of live sessions and of kiosks by site: the counts
// read the live sessions' index only, never the sessions table or every
// kiosk; the kiosks listed are searched among their sites' and the users
// by ID.
func TestLiveAdminPlans(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	liveAdminHub(t, db, 300)
	if _, err := db.CreateUser(t.Context(), store.User{ID: "u1", UserName: "ann", Active: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		run       func(o ops) error
		want, not []string
	}{
		{"counts", func(o ops) error { _, err := o.CountLiveSites(t.Context()); return err },
			[]string{"SCAN sessions USING COVERING INDEX sessions_device_live", "SEARCH d USING INDEX sqlite_autoindex_devices_1 (id=?)"},
			[]string{"SCAN d", "SCAN devices"}},
		{"kiosks", func(o ops) error { _, err := o.ListLiveKiosks(t.Context(), []string{"north", "south"}, 50); return err },
			[]string{"SEARCH d USING COVERING INDEX devices_site (site=?)", "SEARCH s USING INDEX sessions_device_live (device_id=?)"},
			[]string{"SCAN d", "SCAN devices", "SCAN s", "SCAN sessions"}},
		{"names", func(o ops) error { _, err := o.LiveUserNames(t.Context(), []string{"u1", "u2"}); return err },
			[]string{"SEARCH users USING INDEX sqlite_autoindex_users_1 (id=?)"},
			[]string{"SCAN users"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plans []string
			if err := tc.run(ops{read: planner{querier: db.reader, plans: &plans}, write: db.writeTx}); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(plans, "\n")
			for _, want := range tc.want {
				if !strings.Contains(plan, want) {
					t.Errorf("no %q in the plan:\n%s", want, plan)
				}
			}
			for _, line := range plans {
				for _, not := range tc.not {
					if line == not || strings.HasPrefix(line, not+" ") {
						t.Errorf("%q in the plan:\n%s", line, plan)
					}
				}
			}
		})
	}
}
