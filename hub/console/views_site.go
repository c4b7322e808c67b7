package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// liveKiosk is a kiosk with who is signed in there now.
type liveKiosk struct {
	Device   store.Device
	Online   bool
	Sessions []sessionRow
}

// liveCap is the most kiosks the live block lists when it shows every
// site (an admin's view): at the product's scale of 10,000 kiosks in use
// a page of them all is megabytes of HTML, fetched again on every change,
// which nobody reads. Beyond it the block says how many there are and
// links each site's own view (liveData.Site), which lists all of that
// site's kiosks.
const liveCap = 50

// liveSite is a site's share of the kiosks in use, for the links to its
// own view when the block lists only some of them.
type liveSite struct {
	Name     string
	Kiosks   int // kiosks with someone signed in
	Sessions int
}

type liveData struct {
	Kiosks   []liveKiosk
	Sessions int
	Idle     int // kiosks of the viewer's sites with nobody signed in (not listed for admins)
	// Site is the one site the block shows, when the page asked for one
	// (?site=); "" for all of the viewer's sites.
	Site string
	// InUse is the number of kiosks with someone signed in. When Capped,
	// Kiosks lists only liveCap of them and Sites says how many each
	// site has.
	InUse  int
	Capped bool
	Sites  []liveSite
	// MoreSites is how many sites with kiosks in use Sites leaves out:
	// it lists the liveSitesCap busiest.
	MoreSites int
	// sum identifies the sessions and kiosks shown or counted
	// (fingerprint).
	sum [32]byte
}

// liveSite returns the one site the request asks the live block to show
// (?site=), checked against the viewer's sites (viewSite), or "" for all
// of them.
func (c *Console) liveSite(ctx context.Context, r *http.Request, v *viewer) (string, error) {
	site := r.URL.Query().Get("site")
	if strings.TrimSpace(site) == "" {
		return "", nil
	}
	return c.viewSite(ctx, v, site)
}

// errNoSite answers a site view (?site=) of a site that does not exist or
// that the viewer may not see, with the same words for both: a supervisor
// cannot tell another site's name from a name nobody uses. Without it an
// admin's mistyped site was an empty view, which reads as "nobody is
// signed in there".
var errNoSite = &statusError{http.StatusNotFound, "no such site among those you may see: choose one from the site page"}

// viewSite returns site, as the viewer's sites spell it, when the viewer
// may see it: for a supervisor one of its account's sites, for an admin a
// registered site or one with a kiosk (visibleSites' sites, read for that
// site only, not the hub's every kiosk); errNoSite if not. Of a site that
// is not registered only its first kiosk is read (FirstSiteDevice), which
// spells it: the page, its live block's every fetch and its back-link ask,
// and reading all its kiosks each time only to learn that it has one cost
// a row per kiosk of a large site.
func (c *Console) viewSite(ctx context.Context, v *viewer, site string) (string, error) {
	site = strings.TrimSpace(site)
	if !v.admin() {
		if i := slices.IndexFunc(v.account.Sites, func(s string) bool { return strings.EqualFold(s, site) }); i >= 0 && v.allows(site) {
			return v.account.Sites[i], nil
		}
		return "", errNoSite
	}
	s, err := c.st.GetSiteByName(ctx, site)
	if err == nil {
		return s.Name, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	d, err := c.st.FirstSiteDevice(ctx, site)
	if errors.Is(err, store.ErrNotFound) {
		return "", errNoSite
	}
	if err != nil {
		return "", err
	}
	return d.Site, nil
}

// live gathers the live sessions on the viewer's kiosks. Supervisors see
// every kiosk of their sites, admins only the kiosks in use, at most
// liveCap of them.
func (c *Console) live(ctx context.Context, v *viewer) (liveData, error) {
	return c.liveAt(ctx, v, "")
}

// liveAt is live for one of the viewer's sites, or all of them for "".
// An admin asking for a site sees every kiosk of it, as its supervisors
// do.
func (c *Console) liveAt(ctx context.Context, v *viewer, site string) (liveData, error) {
	return c.liveOf(ctx, v, site, true)
}

// liveOf is live, with the signed-in users' names read when names is
// set. The live-update stream (siteEvents) compares what the block shows
// (fingerprint) every second: reading each session's user there too
// would be a store read per session per second for every open page, so
// the stream reads the names of the sessions it would list in one read
// (store.LiveOps.LiveUserNames) instead. For the same reason the kiosks
// and sessions are read by site (store.LiveOps), and an admin's view of
// every site reads the kiosks it lists and a count per site (liveAll): a
// page costs what it shows, not what the hub holds.
func (c *Console) liveOf(ctx context.Context, v *viewer, site string, names bool) (liveData, error) {
	if v.admin() && site == "" {
		return c.liveAll(ctx, names)
	}
	d := liveData{Site: site}
	sites := v.account.Sites
	if site != "" {
		sites = []string{site}
	}
	devices, err := c.st.ListSiteDevices(ctx, sites)
	if err != nil {
		return d, err
	}
	sessions, err := c.st.ListSiteSessions(ctx, sites)
	if err != nil {
		return d, err
	}
	byDevice := map[string][]store.Session{}
	for _, s := range sessions {
		byDevice[s.DeviceID] = append(byDevice[s.DeviceID], s)
	}
	for _, dv := range devices {
		// Sites taken away from a supervisor since the page was loaded
		// are not shown (siteEvents reads with the account as it is).
		if !v.allows(dv.Site) {
			continue
		}
		k := liveKiosk{Device: dv, Online: c.cfg.KioskOnline(dv.ID)}
		for _, s := range byDevice[dv.ID] {
			k.Sessions = append(k.Sessions, sessionRow{Session: s, Kiosk: dv.Name, Site: dv.Site})
		}
		d.Sessions += len(k.Sessions)
		if len(k.Sessions) == 0 {
			d.Idle++
			if dv.State != store.DeviceActive {
				continue
			}
		} else {
			d.InUse++
		}
		d.Kiosks = append(d.Kiosks, k)
	}
	// In the order ListLiveKiosks gives an admin's view of every site:
	// by folded site, then folded name; kiosks that tie keep the store's
	// order (Created, then ID).
	sort.SliceStable(d.Kiosks, func(i, j int) bool {
		a, b := d.Kiosks[i].Device, d.Kiosks[j].Device
		if fa, fb := store.FoldName(a.Site), store.FoldName(b.Site); fa != fb {
			return fa < fb
		}
		return store.FoldName(a.Name) < store.FoldName(b.Name)
	})
	if err := c.nameSessions(ctx, d.Kiosks, names); err != nil {
		return d, err
	}
	d.sum = fingerprintLive(d)
	return d, nil
}

// liveSitesCap is the most sites the capped live block links (the
// busiest); it says how many more there are. A hub of 5,000 sites with
// someone signed in at each would otherwise send 5,000 links every time
// a session starts or ends anywhere.
const liveSitesCap = 50

// liveAll is liveOf for an admin's view of every site, which lists
// liveCap kiosks in use and counts the others by site: it reads the
// counts of every site in one statement that returns a row per site
// (store.LiveOps.CountLiveSites), then the kiosks it lists and their
// sessions (ListLiveKiosks, from the sites that hold the first liveCap
// of them), never every kiosk or live session of the hub. The kiosks
// listed and the counts are those a read of them all gives; a session
// that starts or ends between the two reads is seen at the next poll.
func (c *Console) liveAll(ctx context.Context, names bool) (liveData, error) {
	var d liveData
	counts, err := c.st.CountLiveSites(ctx)
	if err != nil {
		return d, err
	}
	// The spellings of a site's name, folded as logins match sites; a
	// site is named as its first kiosk (by folded name) spells it.
	type siteCount struct {
		liveSite
		key, first string
	}
	bySite := map[string]*siteCount{}
	var sites []*siteCount
	for _, n := range counts {
		key, first := store.FoldName(n.Site), store.FoldName(n.First)
		s := bySite[key]
		if s == nil {
			s = &siteCount{liveSite: liveSite{Name: n.Site}, key: key, first: first}
			bySite[key] = s
			sites = append(sites, s)
		} else if first < s.first {
			s.Name, s.first = n.Site, first
		}
		s.Kiosks += n.Kiosks
		s.Sessions += n.Sessions
		d.InUse += n.Kiosks
		d.Sessions += n.Sessions
	}
	slices.SortFunc(sites, func(a, b *siteCount) int { return strings.Compare(a.key, b.key) })
	// The first liveCap kiosks in use are at the first sites holding
	// liveCap of them.
	var first []string
	for i, listed := 0, 0; i < len(sites) && listed < liveCap; i++ {
		first = append(first, sites[i].Name)
		listed += sites[i].Kiosks
	}
	kiosks, err := c.st.ListLiveKiosks(ctx, first, liveCap)
	if err != nil {
		return d, err
	}
	for _, lk := range kiosks {
		dv := lk.Device
		k := liveKiosk{Device: dv, Online: c.cfg.KioskOnline(dv.ID)}
		for _, s := range lk.Sessions {
			k.Sessions = append(k.Sessions, sessionRow{Session: s, Kiosk: dv.Name, Site: dv.Site})
		}
		if n := len(d.Kiosks); n == 0 || store.FoldName(d.Kiosks[n-1].Device.Site) != store.FoldName(dv.Site) {
			if s := bySite[store.FoldName(dv.Site)]; s != nil {
				s.Name = dv.Site // the site's first kiosk, exactly
			}
		}
		d.Kiosks = append(d.Kiosks, k)
	}
	if d.InUse > liveCap {
		d.Capped = true
		busiest := slices.Clone(sites)
		slices.SortStableFunc(busiest, func(a, b *siteCount) int {
			if a.Kiosks != b.Kiosks {
				return b.Kiosks - a.Kiosks
			}
			return b.Sessions - a.Sessions
		})
		if len(busiest) > liveSitesCap {
			d.MoreSites = len(busiest) - liveSitesCap
			busiest = busiest[:liveSitesCap]
		}
		// Listed as before, by name.
		slices.SortFunc(busiest, func(a, b *siteCount) int { return strings.Compare(a.key, b.key) })
		for _, s := range busiest {
			d.Sites = append(d.Sites, s.liveSite)
		}
	}
	if err := c.nameSessions(ctx, d.Kiosks, names); err != nil {
		return d, err
	}
	d.sum = fingerprintLive(d)
	return d, nil
}

// nameSessions fills in the userName of each session of the kiosks: with
// names, for the block, by userNames (a read per user, once each); without,
// for the stream's comparison, by one read of them all
// (store.LiveOps.LiveUserNames), so that a user renamed while signed in
// changes the fingerprint and open pages fetch the block again.
func (c *Console) nameSessions(ctx context.Context, kiosks []liveKiosk, names bool) error {
	if names {
		users := userNames{c: c}
		for _, k := range kiosks {
			for i := range k.Sessions {
				k.Sessions[i].User = users.name(ctx, k.Sessions[i].Session.UserID)
			}
		}
		return nil
	}
	var ids []string
	for _, k := range kiosks {
		for _, s := range k.Sessions {
			ids = append(ids, s.Session.UserID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	found, err := c.st.LiveUserNames(ctx, slices.Compact(ids))
	if err != nil {
		return err
	}
	for _, k := range kiosks {
		for i := range k.Sessions {
			// As userNames names a user it cannot read: by ID.
			n, ok := found[k.Sessions[i].Session.UserID]
			if !ok {
				n = k.Sessions[i].Session.UserID
			}
			k.Sessions[i].User = n
		}
	}
	return nil
}

// fingerprint identifies what a liveData shows: the live stream sends an
// update when it changes.
func (d liveData) fingerprint() [32]byte { return d.sum }

// fingerprintLive sums what the live block shows: each kiosk listed, its
// ID, version (a rename, a move, a disable) and whether it is online, and
// each of its sessions' ID, expiry (a shift extended changes the "until"
// shown) and user's name (a user renamed while signed in); the counts of
// sessions and kiosks in use, and the sites linked with theirs. A change
// at a kiosk an admin's capped block does not list shows, and is summed,
// only as a change of those counts.
func fingerprintLive(d liveData) [32]byte {
	h := sha256.New()
	for _, k := range d.Kiosks {
		fmt.Fprintf(h, "%s %d %t;", k.Device.ID, k.Device.Version, k.Online)
		for _, s := range k.Sessions {
			fmt.Fprintf(h, "%s %d %q,", s.Session.ID, s.Session.Expires.UnixNano(), s.User)
		}
	}
	fmt.Fprintf(h, "%d %d %t %d;", d.Sessions, d.InUse, d.Capped, d.MoreSites)
	for _, s := range d.Sites {
		fmt.Fprintf(h, "%q %d %d;", s.Name, s.Kiosks, s.Sessions)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

type grantRow struct {
	Grant store.Grant
	User  string
}

type siteData struct {
	Sites []string
	// Zones are Sites with the time zone typed times are read in, for the
	// grant and extension forms.
	Zones   []zoneHint
	Live    liveData
	Kiosks  []store.Device
	Roles   []string
	Grants  []grantRow
	Now     time.Time
	Default string // default end of a new grant, for the form
	// GrantKey is the grant form's key (grantFormKey), new on every load
	// of the page: the form sent twice makes one grant.
	GrantKey string
}

func (c *Console) sitePage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	d := siteData{Now: c.cfg.Now()}
	var err error
	if d.GrantKey, err = newGrantFormKey(); err != nil {
		return err
	}
	if d.Sites, err = c.visibleSites(ctx, v); err != nil {
		return err
	}
	if d.Zones, err = c.zoneHints(ctx, d.Sites); err != nil {
		return err
	}
	site, err := c.liveSite(ctx, r, v)
	if err != nil {
		return err
	}
	if d.Live, err = c.liveAt(ctx, v, site); err != nil {
		return err
	}
	devices, err := c.siteDevices(ctx, v)
	if err != nil {
		return err
	}
	for _, dv := range devices {
		if dv.State == store.DeviceActive {
			d.Kiosks = append(d.Kiosks, dv)
		}
	}
	if d.Roles, err = c.grantableRoles(ctx, v); err != nil {
		return err
	}
	grants, err := c.st.ListSiteGrants(ctx, d.Sites, d.Now)
	if err != nil {
		return err
	}
	users := userNames{c: c}
	for _, g := range grants {
		d.Grants = append(d.Grants, grantRow{Grant: g, User: users.name(ctx, g.UserID)})
	}
	title := "My sites"
	if v.admin() {
		title = "Sites"
	}
	c.render(w, r, http.StatusOK, "site", v, &page{Title: title, Nav: "site", Data: d})
	return nil
}

// siteLive renders only the live-sessions block, for the page script to
// swap in when the event stream says it changed.
func (c *Console) siteLive(w http.ResponseWriter, r *http.Request, v *viewer) error {
	site, err := c.liveSite(r.Context(), r, v)
	if err != nil {
		return err
	}
	d, err := c.liveAt(r.Context(), v, site)
	if err != nil {
		return err
	}
	c.renderTemplate(w, r, http.StatusOK, "site", "live", v, &page{Data: d})
	return nil
}

// siteEvents is a server-sent event stream that says "sessions" whenever
// the viewer's live sessions change. It re-checks the console session on
// every poll, and reads the live sessions with the account as it is then
// (sites taken away are no longer watched), so a sign-out, a timeout or a
// disabled account ends the stream ("signedout"). An account holds at most
// MaxLiveStreams streams: a newer one supersedes its oldest, which ends
// with "superseded".
func (c *Console) siteEvents(w http.ResponseWriter, r *http.Request, v *viewer) error {
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("Last-Event-ID") == supersededID {
		// The automatic reconnection of a superseded stream's
		// EventSource: 204 makes it stop.
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	// The one site the page shows, if any, checked once: a site taken
	// away later is no longer watched (liveOf shows only the viewer's
	// sites as they are at each poll).
	site, err := c.liveSite(r.Context(), r, v)
	if err != nil {
		return err
	}
	stream := c.streams.add(v.account.ID)
	defer c.streams.remove(v.account.ID, stream)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}
	ctx := r.Context()
	var last [32]byte
	first := true
	tick := time.NewTicker(c.cfg.LivePoll)
	defer tick.Stop()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		cur, err := c.viewer(ctx, r, false)
		if errors.Is(err, errNoSession) {
			fmt.Fprint(w, "event: signedout\ndata: {}\n\n")
			rc.Flush()
			return nil
		}
		if err != nil {
			if ctx.Err() == nil {
				c.cfg.Logger.Error("console: live stream session", "err", err)
			}
			return nil
		}
		v = cur
		d, err := c.liveOf(ctx, v, site, false)
		if err != nil {
			if ctx.Err() == nil {
				c.cfg.Logger.Error("console: live sessions", "err", err)
			}
			return nil
		}
		if fp := d.fingerprint(); first || fp != last {
			if _, err := fmt.Fprintf(w, "event: sessions\ndata: %d\n\n", d.Sessions); err != nil {
				return nil
			}
			if rc.Flush() != nil {
				return nil
			}
			last, first = fp, false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.done:
			return nil
		case <-stream.superseded:
			fmt.Fprint(w, "id: "+supersededID+"\nevent: superseded\ndata: {}\n\n")
			rc.Flush()
			return nil
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		case <-tick.C:
		}
	}
}

type siteUserData struct {
	User     store.User
	Sites    []string // the worker's sites the viewer may see
	Roles    []string
	Sessions []sessionRow
	Grants   []store.Grant
	Now      time.Time
}

// siteUserPage shows a worker of the viewer's sites. An admin sees all of
// it; a supervisor only what concerns its own sites: those of the
// worker's sites, the worker's roles (groups) that count there (see
// roleVisible), and the live sessions and grants there.
func (c *Console) siteUserPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	u, err := c.scopedUser(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := siteUserData{User: u, Now: c.cfg.Now()}
	for _, s := range u.Sites {
		if v.allows(s) {
			d.Sites = append(d.Sites, s)
		}
	}
	groups, _, err := c.st.ListGroups(ctx, store.GroupQuery{MemberID: u.ID, WithoutMembers: true})
	if err != nil {
		return err
	}
	for _, g := range groups {
		if c.roleVisible(v, u, g.DisplayName, "") {
			d.Roles = append(d.Roles, g.DisplayName)
		}
	}
	sessions, err := c.st.ListSessions(ctx, store.SessionQuery{UserID: u.ID, LiveOnly: true})
	if err != nil {
		return err
	}
	for _, s := range sessions {
		dv, err := c.st.GetDevice(ctx, s.DeviceID)
		if err != nil || !v.allows(dv.Site) {
			continue
		}
		d.Sessions = append(d.Sessions, sessionRow{Session: s, Kiosk: dv.Name, Site: dv.Site, User: u.UserName})
	}
	grants, err := c.st.ListGrants(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, g := range grants {
		if v.allows(g.Site) {
			d.Grants = append(d.Grants, g)
		}
	}
	c.render(w, r, http.StatusOK, "siteuser", v, &page{Title: u.UserName, Nav: "site", Data: d})
	return nil
}

// roleVisible reports whether the viewer may see that worker u holds role,
// through a grant at site or, when site is "", through a group. Admins see
// every role. A grant is bound to its site. A group role holds at each of
// the worker's sites, except that a rule naming Sites limits it to those
// (policy.RoleRule.Sites): a supervisor sees it when it counts at one of
// the worker's sites that the supervisor supervises.
func (c *Console) roleVisible(v *viewer, u store.User, role, site string) bool {
	if v.admin() {
		return true
	}
	if site != "" {
		return v.allows(site)
	}
	only := c.cfg.Engine.Rules().Rule(role).Sites
	return slices.ContainsFunc(u.Sites, func(s string) bool {
		return v.allows(s) && (len(only) == 0 || slices.ContainsFunc(only, func(o string) bool { return strings.EqualFold(o, s) }))
	})
}

func (c *Console) siteSessionSignout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s, _, err := c.scopedSession(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	// Ended already (by another supervisor, another tab, a double
	// submit, or the worker): nothing is done again, and the page the
	// form came from says so instead of an error page.
	if !s.Ended.IsZero() {
		return done(w, r, c.backTo(r.Context(), r, v), "session-unchanged")
	}
	if _, err := c.cfg.Engine.EndSessionForced(r.Context(), v.actor(), s.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return done(w, r, c.backTo(r.Context(), r, v), "session-unchanged")
		}
		return err
	}
	return done(w, r, c.backTo(r.Context(), r, v), "session-ended")
}

func (c *Console) siteDeviceSignout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d, err := c.scopedDevice(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := c.cfg.Engine.SignOutDevice(r.Context(), v.actor(), d.ID); err != nil {
		return err
	}
	return done(w, r, c.backTo(r.Context(), r, v), "kiosk-cleared")
}

// siteDevices lists the kiosks of the viewer's sites: for a supervisor
// read by site (store.LiveOps), not from every kiosk of the hub.
func (c *Console) siteDevices(ctx context.Context, v *viewer) ([]store.Device, error) {
	if v.admin() {
		return c.visibleDevices(ctx, v)
	}
	devices, err := c.st.ListSiteDevices(ctx, v.account.Sites)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(devices, func(d store.Device) bool { return !v.allows(d.Site) }), nil
}

// backTo is where an action of the live block returns: the page the form
// names when it is the dashboard, the site page, or the site page's view
// of one site (?site=) the viewer may see, else the site page. A
// supervisor of many sites who signs someone out in one site's view stays
// in it. The URL returned is built here, the site query-escaped ("A&E"),
// never the form's text: the form cannot send the browser elsewhere.
func (c *Console) backTo(ctx context.Context, r *http.Request, v *viewer) string {
	b := r.PostForm.Get("back")
	if b == "/console/dashboard" || b == "/console/site/" {
		return b
	}
	if u, err := url.Parse(b); err == nil && u.Scheme == "" && u.Host == "" && u.Opaque == "" && u.Path == "/console/site/" {
		if q, err := url.ParseQuery(u.RawQuery); err == nil && len(q["site"]) == 1 && strings.TrimSpace(q.Get("site")) != "" {
			if site, err := c.viewSite(ctx, v, q.Get("site")); err == nil {
				return "/console/site/?site=" + url.QueryEscape(site)
			}
		}
	}
	return "/console/site/"
}

// siteEnroll arms a badge enrollment for a worker of the viewer's sites at
// a kiosk of the viewer's sites: the worker's next tap there registers,
// if, for a supervisor, the worker is still at one of its sites and holds
// no privileged role as the transaction that stores the credential reads
// them (enrollScopeIn).
func (c *Console) siteEnroll(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := fields(r, "user", "device")
	if err != nil {
		return err
	}
	d, err := c.scopedDevice(r.Context(), v, f[1])
	if err != nil {
		return err
	}
	if d.State != store.DeviceActive {
		return badRequest("the kiosk is disabled")
	}
	u, err := c.scopedUserByName(r.Context(), v, f[0])
	if err != nil {
		return err
	}
	if !v.admin() {
		// A badge enrolled here signs in as the worker, with every role
		// the worker holds: a supervisor enrolling one for a holder of a
		// privileged role would get the powers it cannot grant. Asked
		// here for a clear answer at once, and again at the tap
		// (enrollScopeIn).
		if err := c.refusePrivileged(r.Context(), v, u, "enroll a badge for"); err != nil {
			return err
		}
	}
	if err := c.cfg.ArmEnrollment(r.Context(), v.actor(), u.UserName, d.Name, c.enrollScopeIn(v, f[0])); err != nil {
		return err
	}
	return done(w, r, "/console/site/", "enrollment-armed")
}

// enrollScopeIn is siteEnroll's rule for viewer v enrolling a badge for
// the worker the form named name, decided again, at the tap, from what
// the transaction that stores the credential reads (Config.ArmEnrollment's
// may): the worker still at one of a supervisor's sites (workerScopeIn)
// and holding no privileged role, through a group or a grant not yet
// ended (refusePrivileged's rule and 403). An armed enrollment waits up
// to 5 minutes for the tap: a worker given a privileged role in between,
// by the identity provider or an admin, would otherwise get a badge from
// a supervisor, which signs in with powers the supervisor cannot grant.
// Admins enroll every worker (nil: no check).
func (c *Console) enrollScopeIn(v *viewer, name string) func(ctx context.Context, tx store.Ops, u store.User) error {
	scope := workerScopeIn(v, name)
	if scope == nil {
		return nil
	}
	return func(ctx context.Context, tx store.Ops, u store.User) error {
		if err := scope(ctx, tx, u); err != nil {
			return err
		}
		return c.refusePrivilegedIn(ctx, tx, v, u, "enroll a badge for")
	}
}

// grantableRoles are the roles the viewer may grant: every role (group)
// for admins; for supervisors the roles the policy does not mark
// privileged, so a supervisor cannot hand out supervisor powers.
func (c *Console) grantableRoles(ctx context.Context, v *viewer) ([]string, error) {
	groups, _, err := c.st.ListGroups(ctx, store.GroupQuery{WithoutMembers: true})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range groups {
		if v.admin() || !c.privileged(g.DisplayName) {
			out = append(out, g.DisplayName)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (c *Console) privileged(role string) bool {
	return c.cfg.Engine.Rules().Rule(role).Privileged
}

// privilegedRoleOf returns a role the policy marks privileged that u holds,
// through a group (site "") or a grant that has not ended (its site), or
// "" if none. It looks at every site: a badge works at all of the
// worker's sites; a shift extension counts at one site only, but the
// console leaves a privileged worker's extension to an admin just the
// same. It reads u's groups and grants through ops: the store, or a
// transaction's for a rule decided from what that transaction reads
// (enrollScopeIn).
func (c *Console) privilegedRoleOf(ctx context.Context, ops store.Ops, u store.User) (role, site string, err error) {
	groups, _, err := ops.ListGroups(ctx, store.GroupQuery{MemberID: u.ID, WithoutMembers: true})
	if err != nil {
		return "", "", err
	}
	for _, g := range groups {
		if c.privileged(g.DisplayName) {
			return g.DisplayName, "", nil
		}
	}
	grants, err := ops.ListGrants(ctx, u.ID)
	if err != nil {
		return "", "", err
	}
	now := c.cfg.Now()
	for _, g := range grants {
		if (g.Revoked.IsZero() || g.Revoked.After(now)) && g.End.After(now) && c.privileged(g.Role) {
			return g.Role, g.Site, nil
		}
	}
	return "", "", nil
}

// refusePrivileged is the 403 for a supervisor about to do what for u (a
// privileged role holder; see privilegedRoleOf): only an admin may. It
// names the role only when the supervisor may see it (roleVisible).
func (c *Console) refusePrivileged(ctx context.Context, v *viewer, u store.User, what string) error {
	return c.refusePrivilegedIn(ctx, c.st, v, u, what)
}

// refusePrivilegedIn is refusePrivileged with u's roles read through ops
// (privilegedRoleOf).
func (c *Console) refusePrivilegedIn(ctx context.Context, ops store.Ops, v *viewer, u store.User, what string) error {
	role, site, err := c.privilegedRoleOf(ctx, ops, u)
	if err != nil || role == "" {
		return err
	}
	holds := "a privileged role"
	if c.roleVisible(v, u, role, site) {
		holds = "the privileged role " + role
	}
	return &statusError{http.StatusForbidden, "supervisors cannot " + what + " " + u.UserName + ", who holds " + holds + ": ask an admin"}
}

// siteGrant gives a worker of the viewer's sites a role at one of the
// viewer's sites until a time, with a reason. Nobody grants themselves
// access: the viewer's hub user (selfUserID), read inside the grant's
// transaction (sessionSelfIn), is refused with 403, as is an account
// disabled while the request was made, and, for a supervisor, a worker
// no longer at any of its sites as that transaction reads them
// (workerScopeIn).
func (c *Console) siteGrant(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	f, err := fields(r, "user", "role", "site", "until", "reason", "once")
	if err != nil {
		return err
	}
	once, err := grantFormKey(v, f[5], f[:5])
	if err != nil {
		return err
	}
	site, err := c.scopedSite(ctx, v, f[2])
	if err != nil {
		return err
	}
	u, err := c.scopedUserByName(ctx, v, f[0])
	if err != nil {
		return err
	}
	roles, err := c.grantableRoles(ctx, v)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(roles, func(s string) bool { return strings.EqualFold(s, f[1]) })
	if i < 0 {
		if !v.admin() && c.privileged(f[1]) {
			return &statusError{http.StatusForbidden, "supervisors cannot grant the privileged role " + f[1]}
		}
		return badRequest("choose one of the roles offered")
	}
	end, err := ParseTime(f[3], c.cfg.Now(), c.siteZone(ctx, site))
	if err != nil {
		return badRequest("until: " + err.Error())
	}
	want := store.Grant{UserID: u.ID, Role: roles[i], Site: site, Reason: f[4], End: end}
	var (
		made     store.Grant
		replayed bool
	)
	if once == nil {
		_, err = c.cfg.Engine.GrantAccessIf(ctx, v.actor(), sessionSelfIn(v.account.ID), workerScopeIn(v, f[0]), want)
	} else {
		// The key is looked up inside the grant's transaction: the
		// second of two requests racing gets the first one's grant.
		made, replayed, err = c.cfg.Engine.GrantAccessOnce(ctx, v.actor(), scopedSelfIn(sessionSelfIn(v.account.ID), workerScopeIn(v, f[0]), u.ID), *once, want)
	}
	if err != nil {
		if errors.Is(err, lifecycle.ErrSelfGrant) {
			who := "an admin"
			if v.admin() {
				who = "another admin"
			}
			return &statusError{http.StatusForbidden, "you cannot grant yourself access: ask " + who}
		}
		if errors.Is(err, lifecycle.ErrKeyReused) {
			return errGrantFormReused
		}
		return err
	}
	switch {
	case replayed && (!made.Revoked.IsZero() || !made.End.After(c.cfg.Now())):
		// The form's grant was revoked or has run out since (a page
		// left open, sent again later): "access granted" would be
		// false, and the key keeps a second grant from being made.
		return done(w, r, "/console/site/", "grant-replayed-over")
	case replayed:
		return done(w, r, "/console/site/", "grant-repeated")
	}
	return done(w, r, "/console/site/", "grant-created")
}

// grantFormKeyBytes is the size of the random key each grant form
// carries (siteData.GrantKey): 128 bits.
const grantFormKeyBytes = 16

// newGrantFormKey returns a new key for a grant form: the idempotency key
// (lifecycle.GrantRequest) of the grant that form makes.
func newGrantFormKey() (string, error) {
	b := make([]byte, grantFormKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random grant form key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// errGrantFormReused refuses a grant form whose key made a grant already
// with other values: a page sent again after it was changed (one restored
// by the browser's Back button, say). Neither grant would be the right
// answer, and a new page has a new key.
var errGrantFormReused = &statusError{http.StatusConflict,
	"this grant form was sent before with other values, and made that grant: reload the page to make another grant"}

// grantFormKey reads the optional key of a grant form (the page's "once"
// field, siteData.GrantKey) as the idempotency key of the grant it
// makes: the same form sent again by the same account (a double click,
// the form sent again when its answer did not arrive, two requests
// racing) gets the grant the first made instead of a second one, which
// revoking the first would leave giving the access. Without the field (a
// script, an older page) every request is a grant of its own. fs are the
// form's values, whose fingerprint tells a form sent again from one
// changed since.
func grantFormKey(v *viewer, key string, fs []string) (*lifecycle.GrantRequest, error) {
	if key == "" {
		return nil, nil
	}
	if err := checkFormKey(key); err != nil {
		return nil, err
	}
	h := sha256.New()
	for _, f := range fs {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return &lifecycle.GrantRequest{Caller: v.actor().Name, Key: key, Fingerprint: h.Sum(nil)}, nil
}

// checkFormKey refuses a form's key (the "once" field of the grant and
// campaign forms) that is not one newGrantFormKey could have made, give
// or take its size: it becomes part of a stored key. A ':' is refused
// too, though printable: newGrantFormKey's alphabet (base64url) has none,
// and a secret form's key is stored under a prefix ending in one
// ("token-form:KEY", secretFormKey), so a hand-made grant form key
// holding one could be taken for that secret form's key.
func checkFormKey(key string) error {
	if len(key) > 255 || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e || r == ':' }) {
		return badRequest("the form's key is not one this console made: reload the page and try again")
	}
	return nil
}

// scopedSelfIn is self with scope (nil: none) asked about the user
// userID as the grant's transaction reads it, for GrantAccessOnce, which
// takes no lifecycle.MayGrant: the same checks, in the same order, as
// GrantAccessIf makes with self and scope.
func scopedSelfIn(self lifecycle.Self, scope lifecycle.MayGrant, userID string) lifecycle.Self {
	if scope == nil {
		return self
	}
	return func(ctx context.Context, tx store.Ops) ([]string, error) {
		ids, err := self(ctx, tx)
		if err != nil {
			return nil, err
		}
		if slices.Contains(ids, userID) {
			// The engine refuses the self-grant with ErrSelfGrant.
			return ids, nil
		}
		u, err := tx.GetUser(ctx, userID)
		if err != nil {
			return nil, err
		}
		if err := scope(ctx, tx, u); err != nil {
			return nil, err
		}
		return ids, nil
	}
}

// siteExtend extends the shift of a worker of the viewer's sites at one of
// the viewer's sites until a time, with a reason (a supervisor covering a
// late handover): policy counts it as shift time on that site's kiosks
// only, the worker's live sessions there get the later end at once, and
// the extension is audited with the site and the supervisor as approver.
// Nobody extends their own shift: the viewer's hub user, read inside the
// extension's transaction (sessionSelfIn), is refused with 403, as is an
// account disabled while the request was made.
func (c *Console) siteExtend(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	f, err := fields(r, "user", "site", "until", "reason")
	if err != nil {
		return err
	}
	u, err := c.scopedUserByName(ctx, v, f[0])
	if err != nil {
		return err
	}
	site, err := c.extensionSite(ctx, v, u, f[1])
	if err != nil {
		return err
	}
	// Nobody approves their own extension: more time at the kiosk is
	// access, as a grant is (siteGrant). Checked here so that the viewer
	// hears it before any other refusal, and again, authoritatively,
	// inside the extension's transaction (ExtendShiftAs): the account may
	// be linked to u in between.
	errOwnShift := &statusError{http.StatusForbidden, "you cannot extend your own shift: ask another supervisor or an admin"}
	if ownUser(v.account, u) {
		return errOwnShift
	}
	if !v.admin() {
		// An extension lengthens the worker's access at the site with
		// every role it holds there: supervisors do not lengthen
		// privileged access, as they cannot grant it. A privileged role
		// held anywhere makes it an admin's decision.
		if err := c.refusePrivileged(ctx, v, u, "extend the shift of"); err != nil {
			return err
		}
	}
	// A typed time is read in the zone of the site.
	until, err := ParseTime(f[2], c.cfg.Now(), c.siteZone(ctx, site))
	if err != nil {
		return badRequest("until: " + err.Error())
	}
	if _, _, err := c.cfg.Engine.ExtendShiftAs(ctx, v.actor(), sessionSelfIn(v.account.ID), u.ID, site, until, f[3]); err != nil {
		if errors.Is(err, lifecycle.ErrSelfGrant) {
			return errOwnShift
		}
		return err
	}
	return done(w, r, "/console/site/", "shift-extended")
}

// extensionSite is the site a shift extension of u from the form counts
// at: the site named, which the viewer must be allowed to act on (403
// otherwise, whether or not u works there; the engine refuses a site that
// is not u's with 400); with none named, the one site of u's the viewer may
// act on, if there is exactly one.
func (c *Console) extensionSite(ctx context.Context, v *viewer, u store.User, site string) (string, error) {
	if site != "" {
		return c.scopedSite(ctx, v, site)
	}
	var mine []string
	for _, s := range u.Sites {
		if v.allows(s) {
			mine = append(mine, s)
		}
	}
	switch len(mine) {
	case 0:
		return "", badRequest("choose the site where the extension counts: " + u.UserName + " has no site you may act on")
	case 1:
		return mine[0], nil
	}
	// Quoted where need be: "north, south" is one site, not two.
	return "", badRequest("choose the site where the extension counts: " + u.UserName + " works at " + governance.JoinNames(mine))
}

// siteZone is the time zone times typed for a site are read in: the
// site's registered zone, else UTC.
func (c *Console) siteZone(ctx context.Context, site string) *time.Location {
	if s, err := c.st.GetSiteByName(ctx, site); err == nil && s.TimeZone != "" {
		if loc, err := time.LoadLocation(s.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (c *Console) siteGrantRevoke(w http.ResponseWriter, r *http.Request, v *viewer) error {
	g, err := c.scopedGrant(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := c.cfg.Engine.RevokeGrant(r.Context(), v.actor(), g.ID, "revoked by "+v.actor().Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			// Revoked or over already (another tab, a double submit):
			// nothing is done again, and the site page says so.
			return done(w, r, "/console/site/", "grant-unchanged")
		}
		return err
	}
	return done(w, r, "/console/site/", "grant-revoked")
}
