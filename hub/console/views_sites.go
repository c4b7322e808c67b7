package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// The admins' "Site time zones" page: the registered sites with their
// time zones, the kiosks' sites the hub has no record of (their dates and
// typed times are read in UTC), and a form that registers a site or
// changes its zone through Engine.PutSite, as PUT /api/v1/sites/{name}
// does: users with calendar-day dates are redated and live sessions at
// the site's kiosks decided again, in one audited step.

// siteRow is one site on the page.
type siteRow struct {
	Name       string
	TimeZone   string // as registered; "" is UTC
	Created    time.Time
	Registered bool
}

type sitesData struct {
	Sites []siteRow
	// Name and TimeZone refill the form after a refused change.
	Name, TimeZone string
	Error          string
}

func (c *Console) sitesPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return c.renderSites(w, r, v, http.StatusOK, sitesData{}, "")
}

// renderSites renders the page with d's form values and error, and ok as
// its confirmation.
func (c *Console) renderSites(w http.ResponseWriter, r *http.Request, v *viewer, code int, d sitesData, ok string) error {
	var err error
	if d.Sites, err = c.siteRows(r.Context()); err != nil {
		return err
	}
	c.render(w, r, code, "sites", v, &page{Title: "Site time zones", Nav: "sites", Data: d, OK: ok})
	return nil
}

// siteRows lists the registered sites and, after them, the sites of
// kiosks that have none, each group by name. Users' sites without a
// record are not looked for: that would read every user. The kiosks'
// sites are read a spelling at a time (ListDeviceSites), not a row per
// kiosk, in the order a loop over every kiosk meets them, so that the
// spelling shown of a name spelt in several cases is still the first
// kiosk's.
func (c *Console) siteRows(ctx context.Context) ([]siteRow, error) {
	sites, err := c.st.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	spellings, err := c.st.ListDeviceSites(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var reg, unreg []siteRow
	for _, s := range sites {
		seen[strings.ToLower(s.Name)] = true
		reg = append(reg, siteRow{Name: s.Name, TimeZone: s.TimeZone, Created: s.Created, Registered: true})
	}
	for _, site := range spellings {
		if k := strings.ToLower(site); site != "" && !seen[k] {
			seen[k] = true
			unreg = append(unreg, siteRow{Name: site})
		}
	}
	for _, rows := range [][]siteRow{reg, unreg} {
		sort.Slice(rows, func(i, j int) bool { return strings.ToLower(rows[i].Name) < strings.ToLower(rows[j].Name) })
	}
	return append(reg, unreg...), nil
}

// sitePut registers the site named in the form with the form's time zone,
// or changes the zone of the registered site of that name, and shows
// what moved. A zone that is not an IANA name shows the page again with
// the engine's message and 400.
func (c *Console) sitePut(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := fields(r, "name", "time_zone")
	if err != nil {
		return err
	}
	d := sitesData{Name: f[0], TimeZone: f[1]}
	// Only a new name is held to store.Hidden: a site registered before
	// the rule refused a character its name holds (a variation selector)
	// keeps its name, and its time zone can still be changed.
	hidden := strings.ContainsFunc(d.Name, store.Hidden)
	if hidden {
		switch _, err := c.st.GetSiteByName(r.Context(), strings.TrimSpace(d.Name)); {
		case err == nil:
			hidden = false
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	problem := ""
	switch {
	case d.Name == "":
		problem = "give the site's name"
	case hidden:
		problem = "the site name has a control character or an invisible formatting character"
	case d.TimeZone == "":
		// Not UTC by default, as in the API: an empty field must not
		// move every date.
		problem = "give the site's time zone: an IANA name such as Europe/Berlin or America/Los_Angeles (UTC for UTC)"
	}
	if problem != "" {
		d.Error = problem
		return c.renderSites(w, r, v, http.StatusBadRequest, d, "")
	}
	ch, err := c.cfg.Engine.PutSite(r.Context(), v.actor(), lifecycle.SiteZone{Name: d.Name, TimeZone: d.TimeZone})
	if errors.Is(err, lifecycle.ErrInvalid) && !wantsJSON(r) {
		_, d.Error = status(err)
		return c.renderSites(w, r, v, http.StatusBadRequest, d, "")
	}
	if err != nil {
		return err
	}
	return c.renderSites(w, r, v, http.StatusOK, sitesData{}, siteChangeText(ch))
}

// siteChangeText is the confirmation of a site change: what it did to the
// site and what moved.
func siteChangeText(ch lifecycle.SiteChange) string {
	zone := func(z string) string {
		if z == "" {
			return "UTC"
		}
		return z
	}
	if ch.Unchanged() {
		return fmt.Sprintf("Nothing changed: site %s already reads times in %s.", ch.Site.Name, zone(ch.Site.TimeZone))
	}
	what := fmt.Sprintf("Site %s now reads times in %s (it was %s).", ch.Site.Name, zone(ch.Site.TimeZone), zone(ch.Before))
	if ch.Created {
		what = fmt.Sprintf("Site %s registered: it reads times in %s (until now UTC).", ch.Site.Name, zone(ch.Site.TimeZone))
	}
	moved := fmt.Sprintf(" %s redated; %s ended", count(len(ch.UsersRedated), "user", "users"), count(len(ch.SessionsEnded), "live session", "live sessions"))
	if len(ch.SessionsEnded) > 0 {
		moved += ", and their kiosks have been told"
	}
	return what + moved + "."
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// zoneHint is a site as the supervisor's forms name it, with the zone a
// time typed for it is read in (siteZone).
type zoneHint struct {
	Name, Zone string
	Registered bool
}

// zoneHints returns, for each of sites, the zone siteZone reads typed
// times in, from one read of the registered sites.
func (c *Console) zoneHints(ctx context.Context, sites []string) ([]zoneHint, error) {
	registered, err := c.st.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	zones := map[string]string{}
	for _, s := range registered {
		zones[strings.ToLower(s.Name)] = s.TimeZone
	}
	out := make([]zoneHint, len(sites))
	for i, s := range sites {
		zone, ok := zones[strings.ToLower(s)]
		loc := time.UTC
		if ok && zone != "" {
			if l, err := time.LoadLocation(zone); err == nil {
				loc = l
			}
		}
		out[i] = zoneHint{Name: s, Zone: loc.String(), Registered: ok}
	}
	return out, nil
}
