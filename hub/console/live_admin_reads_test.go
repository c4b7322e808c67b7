package console

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/hub/store"
)

// adminReads is the hub's store counting what an admin's live view of
// every site reads: the hub-wide reads of kiosks and live sessions, and
// the rows of the reads made for it.
type adminReads struct {
	store.Store
	mu        sync.Mutex
	allKiosks int // ListDevices calls
	allLive   int // ListSessions calls
	counts    int // CountLiveSites calls
	listed    int // kiosks ListLiveKiosks returned, over its calls
	maxListed int // the most one call returned
	named     int // IDs LiveUserNames was asked for, over its calls
	users     int // GetUser calls
}

func (s *adminReads) ListDevices(ctx context.Context, site string) ([]store.Device, error) {
	s.mu.Lock()
	s.allKiosks++
	s.mu.Unlock()
	return s.Store.ListDevices(ctx, site)
}

func (s *adminReads) ListSessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	s.mu.Lock()
	s.allLive++
	s.mu.Unlock()
	return s.Store.ListSessions(ctx, q)
}

func (s *adminReads) CountLiveSites(ctx context.Context) ([]store.LiveSiteCount, error) {
	s.mu.Lock()
	s.counts++
	s.mu.Unlock()
	return s.Store.CountLiveSites(ctx)
}

func (s *adminReads) ListLiveKiosks(ctx context.Context, sites []string, limit int) ([]store.LiveKiosk, error) {
	ks, err := s.Store.ListLiveKiosks(ctx, sites, limit)
	s.mu.Lock()
	s.listed += len(ks)
	s.maxListed = max(s.maxListed, len(ks))
	s.mu.Unlock()
	return ks, err
}

func (s *adminReads) LiveUserNames(ctx context.Context, ids []string) (map[string]string, error) {
	s.mu.Lock()
	s.named += len(ids)
	s.mu.Unlock()
	return s.Store.LiveUserNames(ctx, ids)
}

func (s *adminReads) GetUser(ctx context.Context, id string) (store.User, error) {
	s.mu.Lock()
	s.users++
	s.mu.Unlock()
	return s.Store.GetUser(ctx, id)
}

// polls is how many times the live sessions were read for a view of
// every site, whole or counted.
func (s *adminReads) polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allLive + s.counts
}

func (s *adminReads) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allKiosks, s.allLive, s.counts, s.listed, s.maxListed, s.named, s.users = 0, 0, 0, 0, 0, 0, 0
}

// wholeLive is the admin's view of every site as the console built it
// before it read only what it shows: from every kiosk and every live
// session of the hub, sorted, then cut to liveCap kiosks, with a count for
// every site.
func wholeLive(t *testing.T, c *Console, st store.Store) liveData {
	t.Helper()
	ctx := t.Context()
	devices, err := st.ListDevices(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := st.ListSessions(ctx, store.SessionQuery{LiveOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var d liveData
	byDevice := map[string][]store.Session{}
	for _, s := range sessions {
		byDevice[s.DeviceID] = append(byDevice[s.DeviceID], s)
	}
	for _, dv := range devices {
		k := liveKiosk{Device: dv, Online: c.cfg.KioskOnline(dv.ID)}
		for _, s := range byDevice[dv.ID] {
			k.Sessions = append(k.Sessions, sessionRow{Session: s, Kiosk: dv.Name, Site: dv.Site})
		}
		d.Sessions += len(k.Sessions)
		if len(k.Sessions) > 0 {
			d.InUse++
			d.Kiosks = append(d.Kiosks, k)
		}
	}
	sort.SliceStable(d.Kiosks, func(i, j int) bool {
		a, b := d.Kiosks[i].Device, d.Kiosks[j].Device
		if !strings.EqualFold(a.Site, b.Site) {
			return strings.ToLower(a.Site) < strings.ToLower(b.Site)
		}
		return strings.ToLower(a.Name) < strings.ToLower(b.Name)
	})
	if len(d.Kiosks) > liveCap {
		d.Capped = true
		for _, k := range d.Kiosks {
			if n := len(d.Sites); n > 0 && strings.EqualFold(d.Sites[n-1].Name, k.Device.Site) {
				d.Sites[n-1].Kiosks++
				d.Sites[n-1].Sessions += len(k.Sessions)
				continue
			}
			d.Sites = append(d.Sites, liveSite{Name: k.Device.Site, Kiosks: 1, Sessions: len(k.Sessions)})
		}
		d.Kiosks = d.Kiosks[:liveCap]
	}
	users := userNames{c: c}
	for _, k := range d.Kiosks {
		for i := range k.Sessions {
			k.Sessions[i].User = users.name(ctx, k.Sessions[i].Session.UserID)
		}
	}
	return d
}

// shown is what the live block shows of a liveData, for comparing two.
type shown struct {
	Kiosks          []string // ID: session ID user, …
	Sessions, InUse int
	Capped          bool
	Sites           []liveSite
	MoreSites       int
}

func shownOf(d liveData) shown {
	s := shown{Sessions: d.Sessions, InUse: d.InUse, Capped: d.Capped, Sites: d.Sites, MoreSites: d.MoreSites}
	for _, k := range d.Kiosks {
		line := k.Device.ID + ":"
		for _, ss := range k.Sessions {
			line += " " + ss.Session.ID + " " + ss.User
		}
		s.Kiosks = append(s.Kiosks, line)
	}
	return s
}

// TestAdminLiveReadsWhatItShows: an admin's live view of every site (the
// site page without ?site=, and the dashboard's block) and its
// live-update stream read the kiosks it lists and a count per site, never
// every kiosk and live session of the hub, which a page polling every
// second made 20,000 rows a second at 10,000 kiosks in use. What the block
// shows is what the whole read showed: the same kiosks, sessions, names
// and counts, sites spelled in several cases counted as one.
func TestAdminLiveReadsWhatItShows(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	rc := &adminReads{Store: r.st.Store}
	r.c.st = rc
	r.c.cfg.LivePoll = 10 * time.Millisecond
	liveKiosks(t, r, rc, 14, "north", "west", "North", "south", "East", "Zürich", "ZÜRICH")
	// A second worker on some kiosks, a disabled kiosk still in use and
	// an idle one.
	now := time.Now().UTC()
	for _, id := range []string{"north-0-3", "south-3-0", "Zürich-5-13", "East-4-7"} {
		if _, err := rc.CreateSession(ctx, store.Session{ID: "s2-" + id, UserID: "u-bob", DeviceID: "dev-" + id, Role: "Picker",
			Started: now.Add(time.Minute), Expires: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rc.UpdateDevice(ctx, "dev-south-3-2", func(d store.Device) (store.Device, error) {
		d.State = store.DeviceDisabled
		return d, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.CreateDevice(ctx, store.Device{ID: "dev-idle", Name: "a-idle", Site: "east", Profile: "generic-x86",
		State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	ada := r.account(t, "ada", store.ConsoleAdmin)

	want := shownOf(wholeLive(t, r.c, r.st.Store))
	if !want.Capped || want.InUse != 7*14 || len(want.Sites) != 5 {
		t.Fatalf("the fixture's view: %d kiosks in use at %d sites, capped %t; want 98 at 5, capped", want.InUse, len(want.Sites), want.Capped)
	}
	rc.reset()
	d, err := r.c.live(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, shownOf(d)); diff != "" {
		t.Errorf("the admin's live view (-read whole +read capped):\n%s", diff)
	}
	rc.mu.Lock()
	if rc.allKiosks != 0 || rc.allLive != 0 {
		t.Errorf("the block read every kiosk %d times and every live session %d times, want never", rc.allKiosks, rc.allLive)
	}
	if rc.maxListed > liveCap || rc.users > liveCap+4 {
		t.Errorf("the block read %d kiosks and %d users, want at most the %d kiosks listed and their users", rc.maxListed, rc.users, liveCap)
	}
	rc.mu.Unlock()

	// The stream: each poll counts, reads at most the kiosks listed and
	// names their sessions' users in one read.
	rc.reset()
	const polls = 5
	streamSite(t, r, rc, ada, polls)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.allKiosks != 0 || rc.allLive != 0 || rc.users != 0 {
		t.Errorf("the stream read every kiosk %d times, every live session %d times and users %d times in %d polls, want never",
			rc.allKiosks, rc.allLive, rc.users, rc.counts)
	}
	if rc.maxListed > liveCap || rc.listed > rc.counts*liveCap || rc.named > rc.counts*(liveCap+4) {
		t.Errorf("the stream read %d kiosks (at most %d at once) and %d names in %d polls, want at most %d kiosks and their users a poll",
			rc.listed, rc.maxListed, rc.named, rc.counts, liveCap)
	}
}

// TestAdminLiveSitesCapped: the capped block links the liveSitesCap
// busiest sites, by name, and says how many more there are, rather than
// a link for each of thousands of sites every time a session changes.
func TestAdminLiveSitesCapped(t *testing.T) {
	r := newSelfRace(t)
	var sites []string
	for i := range liveSitesCap + 10 {
		sites = append(sites, fmt.Sprintf("site-%02d", i))
	}
	liveKiosks(t, r, r.st.Store, 1, sites...)
	// Ten sites busier than the others, among the last by name.
	liveKiosks(t, r, r.st.Store, 2, sites[len(sites)-10:]...)
	ada := r.account(t, "ada", store.ConsoleAdmin)
	w := httptest.NewRecorder()
	if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live", nil), ada); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if n := strings.Count(body, `<li><a href="/console/site/?site=`); n != liveSitesCap {
		t.Errorf("the block links %d sites, want the %d busiest", n, liveSitesCap)
	}
	for _, site := range sites[len(sites)-10:] {
		if want := fmt.Sprintf(`>%s</a>: 3 kiosks in use, 3 signed in`, site); !strings.Contains(body, want) {
			t.Errorf("the block does not link %s, one of the busiest: no %q", site, want)
		}
	}
	if want := `And <strong>10</strong> more sites with kiosks in use`; !strings.Contains(body, want) {
		t.Errorf("the block does not say %q:\n%s", want, body)
	}
	if i, j := strings.Index(body, ">site-00</a>"), strings.Index(body, ">site-59</a>"); i < 0 || j < i {
		t.Errorf("the sites linked are not by name")
	}
	if want := fmt.Sprintf(`of <strong id="live-in-use">%d</strong> kiosks in use`, len(sites)+20); !strings.Contains(body, want) {
		t.Errorf("the block does not say %q", want)
	}
}

// TestLiveRenameChangesFingerprint: a worker renamed while signed in (the
// identity provider changes the userName) changes what the live-update
// stream compares, so open pages fetch the block with the new name
// instead of showing the old one until something else changes; a poll
// with nothing changed does not.
func TestLiveRenameChangesFingerprint(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	liveKiosks(t, r, r.st.Store, 30, "north", "south")
	sam := r.account(t, "sam", store.ConsoleSupervisor, "north")
	ada := r.account(t, "ada", store.ConsoleAdmin)
	for _, tc := range []struct {
		name string
		v    *viewer
		user string
	}{
		{"supervisor", sam, "u-north-0-4"},
		{"admin capped", ada, "u-north-0-5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := r.c.liveOf(ctx, tc.v, "", false)
			if err != nil {
				t.Fatal(err)
			}
			again, err := r.c.liveOf(ctx, tc.v, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if again.fingerprint() != before.fingerprint() {
				t.Fatalf("the fingerprint changed with nothing changed")
			}
			if _, err := r.eng.UpdateUser(ctx, scimActor, tc.user, func(u store.User) (store.User, error) {
				u.UserName = "renamed-" + tc.name
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
			after, err := r.c.liveOf(ctx, tc.v, "", false)
			if err != nil {
				t.Fatal(err)
			}
			if after.fingerprint() == before.fingerprint() {
				t.Errorf("the fingerprint did not change when a signed-in worker was renamed")
			}
			w := httptest.NewRecorder()
			if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live", nil), tc.v); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(w.Body.String(), "renamed-"+tc.name) {
				t.Errorf("the block does not show the new name")
			}
		})
	}
}
