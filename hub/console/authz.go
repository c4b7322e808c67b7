package console

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/shiftgate/shiftgate/hub/store"
)

// This file is the console's authorization rule, in one place: an admin
// may see and act on everything; a supervisor only on its own sites. Every
// handler that takes a kiosk, session, user, grant or site from the
// request resolves it through one of the scoped* functions below, never
// through the store directly, so a tampered URL or form field naming
// another site's record is refused with 403 whatever page it came from.
//
// A supervisor gets 403 both for another site's records and for records
// that do not exist, so the answer does not reveal what exists elsewhere.

// allows reports whether the viewer may act on site.
func (v *viewer) allows(site string) bool {
	if v.admin() {
		return true
	}
	return v.account.Role == store.ConsoleSupervisor && slices.ContainsFunc(v.account.Sites, func(s string) bool { return strings.EqualFold(s, site) })
}

// allowsAny reports whether the viewer may act on any of sites.
func (v *viewer) allowsAny(sites []string) bool {
	return slices.ContainsFunc(sites, v.allows)
}

// hidden turns "not found" into 403 for supervisors.
func (v *viewer) hidden(err error) error {
	if !v.admin() && errors.Is(err, store.ErrNotFound) {
		return errForbidden
	}
	return err
}

// scopedSite returns the site as the viewer's scope spells it.
func (c *Console) scopedSite(ctx context.Context, v *viewer, site string) (string, error) {
	site = strings.TrimSpace(site)
	if site == "" {
		return "", badRequest("choose a site")
	}
	if !v.allows(site) {
		return "", errForbidden
	}
	return site, nil
}

// scopedDevice returns a kiosk at one of the viewer's sites.
func (c *Console) scopedDevice(ctx context.Context, v *viewer, id string) (store.Device, error) {
	d, err := c.st.GetDevice(ctx, id)
	if err != nil {
		return store.Device{}, v.hidden(err)
	}
	if !v.allows(d.Site) {
		return store.Device{}, errForbidden
	}
	return d, nil
}

// scopedDeviceByName is scopedDevice for a kiosk name from a form.
func (c *Console) scopedDeviceByName(ctx context.Context, v *viewer, name string) (store.Device, error) {
	d, err := c.st.GetDeviceByName(ctx, strings.TrimSpace(name))
	if err != nil {
		return store.Device{}, v.hidden(err)
	}
	if !v.allows(d.Site) {
		return store.Device{}, errForbidden
	}
	return d, nil
}

// scopedSession returns a kiosk session held on a kiosk of the viewer's
// sites, with that kiosk.
func (c *Console) scopedSession(ctx context.Context, v *viewer, id string) (store.Session, store.Device, error) {
	s, err := c.st.GetSession(ctx, id)
	if err != nil {
		return store.Session{}, store.Device{}, v.hidden(err)
	}
	d, err := c.st.GetDevice(ctx, s.DeviceID)
	if err != nil {
		return store.Session{}, store.Device{}, v.hidden(err)
	}
	if !v.allows(d.Site) {
		return store.Session{}, store.Device{}, errForbidden
	}
	return s, d, nil
}

// scopedUser returns a user with at least one of the viewer's sites.
// Deleted users are not found.
func (c *Console) scopedUser(ctx context.Context, v *viewer, id string) (store.User, error) {
	u, err := c.st.GetUser(ctx, id)
	if err == nil && u.State == store.UserDeleted {
		err = store.ErrNotFound
	}
	if err != nil {
		return store.User{}, v.hidden(err)
	}
	if !v.admin() && !v.allowsAny(u.Sites) {
		return store.User{}, errForbidden
	}
	return u, nil
}

// scopedUserByName is scopedUser for a userName from a form.
func (c *Console) scopedUserByName(ctx context.Context, v *viewer, name string) (store.User, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.User{}, badRequest("name the worker (their user name)")
	}
	us, _, err := c.st.ListUsers(ctx, store.UserQuery{UserName: name, States: []store.UserState{store.UserActive, store.UserPending, store.UserDisabled}})
	if err != nil {
		return store.User{}, err
	}
	if len(us) != 1 {
		if v.admin() {
			return store.User{}, &statusError{404, "no user " + name}
		}
		return store.User{}, &statusError{403, "no user " + name + " at your sites"}
	}
	if !v.admin() && !v.allowsAny(us[0].Sites) {
		return store.User{}, &statusError{403, "no user " + name + " at your sites"}
	}
	return us[0], nil
}

// scopedGrant returns a grant at one of the viewer's sites.
func (c *Console) scopedGrant(ctx context.Context, v *viewer, id string) (store.Grant, error) {
	g, err := c.st.GetGrant(ctx, id)
	if err != nil {
		return store.Grant{}, v.hidden(err)
	}
	if !v.allows(g.Site) {
		return store.Grant{}, errForbidden
	}
	return g, nil
}

// visibleDevices lists the kiosks of the viewer's sites.
func (c *Console) visibleDevices(ctx context.Context, v *viewer) ([]store.Device, error) {
	all, err := c.st.ListDevices(ctx, "")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, d := range all {
		if v.allows(d.Site) {
			out = append(out, d)
		}
	}
	return out, nil
}

// visibleSites lists the sites the viewer may act on: a supervisor's own,
// or for an admin every registered site and every kiosk's site.
func (c *Console) visibleSites(ctx context.Context, v *viewer) ([]string, error) {
	if !v.admin() {
		return slices.Clone(v.account.Sites), nil
	}
	seen := map[string]string{}
	sites, err := c.st.ListSites(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range sites {
		seen[strings.ToLower(s.Name)] = s.Name
	}
	ds, err := c.st.ListDevices(ctx, "")
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if _, ok := seen[strings.ToLower(d.Site)]; !ok {
			seen[strings.ToLower(d.Site)] = d.Site
		}
	}
	out := make([]string, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}
