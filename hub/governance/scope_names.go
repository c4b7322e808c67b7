package governance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shiftgate/shiftgate/hub/store"
)

// scopeUsersBatch is how many users checkScopeNames reads at a time when
// it looks for a site among the sites of users' records.
const scopeUsersBatch = 500

// hiddenScopeName is how a refused scope name's problem is told.
const hiddenScopeName = "has a control character or an invisible formatting character (such as a zero-width space, a right-to-left override or a variation selector)"

// checkScopeNames refuses (ErrInvalid) a site or role of a campaign's
// scope that holds a character that does not show as itself
// (store.Hidden), unless the hub holds a name spelled exactly so. A scope
// matches names without case, so "north" followed by a zero-width space
// matches no site north: the campaign would review nothing, yet read as
// a campaign over north in the console, in the audit trail and in the
// evidence export. A name the hub stored before its rules refused such
// characters (SCIM's sites and groups, PUT /sites, the policy) keeps
// working there until it is renamed, and so stays reviewable: the
// exception is a site registered (a time zone), of an enrolled kiosk, or
// listed by a user's record, and a role that is a group's displayName or
// a role of the policy, each exactly as stored.
//
// It reads the store only for a name with such a character, which a
// request rarely has, and outside the campaign's transaction: a name
// renamed in between leaves a campaign that reviews nothing, as a scope
// naming no site does.
func (s *Service) checkScopeNames(ctx context.Context, sc store.ReviewScope) error {
	for _, site := range sc.Sites {
		if !strings.ContainsFunc(site, store.Hidden) {
			continue
		}
		ok, err := s.storedSite(ctx, site)
		if err != nil {
			return err
		}
		if !ok {
			return invalid("scope site %s %s, and no site is stored under that name: a campaign scoped to it would review nothing, yet read as the site it looks like; give the site's name without it",
				quoteHidden(clipQuote(site)), hiddenScopeName)
		}
	}
	for _, role := range sc.Roles {
		if !strings.ContainsFunc(role, store.Hidden) {
			continue
		}
		ok, err := s.storedRole(ctx, role)
		if err != nil {
			return err
		}
		if !ok {
			return invalid("scope role %s %s, and no group or policy role is stored under that name: a campaign scoped to it would review nothing, yet read as the role it looks like; give the role's name without it",
				quoteHidden(clipQuote(role)), hiddenScopeName)
		}
	}
	return nil
}

// storedSite reports whether the hub holds a site named exactly name: a
// registered site, the site of an enrolled kiosk, or a site of a user's
// record that is not deleted.
func (s *Service) storedSite(ctx context.Context, name string) (bool, error) {
	st := s.cfg.Store
	switch site, err := st.GetSiteByName(ctx, name); {
	case err == nil && site.Name == name:
		return true, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	ds, err := st.ListDevices(ctx, name)
	if err != nil {
		return false, err
	}
	for _, d := range ds {
		if d.Site == name {
			return true, nil
		}
	}
	// Users' sites are read in batches after the last user read, as
	// every scan of all users is (store.UserQuery.After).
	var after store.ListKey
	for {
		us, _, err := st.ListUsers(ctx, store.UserQuery{After: after, Limit: scopeUsersBatch, NoTotal: true})
		if err != nil {
			return false, err
		}
		for _, u := range us {
			for _, site := range u.Sites {
				if site == name {
					return true, nil
				}
			}
		}
		if len(us) < scopeUsersBatch {
			return false, nil
		}
		last := us[len(us)-1]
		after = store.ListKey{Created: last.Created, ID: last.ID}
	}
}

// storedRole reports whether the hub holds a role named exactly name: a
// group's displayName (groups map to roles by it) or a role of the
// policy.
func (s *Service) storedRole(ctx context.Context, name string) (bool, error) {
	if _, ok := s.cfg.Rules().Roles[name]; ok {
		return true, nil
	}
	gs, _, err := s.cfg.Store.ListGroups(ctx, store.GroupQuery{DisplayName: name, WithoutMembers: true})
	if err != nil {
		return false, err
	}
	for _, g := range gs {
		if g.DisplayName == name {
			return true, nil
		}
	}
	return false, nil
}

// quoteHidden quotes s with each character that does not show as itself
// (store.Hidden) written as its escape (\u200b): %q writes a variation
// selector or a Hangul filler as it is (Go counts them printable), and the
// refusal would quote a name that reads as the one it is not.
func quoteHidden(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case store.Hidden(r) && r <= 0xFFFF:
			fmt.Fprintf(&b, `\u%04x`, r)
		case store.Hidden(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
