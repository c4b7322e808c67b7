package governance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// directory is one read of who exists and what they hold: users that are
// not deleted, groups with their members, and grants read on demand; and
// the deleted users read to name them (see user).
type directory struct {
	ops          store.Ops
	users        []store.User          // by Created, then ID
	byID         map[string]store.User // not deleted
	deleted      map[string]store.User // users it does not hold, once read (user): tombstones; the zero User for an ID the store does not know
	byExternalID map[string][]store.User
	byUserName   map[string]store.User // lower-cased userName
	groups       []store.Group
	groupsOf     map[string][]store.Group // user ID → groups it is a member of
	grants       map[string][]store.Grant // user ID → grants, once read
}

func loadDirectory(ctx context.Context, ops store.Ops) (*directory, error) {
	users, _, err := ops.ListUsers(ctx, store.UserQuery{})
	if err != nil {
		return nil, err
	}
	groups, _, err := ops.ListGroups(ctx, store.GroupQuery{})
	if err != nil {
		return nil, err
	}
	d := &directory{ops: ops, users: users, groups: groups,
		byID: make(map[string]store.User, len(users)), deleted: map[string]store.User{}, byExternalID: map[string][]store.User{},
		byUserName: make(map[string]store.User, len(users)), groupsOf: map[string][]store.Group{}, grants: map[string][]store.Grant{}}
	for _, u := range users {
		d.byID[u.ID] = u
		d.byUserName[store.FoldName(u.UserName)] = u
		if u.ExternalID != "" {
			d.byExternalID[u.ExternalID] = append(d.byExternalID[u.ExternalID], u)
		}
	}
	for _, g := range groups {
		for _, m := range g.Members {
			d.groupsOf[m] = append(d.groupsOf[m], g)
		}
	}
	return d, nil
}

// usersOnly returns a directory that knows only the named users, for
// showing a few records without reading everyone. The deleted ones among
// them it knows as user reads them, so userName names them too.
func usersOnly(ctx context.Context, ops store.Ops, ids ...string) (*directory, error) {
	d := &directory{ops: ops, byID: map[string]store.User{}, deleted: map[string]store.User{}, byExternalID: map[string][]store.User{},
		byUserName: map[string]store.User{}, groupsOf: map[string][]store.Group{}, grants: map[string][]store.Grant{}}
	for _, id := range ids {
		if _, ok := d.byID[id]; ok || id == "" {
			continue
		}
		u, err := ops.GetUser(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			d.deleted[id] = store.User{}
		case err != nil:
			return nil, err
		case u.State == store.UserDeleted:
			d.deleted[id] = u
		default:
			d.byID[id] = u
		}
	}
	return d, nil
}

// userDirectory returns the part of the directory that the rules read
// about one user: the user (unless deleted or unknown), the users that
// share its externalId, and the groups it is a member of (without their
// members). It is small enough to read inside a write transaction.
func userDirectory(ctx context.Context, ops store.Ops, id string) (*directory, error) {
	d, err := usersOnly(ctx, ops, id)
	if err != nil {
		return nil, err
	}
	u, ok := d.byID[id]
	if !ok {
		return d, nil
	}
	d.users = []store.User{u}
	if u.ExternalID != "" {
		// Ordered by Created, then ID, as loadDirectory's users.
		if d.users, _, err = ops.ListUsers(ctx, store.UserQuery{ExternalID: u.ExternalID}); err != nil {
			return nil, err
		}
		for _, p := range d.users {
			d.byID[p.ID] = p
		}
		d.byExternalID[u.ExternalID] = d.users
	}
	// The rules read a group's ID and name, not its members.
	if d.groups, _, err = ops.ListGroups(ctx, store.GroupQuery{MemberID: id, WithoutMembers: true}); err != nil {
		return nil, err
	}
	d.groupsOf[id] = d.groups
	return d, nil
}

// readManagerRef reads into d the users that a manager reference ref may
// name (see manager), as loadDirectory would hold them: the user of that
// ID, every user of that externalId, and the user of that userName (of
// several spelled alike under FoldName, the last in the list's order, as
// loadDirectory's byUserName keeps), none of them deleted. It is a few
// point reads, small enough for a write transaction.
func (d *directory) readManagerRef(ctx context.Context, ref string) error {
	if _, ok := d.byID[ref]; !ok {
		u, err := d.ops.GetUser(ctx, ref)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case u.State != store.UserDeleted:
			d.byID[u.ID] = u
		}
	}
	if _, ok := d.byExternalID[ref]; !ok {
		us, _, err := d.ops.ListUsers(ctx, store.UserQuery{ExternalID: ref})
		if err != nil {
			return err
		}
		d.byExternalID[ref] = us
	}
	if _, ok := d.byUserName[store.FoldName(ref)]; !ok {
		us, _, err := d.ops.ListUsers(ctx, store.UserQuery{UserName: ref})
		if err != nil {
			return err
		}
		if len(us) > 0 {
			d.byUserName[store.FoldName(ref)] = us[len(us)-1]
		}
	}
	return nil
}

// grantsOf returns the user's grants, read once.
func (d *directory) grantsOf(ctx context.Context, userID string) ([]store.Grant, error) {
	if gs, ok := d.grants[userID]; ok {
		return gs, nil
	}
	gs, err := d.ops.ListGrants(ctx, userID)
	if err != nil {
		return nil, err
	}
	d.grants[userID] = gs
	return gs, nil
}

// current reports whether a grant gives or will give access at now: not
// revoked and not over.
func current(g store.Grant, now time.Time) bool {
	return g.Revoked.IsZero() && g.End.After(now)
}

// running reports whether a grant gives access at now.
func running(g store.Grant, now time.Time) bool {
	return current(g, now) && !g.Start.After(now)
}

// manager resolves the user's Enterprise manager to a live user of this
// hub: by ID, then by externalId (when unambiguous), then by userName. A
// user is never its own manager.
func (d *directory) manager(u store.User) (store.User, bool) {
	ref := lifecycle.EnterpriseOf(u.Document).Manager
	if ref == "" {
		return store.User{}, false
	}
	m, ok := d.byID[ref]
	if !ok {
		if ms := d.byExternalID[ref]; len(ms) == 1 {
			m, ok = ms[0], true
		}
	}
	if !ok {
		m, ok = d.byUserName[store.FoldName(ref)]
	}
	if !ok || m.ID == u.ID || !live(m) {
		return store.User{}, false
	}
	return m, true
}

// supervisor returns the site's supervisor: an active member of the
// supervisor role that has the site among its sites, other than the user
// under review. Of several, the first by userName.
func (d *directory) supervisor(role, site, notUser string) (store.User, bool) {
	var best store.User
	for _, g := range d.groups {
		if !strings.EqualFold(g.DisplayName, role) {
			continue
		}
		for _, id := range g.Members {
			u, ok := d.byID[id]
			if !ok || id == notUser || u.State != store.UserActive || !containsFold(u.Sites, site) {
				continue
			}
			if best.ID == "" || strings.ToLower(u.UserName) < strings.ToLower(best.UserName) {
				best = u
			}
		}
	}
	return best, best.ID != ""
}

// user returns user id: from the directory when it holds it, else the
// store's record of it, read once: for a deleted user its tombstone
// (State UserDeleted); false when the store does not know it. A tombstone
// keeps the userName the user had when deleted: governance is read after
// the fact (a campaign looked at, a finding triaged, evidence pulled after
// the quarter), often about leavers the identity provider has deleted
// since, and a person shown only by UUID is one nobody can act on. (A user
// created since may hold that userName again; the tombstone still names
// who this one was, as the audit trail does.)
func (d *directory) user(ctx context.Context, id string) (store.User, bool, error) {
	if u, ok := d.byID[id]; ok {
		return u, true, nil
	}
	if u, read := d.deleted[id]; read {
		return u, u.ID != "", nil
	}
	u, err := d.ops.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		u, err = store.User{}, nil
	}
	if err != nil {
		return store.User{}, false, fmt.Errorf("user %s: %w", id, err)
	}
	d.deleted[id] = u
	return u, u.ID != "", nil
}

// readDeleted reads (user) the users of ids that the directory does not
// know, so that userName names the deleted ones.
func (d *directory) readDeleted(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, _, err := d.user(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// userName returns the userName of a user ID: of a user not deleted, or
// of a deleted one read before (user, readDeleted); else the ID (a user
// the store does not know, or one not read); "admins" for the empty
// reviewer.
func (d *directory) userName(id string) string {
	if id == "" {
		return reviewerAdmins
	}
	if u, ok := d.byID[id]; ok {
		return u.UserName
	}
	if u := d.deleted[id]; u.UserName != "" {
		return u.UserName
	}
	return id
}

// sortedSites returns the user's sites sorted case-insensitively.
func sortedSites(u store.User) []string {
	s := slices.Clone(u.Sites)
	slices.SortFunc(s, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return s
}
