package console

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// checkListedSites refuses a site a role's form newly names (one not in
// the policy in force, old) that reads as the comma-separated list the
// form's sites field took before it took one site per line: its name holds
// a comma, no kiosk or registered site bears it, and each of its parts
// does. An admin used to that field who types "north, east" means two
// sites; saved as the one site "north, east", which exists nowhere, the
// role would count at no site at all and its holders' sessions would end,
// with the page saying only that the policy was saved. A name the policy
// already holds, or one of a site the hub knows, is taken as typed: SCIM
// allows commas in a site's name.
func (c *Console) checkListedSites(ctx context.Context, old policy.Rules, rules policy.Rules) error {
	had := map[string]bool{}
	for _, rr := range allRules(old) {
		for _, s := range rr.Sites {
			had[store.FoldName(s)] = true
		}
	}
	for _, rr := range allRules(rules) {
		for _, s := range rr.Sites {
			if !strings.Contains(s, ",") || had[store.FoldName(s)] {
				continue
			}
			known, err := c.siteKnown(ctx, s)
			if err != nil {
				return err
			}
			if known {
				// A name, not a list; the lines after it are
				// checked all the same.
				continue
			}
			var parts []string
			for p := range strings.SplitSeq(s, ",") {
				if p = strings.TrimSpace(p); p != "" {
					parts = append(parts, p)
				}
			}
			all := len(parts) > 1
			for _, p := range parts {
				if !all {
					break
				}
				if all, err = c.siteKnown(ctx, p); err != nil {
					return err
				}
			}
			if all {
				return badRequest(fmt.Sprintf("the site %s holds a comma, and no kiosk or registered site is named so, but %s are: a site's name is one line of the field, commas and all, so put each site on a line of its own",
					governance.NameText(s), governance.JoinNames(parts)))
			}
		}
	}
	return nil
}

// allRules returns the rule for other roles and every role's rule.
func allRules(r policy.Rules) []policy.RoleRule {
	out := []policy.RoleRule{r.Other}
	for _, rr := range r.Roles {
		out = append(out, rr)
	}
	return out
}

// siteKnown reports whether site (compared as logins compare it) is a
// registered site or the site of an enrolled kiosk.
func (c *Console) siteKnown(ctx context.Context, site string) (bool, error) {
	_, err := c.st.GetSiteByName(ctx, site)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	ds, err := c.st.ListDevices(ctx, site)
	return len(ds) > 0, err
}
