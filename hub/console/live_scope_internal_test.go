package console

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// siteReads is the hub's store counting the reads of live sessions and
// kiosks, hub-wide and by site, and the users and session histories read,
// for a test of what a console request reads.
type siteReads struct {
	store.Store
	mu         sync.Mutex
	allLive    int // ListSessions calls
	allKiosks  int // ListDevices calls
	bySite     int // ListSiteSessions calls
	sites      [][]string
	users      int // GetUser calls
	recent     []int
	siteKiosks int // ListSiteDevices calls
}

func (s *siteReads) ListSessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error) {
	s.mu.Lock()
	s.allLive++
	s.mu.Unlock()
	return s.Store.ListSessions(ctx, q)
}

func (s *siteReads) ListDevices(ctx context.Context, site string) ([]store.Device, error) {
	s.mu.Lock()
	s.allKiosks++
	s.mu.Unlock()
	return s.Store.ListDevices(ctx, site)
}

func (s *siteReads) ListSiteSessions(ctx context.Context, sites []string) ([]store.Session, error) {
	s.mu.Lock()
	s.bySite++
	s.sites = append(s.sites, slices.Clone(sites))
	s.mu.Unlock()
	return s.Store.ListSiteSessions(ctx, sites)
}

func (s *siteReads) ListSiteDevices(ctx context.Context, sites []string) ([]store.Device, error) {
	s.mu.Lock()
	s.siteKiosks++
	s.mu.Unlock()
	return s.Store.ListSiteDevices(ctx, sites)
}

func (s *siteReads) GetUser(ctx context.Context, id string) (store.User, error) {
	s.mu.Lock()
	s.users++
	s.mu.Unlock()
	return s.Store.GetUser(ctx, id)
}

func (s *siteReads) ListRecentSessions(ctx context.Context, userID string, limit int) ([]store.Session, error) {
	s.mu.Lock()
	s.recent = append(s.recent, limit)
	s.mu.Unlock()
	return s.Store.ListRecentSessions(ctx, userID, limit)
}

// polls is how many times the live sessions were read, hub-wide or by
// site.
func (s *siteReads) polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allLive + s.bySite
}

func (s *siteReads) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allLive, s.allKiosks, s.bySite, s.sites, s.users, s.recent, s.siteKiosks = 0, 0, 0, nil, 0, nil, 0
}

// liveKiosks makes n kiosks at each site, each with a worker of the site
// signed in: the I-th of the J-th site is kiosk-SITE-J-I, its worker
// worker-SITE-J-I (names are unique whatever their case).
func liveKiosks(t *testing.T, r *selfRace, st store.Store, n int, sites ...string) {
	t.Helper()
	ctx := t.Context()
	now := time.Now().UTC()
	for j, site := range sites {
		for i := range n {
			id := fmt.Sprintf("%s-%d-%d", site, j, i)
			if _, err := st.CreateDevice(ctx, store.Device{ID: "dev-" + id, Name: "kiosk-" + id, Site: site, Profile: "generic-x86",
				State: store.DeviceActive, Created: now, Modified: now}); err != nil {
				t.Fatal(err)
			}
			u, err := r.eng.CreateUser(ctx, scimActor, store.User{ID: "u-" + id, UserName: "worker-" + id, Active: true, Sites: []string{site}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateSession(ctx, store.Session{ID: "s-" + id, UserID: u.ID, DeviceID: "dev-" + id, Role: "Picker",
				Started: now, Expires: now.Add(8 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestLiveStreamReadsOwnSites: the live-update stream of a supervisor's
// site page reads the live sessions and kiosks of the supervisor's sites
// only, never every live session or kiosk of the hub: with 10,000
// workers signed in and a few dozen supervisors' pages open, each
// polling every second, the hub-wide reads were hundreds of thousands of
// rows a second. The page's block still shows every kiosk of the
// supervisor's sites, whatever the case its site was enrolled with, and
// nothing of other sites.
func TestLiveStreamReadsOwnSites(t *testing.T) {
	r := newSelfRace(t)
	rc := &siteReads{Store: r.st.Store}
	r.c.st = rc
	r.c.cfg.LivePoll = 10 * time.Millisecond
	liveKiosks(t, r, rc, 2, "north", "NORTH", "south", "east")
	sam := r.account(t, "sam", store.ConsoleSupervisor, "north")

	rc.reset()
	streamSite(t, r, rc, sam, 5)
	rc.mu.Lock()
	if rc.allLive != 0 || rc.allKiosks != 0 {
		t.Errorf("the stream read every live session %d times and every kiosk %d times in %d polls, want never", rc.allLive, rc.allKiosks, rc.allLive+rc.bySite)
	}
	for _, sites := range rc.sites {
		if !slices.Equal(sites, []string{"north"}) {
			t.Errorf("the stream read the live sessions of %q, want north's only", sites)
		}
	}
	rc.mu.Unlock()

	// The block the stream's events fetch: north's kiosks, in every
	// spelling of north, and nothing of the others.
	rc.reset()
	w := httptest.NewRecorder()
	if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live", nil), sam); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	for _, want := range []string{"worker-north-0-0", "worker-north-0-1", "worker-NORTH-1-0", "worker-NORTH-1-1"} {
		if !strings.Contains(body, want) {
			t.Errorf("the live block does not show %s:\n%s", want, body)
		}
	}
	for _, not := range []string{"worker-south", "worker-east"} {
		if strings.Contains(body, not) {
			t.Errorf("the live block shows %s of another site:\n%s", not, body)
		}
	}
	if rc.allLive != 0 || rc.allKiosks != 0 {
		t.Errorf("the live block read every live session %d times and every kiosk %d times, want never", rc.allLive, rc.allKiosks)
	}
}

// TestAdminLiveCapped: an admin's live block, every site's, lists at most
// liveCap kiosks and reads the names of their workers only, says how many
// kiosks are in use, and links each site's own view, which lists all of
// that site's kiosks.
func TestAdminLiveCapped(t *testing.T) {
	r := newSelfRace(t)
	rc := &siteReads{Store: r.st.Store}
	r.c.st = rc
	const perSite = 25
	liveKiosks(t, r, rc, perSite, "north", "south", "east")
	ada := r.account(t, "ada", store.ConsoleAdmin)

	rc.reset()
	w := httptest.NewRecorder()
	if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live", nil), ada); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if n := strings.Count(body, `class="kiosk"`); n != liveCap {
		t.Errorf("the admin's live block lists %d kiosks, want %d", n, liveCap)
	}
	if want := fmt.Sprintf(`Showing <strong>%d</strong> of <strong id="live-in-use">%d</strong> kiosks in use`, liveCap, 3*perSite); !strings.Contains(body, want) {
		t.Errorf("the block does not say %q:\n%s", want, body)
	}
	if want := fmt.Sprintf(`<strong id="live-count">%d</strong> signed in now`, 3*perSite); !strings.Contains(body, want) {
		t.Errorf("the block does not say %q", want)
	}
	for _, site := range []string{"north", "south", "east"} {
		want := fmt.Sprintf(`<a href="/console/site/?site=%s">%s</a>: %d kiosks in use, %d signed in`, site, site, perSite, perSite)
		if !strings.Contains(body, want) {
			t.Errorf("the block does not link %s's view: no %q", site, want)
		}
	}
	if rc.users > liveCap {
		t.Errorf("the block read %d users, want at most the %d of the kiosks listed", rc.users, liveCap)
	}

	// A site's own view: all of its kiosks, no others, read by site.
	rc.reset()
	w = httptest.NewRecorder()
	if err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live?site=South", nil), ada); err != nil {
		t.Fatal(err)
	}
	body = w.Body.String()
	if n := strings.Count(body, `class="kiosk"`); n != perSite {
		t.Errorf("south's view lists %d kiosks, want its %d", n, perSite)
	}
	if strings.Contains(body, "worker-north") || strings.Contains(body, `id="live-capped"`) {
		t.Errorf("south's view shows other sites or a cap:\n%s", body)
	}
	if rc.allLive != 0 || rc.allKiosks != 0 {
		t.Errorf("south's view read every live session %d times and every kiosk %d times, want never", rc.allLive, rc.allKiosks)
	}

	// The site page with a site asked for updates that site's view.
	w = httptest.NewRecorder()
	if err := r.c.sitePage(w, httptest.NewRequest("GET", "/console/site/?site=south", nil), ada); err != nil {
		t.Fatal(err)
	}
	if want := `data-live="/console/site/live?site=south" data-events="/console/site/events?site=south"`; !strings.Contains(w.Body.String(), want) {
		t.Errorf("the site page for south does not have %s", want)
	}
}

// TestLiveSiteOutOfScope: a supervisor asking for the live view of a site
// that is not its own is refused, and sees nothing of it.
func TestLiveSiteOutOfScope(t *testing.T) {
	r := newSelfRace(t)
	liveKiosks(t, r, r.st.Store, 1, "north", "south")
	sam := r.account(t, "sam", store.ConsoleSupervisor, "north")
	w := httptest.NewRecorder()
	err := r.c.siteLive(w, httptest.NewRequest("GET", "/console/site/live?site=south", nil), sam)
	if err == nil || strings.Contains(w.Body.String(), "worker-south") {
		t.Errorf("south's live view for a supervisor of north: %v, %s; want refused", err, w.Body)
	}
}

// TestUserPageReadsLatestSessions: a user's page reads the latest
// userSessions sessions of the user, not the whole history, and shows
// them newest first.
func TestUserPageReadsLatestSessions(t *testing.T) {
	ctx := t.Context()
	r := newSelfRace(t)
	rc := &siteReads{Store: r.st.Store}
	r.c.st = rc
	liveKiosks(t, r, rc, 1, "north")
	base := time.Now().UTC().Add(-1000 * time.Hour)
	const history = userSessions + 50
	for i := range history {
		start := base.Add(time.Duration(i) * time.Hour)
		if _, err := rc.CreateSession(ctx, store.Session{ID: fmt.Sprintf("h-%03d", i), UserID: "u-north-0-0", DeviceID: "dev-north-0-0",
			Role: fmt.Sprintf("role-%03d", i), Started: start, Expires: start.Add(time.Hour), Ended: start.Add(time.Hour), EndReason: "signout"}); err != nil {
			t.Fatal(err)
		}
	}
	ada := r.account(t, "ada", store.ConsoleAdmin)
	rc.reset()
	req := httptest.NewRequest("GET", "/console/users/u-north-0-0", nil)
	req.SetPathValue("id", "u-north-0-0")
	w := httptest.NewRecorder()
	if err := r.c.userPage(w, req, ada); err != nil {
		t.Fatal(err)
	}
	if rc.allLive != 0 || !slices.Equal(rc.recent, []int{userSessions}) {
		t.Errorf("the user's page read the whole history %d times and the latest %v, want only the latest %d once", rc.allLive, rc.recent, userSessions)
	}
	body := w.Body.String()
	// The live session (started now) and the latest 99 of the history.
	first := history - (userSessions - 1)
	for _, want := range []string{fmt.Sprintf("role-%03d", history-1), fmt.Sprintf("role-%03d", first), "<strong>live</strong>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the user's page does not show %s", want)
		}
	}
	if old := fmt.Sprintf("role-%03d", first-1); strings.Contains(body, old) {
		t.Errorf("the user's page shows %s, past the latest %d", old, userSessions)
	}
	if i, j := strings.Index(body, fmt.Sprintf("role-%03d", history-1)), strings.Index(body, fmt.Sprintf("role-%03d", first)); i > j {
		t.Errorf("the user's sessions are not newest first")
	}
}
