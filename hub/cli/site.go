package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// site is `shiftgate-hub site set|list`: the sites and the time zones
// users' calendar-day start and end dates are read in.
func (e env) site(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: site needs set or list", errUsage)
	}
	switch args[0] {
	case "set":
		fs := e.flags("site set")
		data := fs.String("data", "", "hub data directory")
		name := fs.String("name", "", "site name, as users' sites and kiosks name it (compared case-insensitively)")
		zone := fs.String("time-zone", "", "the site's IANA time zone, e.g. Europe/Berlin or America/Los_Angeles")
		if err := parse(fs, args[1:], "data", "name", "time-zone"); err != nil {
			return err
		}
		if strings.TrimSpace(*zone) == "" {
			// Not UTC by default: say so with --time-zone UTC.
			return fmt.Errorf("%w: site set: --time-zone is blank: give the site's IANA time zone, such as Europe/Berlin (UTC for UTC)", errUsage)
		}
		// Checked before the hub is opened (lifecycle.PutSite checks them
		// again, with it open): a mistake changes nothing in --data.
		if strings.TrimSpace(*name) == "" {
			return fmt.Errorf("%w: site set: --name is blank: give the site's name", errUsage)
		}
		if err := lifecycle.CheckZone(strings.TrimSpace(*zone)); err != nil {
			return fmt.Errorf("%w: --time-zone: %s", errUsage, invalidText(err))
		}
		ch, err := setSite(ctx, *data, *name, *zone)
		switch {
		case errors.Is(err, lifecycle.ErrEndsSessions):
			return fmt.Errorf("%w; nothing was changed: make the change on the running hub, which signs the kiosks out: PUT /api/v1/sites/%s {\"timeZone\": %q}",
				err, url.PathEscape(strings.TrimSpace(*name)), strings.TrimSpace(*zone))
		case err != nil:
			return usageErr(err)
		}
		fmt.Fprintln(e.stdout, describeSiteChange(ch))
		return nil
	case "list":
		fs := e.flags("site list")
		data := fs.String("data", "", "hub data directory")
		if err := parse(fs, args[1:], "data"); err != nil {
			return err
		}
		return e.readHub(ctx, *data, func(st *sqlite.ReadOnly, e env) error {
			sites, err := st.ListSites(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTIME ZONE\tREGISTERED")
			for _, s := range sites {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", shown(s.Name), shown(zoneName(s.TimeZone)), stamp(s.Created))
			}
			return tw.Flush()
		})
	}
	return fmt.Errorf("%w: unknown site command %q", errUsage, args[0])
}

// setSite registers the site or changes its time zone, offline: a change
// that would end live kiosk sessions is refused (lifecycle.SiteZone), as
// only the running hub can tell the kiosks.
func setSite(ctx context.Context, dir, name, zone string) (lifecycle.SiteChange, error) {
	var ch lifecycle.SiteChange
	err := withAudit(ctx, dir, func(st store.Store, log *audit.Log) error {
		rules, err := storedRules(ctx, st)
		if err != nil {
			return err
		}
		eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now, Rules: rules})
		if err != nil {
			return err
		}
		ch, err = eng.PutSite(ctx, cliActor, lifecycle.SiteZone{Name: name, TimeZone: zone, Offline: true})
		return err
	})
	return ch, err
}

// describeSiteChange says what a change of a site did, in one line.
func describeSiteChange(ch lifecycle.SiteChange) string {
	zone := zoneName(ch.Site.TimeZone)
	if ch.Unchanged() {
		return fmt.Sprintf("site %s: time zone %s already; nothing changed", ch.Site.Name, zone)
	}
	moved := fmt.Sprintf("%d users' dates moved", len(ch.UsersRedated))
	if len(ch.UsersRedated) == 1 {
		moved = "1 user's dates moved"
	}
	if ch.Created {
		return fmt.Sprintf("site %s registered: time zone %s (%s)", ch.Site.Name, zone, moved)
	}
	return fmt.Sprintf("site %s: time zone %s, was %s (%s)", ch.Site.Name, zone, zoneName(ch.Before), moved)
}

// zoneName shows a stored time zone: empty is UTC.
func zoneName(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}
