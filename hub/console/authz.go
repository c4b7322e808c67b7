package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// This file is the console's authorization rule, in one place: an admin
// may see and act on everything; a supervisor only on its own sites; an
// auditor reads the evidence routes (console.go: evidence) and acts on
// nothing but its own account: it has no sites, so everything below
// refuses it. Every
// handler that takes a kiosk, session, user, grant, site or access-review
// item from the request resolves it through one of the scoped* functions
// below, never through the store directly, so a tampered URL or form field
// naming another site's record is refused with 403 whatever page it came
// from.
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
//
// Names are compared under Unicode case folding, but a database from
// before they were may hold users whose names differ in non-ASCII case
// only ("Zoë" and "ZOË"); they keep working (hub/README.md), so each is
// found under its own spelling, as the JSON API finds them (the hub's
// oneUserNamed). A spelling that is none of theirs picks the one such
// user the viewer may act on, and is a 409 listing them where there are
// more. A supervisor is told only of users at its sites: a user named
// exactly so elsewhere is the same 403 as no user, and one of several is
// not listed, so the answer reveals nothing outside its scope.
func (c *Console) scopedUserByName(ctx context.Context, v *viewer, name string) (store.User, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.User{}, badRequest("name the worker (their user name)")
	}
	us, _, err := c.st.ListUsers(ctx, store.UserQuery{UserName: name, States: []store.UserState{store.UserActive, store.UserPending, store.UserDisabled}})
	if err != nil {
		return store.User{}, err
	}
	noUser := &statusError{http.StatusForbidden, "no user " + name + " at your sites"}
	if v.admin() {
		noUser = &statusError{http.StatusNotFound, "no user " + name}
	}
	// The exact spelling first, among all users found: taking another
	// user of the viewer's in its place would act on the wrong worker.
	if i := slices.IndexFunc(us, func(u store.User) bool { return u.UserName == name }); i >= 0 {
		if !v.admin() && !v.allowsAny(us[i].Sites) {
			return store.User{}, noUser
		}
		return us[i], nil
	}
	if !v.admin() {
		us = slices.DeleteFunc(us, func(u store.User) bool { return !v.allowsAny(u.Sites) })
	}
	switch len(us) {
	case 0:
		return store.User{}, noUser
	case 1:
		return us[0], nil
	}
	return store.User{}, &statusError{http.StatusConflict, store.NamedAlike(name, us)}
}

// workerScopeIn is scopedUserByName's rule for viewer v acting on the
// worker the form named name, decided again from what the acting
// transaction reads: the worker's sites as they are when a grant is
// written (lifecycle.MayGrant), or a badge's credential stored at the tap
// after the enrollment was armed (Config.ArmEnrollment). Decided only
// before, a worker moved off the supervisor's sites by the identity
// provider in between would still get the supervisor's grant or badge.
// The refusal is the handler's own 403. Admins act for every worker
// (nil: no check).
func workerScopeIn(v *viewer, name string) lifecycle.MayGrant {
	if v.admin() {
		return nil
	}
	name = strings.TrimSpace(name)
	return func(_ context.Context, _ store.Ops, u store.User) error {
		if u.State == store.UserDeleted || !v.allowsAny(u.Sites) {
			return &statusError{http.StatusForbidden, "no user " + name + " at your sites"}
		}
		return nil
	}
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
// or for an admin every registered site and every kiosk's site. The
// kiosks' sites are read a spelling at a time (ListDeviceSites), in the
// order a loop over every kiosk meets them, so that the spelling kept of
// a name spelt in several cases is the first kiosk's, as when every kiosk
// of the hub was read for it on each load of the Reviews and Kiosks pages.
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
	spellings, err := c.st.ListDeviceSites(ctx)
	if err != nil {
		return nil, err
	}
	for _, site := range spellings {
		if _, ok := seen[strings.ToLower(site)]; !ok {
			seen[strings.ToLower(site)] = site
		}
	}
	out := make([]string, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// Access-review items. Governance assigns each item to a hub user (the
// worker's manager, a site supervisor: a member of the Supervisor role at
// the site) or to the hub admins. Console accounts are not hub users, and
// the console does not match them by name: a supervisor console account
// stands in for "the site supervisor" of its sites, nothing more. So a
// supervisor may see and decide an item exactly when
//
//   - governance assigned it to a site supervisor (reviewer kind
//     "supervisor"; items for a manager, for the admins, or escalated
//     stay with the admins: escalation takes an item away from the level
//     that let it go overdue), and
//   - everything the decision acts on lies within the account's sites: a
//     site item's site; a grant item's grant site; for a role item, which
//     holds at every one of the worker's sites, all of the worker's
//     current sites (a worker with none is not at the supervisor's
//     sites), and
//   - the item is not about the hub user the console account is linked
//     to (nobody reviews their own access), nor, for an account linked
//     to nobody, about a user of its name (ownUser).
//
// Admins may decide any item except one about their own access. Anything
// else, including an item that does not exist, is 403 for a supervisor.
//
// Nobody reviews their own access, whoever decides: the console maps an
// account to a hub user for this by the account's link by user ID
// (store.ConsoleAccount.UserID), which a rename of the user does not
// break, falling back to the name only for an account linked to nobody
// (ownUser, selfUserID), and every decision goes to governance with the
// account (decider), whose user governance reads inside the decision's
// transaction (sessionSelfIn) and refuses an item about it with 403 there.
// For a supervisor the check above also keeps such items off its pages,
// and is made again inside the decision's transaction (mayDecideIn).

// reviewScope decides the rule for many items of one request, reading
// each user and grant once, from the store or, for a decision, from the
// decision's transaction (reviewScopeIn).
type reviewScope struct {
	st     reviewReader
	v      *viewer
	users  map[string]*store.User // nil: not found
	grants map[string]*store.Grant
}

// reviewReader is what the rule reads: the store, or a transaction.
type reviewReader interface {
	GetUser(ctx context.Context, id string) (store.User, error)
	GetGrant(ctx context.Context, id string) (store.Grant, error)
}

func (c *Console) newReviewScope(v *viewer) *reviewScope { return newReviewScopeOn(c.st, v) }

func newReviewScopeOn(st reviewReader, v *viewer) *reviewScope {
	return &reviewScope{st: st, v: v, users: map[string]*store.User{}, grants: map[string]*store.Grant{}}
}

// allows reports whether the viewer may see and decide it.
func (s *reviewScope) allows(ctx context.Context, it store.ReviewItem) (bool, error) {
	v := s.v
	if v.admin() {
		return true, nil
	}
	if v.account.Role != store.ConsoleSupervisor || it.ReviewerKind != governance.ReviewerSupervisor || !it.Escalated.IsZero() {
		return false, nil
	}
	u, err := s.user(ctx, it.UserID)
	if err != nil || u == nil || ownUser(v.account, *u) {
		return false, err
	}
	switch it.Kind {
	case store.ReviewItemSite:
		return v.allows(it.Entitlement), nil
	case store.ReviewItemGrant:
		g, err := s.grant(ctx, it.Entitlement)
		if err != nil || g == nil {
			return false, err
		}
		return g.UserID == it.UserID && v.allows(g.Site), nil
	case store.ReviewItemRole:
		return len(u.Sites) > 0 && !slices.ContainsFunc(u.Sites, func(site string) bool { return !v.allows(site) }), nil
	}
	return false, nil
}

func (s *reviewScope) user(ctx context.Context, id string) (*store.User, error) {
	if u, ok := s.users[id]; ok {
		return u, nil
	}
	u, err := s.st.GetUser(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.users[id] = nil
		return nil, nil
	case err != nil:
		return nil, err
	}
	s.users[id] = &u
	return &u, nil
}

func (s *reviewScope) grant(ctx context.Context, id string) (*store.Grant, error) {
	if g, ok := s.grants[id]; ok {
		return g, nil
	}
	g, err := s.st.GetGrant(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.grants[id] = nil
		return nil, nil
	case err != nil:
		return nil, err
	}
	s.grants[id] = &g
	return &g, nil
}

// scopedReviewItem returns an access-review item the viewer may decide.
func (c *Console) scopedReviewItem(ctx context.Context, v *viewer, id string) (store.ReviewItem, error) {
	it, err := c.st.GetReviewItem(ctx, id)
	if err != nil {
		return store.ReviewItem{}, v.hidden(err)
	}
	ok, err := c.newReviewScope(v).allows(ctx, it)
	if err != nil {
		return store.ReviewItem{}, err
	}
	if !ok {
		return store.ReviewItem{}, errForbidden
	}
	return it, nil
}

// hubUserOf returns the ID of the hub user console account a is linked
// to, or "" when it is linked to none (a first admin who is not in the
// identity provider). The link is by ID: the user's userName may have
// changed since, and a user given the name since is somebody else.
func hubUserOf(a store.ConsoleAccount) string { return a.UserID }

// ownUser reports whether hub user u is the person behind console account
// a, for the checks that keep an account from granting, extending or
// reviewing its own access: the user a is linked to; or, for an account
// linked to nobody, a user, not deleted, whose userName is its name
// (store.FoldName). Such an account is one the link migration could not
// place (see hubUserGone): any user of its name may be its person, as the
// name rule took it before accounts were linked by ID.
func ownUser(a store.ConsoleAccount, u store.User) bool {
	if id := hubUserOf(a); id != "" {
		return u.ID == id
	}
	return u.State != store.UserDeleted && strings.TrimSpace(a.Name) != "" && store.FoldName(u.UserName) == store.FoldName(a.Name)
}

// selfUserIDs are the hub users that stand for console account a in the
// checks that keep it from deciding on its own access (lifecycle.Self):
// the user a is linked to; for an account linked to nobody, every user,
// not deleted, of its name (ownUser: any of them may be its person); none
// when there is none.
func selfUserIDs(ctx context.Context, ops store.UserOps, a store.ConsoleAccount) ([]string, error) {
	if id := hubUserOf(a); id != "" {
		return []string{id}, nil
	}
	if strings.TrimSpace(a.Name) == "" {
		return nil, nil
	}
	us, _, err := ops.ListUsers(ctx, store.UserQuery{UserName: a.Name})
	if err != nil {
		return nil, fmt.Errorf("hub users named like console account %s: %w", a.Name, err)
	}
	ids := make([]string, 0, len(us))
	for _, u := range us {
		if ownUser(a, u) {
			ids = append(ids, u.ID)
		}
	}
	return ids, nil
}

// selfUserID is the one hub user ID that stands for console account a
// where a check made before a transaction takes one (Decider's UserID),
// or "" when there is none or more than one: the check inside the
// transaction (sessionSelfIn) covers those.
func selfUserID(ctx context.Context, ops store.UserOps, a store.ConsoleAccount) (string, error) {
	ids, err := selfUserIDs(ctx, ops, a)
	if err != nil || len(ids) != 1 {
		return "", err
	}
	return ids[0], nil
}

// hubUserGone reports whether the hub user of console account a has
// left: a is linked to a user who is disabled or deleted (or unknown,
// erring towards less access). An account linked to no hub user is not
// affected (the first admin is often no SCIM user), nor one whose hub
// user is active or pending; a user given the account's name later does
// not change that either way.
//
// An account linked to nobody while hub users, not deleted, have its name
// (store.FoldName) is one the link migration could not place: two users
// from before names were folded, whose names differ in non-ASCII case
// only, had it. Either may be its person, so it is refused while any of
// them is disabled, as the name rule refused it before accounts were
// linked by ID. (Any other time a user of the account's name exists, the
// account is linked to it.)
//
// The leaver path disables the accounts linked to a deprovisioned user
// (hub/lifecycle), so a gone hub user's account normally cannot sign in
// anyway; this is the second check, for an account enabled again while
// its hub user is still gone (`admin bootstrap` naming a leaver, a
// restored backup).
func hubUserGone(ctx context.Context, ops store.UserOps, a store.ConsoleAccount) (bool, error) {
	id := hubUserOf(a)
	if id == "" {
		if strings.TrimSpace(a.Name) == "" {
			return false, nil
		}
		_, n, err := ops.ListUsers(ctx, store.UserQuery{UserName: a.Name, States: []store.UserState{store.UserDisabled}, Limit: 1})
		if err != nil {
			return false, fmt.Errorf("disabled hub users named like console account %s: %w", a.Name, err)
		}
		return n > 0, nil
	}
	u, err := ops.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("hub user of console account %s: %w", a.Name, err)
	}
	return u.State == store.UserDisabled || u.State == store.UserDeleted, nil
}

// errAmbiguousName refuses a new console account whose name is the
// userName of more than one hub user (a file from before names were
// folded, holding names that differ in non-ASCII case only): the console
// could not tell whose account it is.
var errAmbiguousName = &statusError{http.StatusConflict, "more than one hub user has this name (in some case): " +
	"pick another name, or have the identity provider rename one of them"}

// userToLink returns the hub user of the name name, whom a new console
// account of that name would be linked to (store.ConsoleAccount.UserID):
// the user, not deleted, whose userName is name under store.FoldName, or
// ok false when there is none. A disabled one is returned too: it is the
// name's person, and a leaver (accountUser refuses a new account of its
// name; hubUserGone an existing one). Users deleted before do not count:
// the name is not theirs any more. errAmbiguousName when more than one
// user has the name.
func userToLink(ctx context.Context, ops store.UserOps, name string) (u store.User, ok bool, err error) {
	if strings.TrimSpace(name) == "" {
		return store.User{}, false, nil
	}
	us, _, err := ops.ListUsers(ctx, store.UserQuery{UserName: name,
		States: []store.UserState{store.UserPending, store.UserActive, store.UserDisabled}})
	switch {
	case err != nil:
		return store.User{}, false, fmt.Errorf("hub user of console account %s: %w", name, err)
	case len(us) > 1:
		return store.User{}, false, errAmbiguousName
	case len(us) == 0:
		return store.User{}, false, nil
	}
	return us[0], true, nil
}

// leftError is hubUserNamed's refusal of a hub user who has left
// (disabled, or deleted): a statusError for the console's pages, and
// ErrHubUserGone for Bootstrap.
type leftError struct{ *statusError }

func (e leftError) Unwrap() error { return e.statusError }

// hubUserNamed returns the hub user an admin names for a new console
// account (the invite form's Hub user, `admin bootstrap --user`): the
// user, not deleted, whose userName is userName under store.FoldName, as
// userToLink matches an account's name. It refuses a user who has left
// (leftError, 409: disabled, or only deleted users have had the name), for
// a leaver gets no console account and the account could not register a
// passkey anyway (hubUserGone); a userName no hub user has (404); and one
// more than one user has (409: the console could not tell whose account it
// is).
func hubUserNamed(ctx context.Context, ops store.UserOps, userName string) (store.User, error) {
	u, ok, err := userToLink(ctx, ops, userName)
	switch {
	case errors.Is(err, errAmbiguousName):
		return store.User{}, &statusError{http.StatusConflict, fmt.Sprintf("more than one hub user has the user name %q (in some case): "+
			"have the identity provider rename one of them", userName)}
	case err != nil:
		return store.User{}, err
	case ok && u.State == store.UserDisabled:
		return store.User{}, leftError{&statusError{http.StatusConflict, fmt.Sprintf("hub user %q is disabled: a leaver gets no console account; "+
			"enable the user in the identity provider first", userName)}}
	case ok:
		return u, nil
	}
	if deleted, err := hadDeletedUser(ctx, ops, userName); err != nil {
		return store.User{}, err
	} else if deleted {
		return store.User{}, leftError{&statusError{http.StatusConflict, fmt.Sprintf("hub user %q has been deleted: a leaver gets no console account; "+
			"for someone given the user name since, the identity provider must provision them first", userName)}}
	}
	return store.User{}, &statusError{http.StatusNotFound, fmt.Sprintf("no hub user has the user name %q: give the user name the identity provider "+
		"provisioned them with", userName)}
}

// hadDeletedUser reports whether a deleted hub user had the userName name
// (store.FoldName).
func hadDeletedUser(ctx context.Context, ops store.UserOps, name string) (bool, error) {
	_, n, err := ops.ListUsers(ctx, store.UserQuery{UserName: name, States: []store.UserState{store.UserDeleted}, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("deleted users named %s: %w", name, err)
	}
	return n > 0, nil
}

// accountUser decides the hub user a new console account named name is
// linked to, for the invite form and `admin bootstrap` alike, so that
// neither makes an account the other would refuse. how says what linked
// it ("hub user given", "account name"); the user is zero when none is.
//
// With userName (the invite form's Hub user, `admin bootstrap --user`) it
// is the user named (hubUserNamed: not one who has left), whatever the
// account's name: a new hire given a departed person's userName gets an
// account of another name (the departed person's account keeps theirs)
// that their leaving disables. An account whose name is the userName of
// another hub user than the one named is refused (409): it would read as
// that person's in the audit trail (console:<name>) and on every page.
//
// Without, it is the hub user of the account's name (userToLink), if any,
// and a leaver's name is refused (leftError, 409): the name's user is
// disabled, or there is none and deleted users have had the name. A
// leaver gets no console account, and an account of a departed person's
// name would be linked to nobody: its person could not be told, it would
// be taken for nobody's leaving, and yet read as the departed person's
// everywhere. For a name only deleted users have had, naming the live hub
// user the account is for links it by ID instead, which the leaver path
// follows; a disabled user's name stays theirs (the 409 above).
func accountUser(ctx context.Context, ops store.UserOps, name, userName string) (u store.User, how string, err error) {
	u, ok, err := userToLink(ctx, ops, name)
	if err != nil {
		return store.User{}, "", err
	}
	if userName != "" {
		named, err := hubUserNamed(ctx, ops, userName)
		if err != nil {
			return store.User{}, "", err
		}
		if ok && u.ID != named.ID {
			return store.User{}, "", &statusError{http.StatusConflict, fmt.Sprintf("%q is the user name of another hub user "+
				"than %q: the account would read as theirs in the audit trail; pick another name", name, userName)}
		}
		return named, "hub user given", nil
	}
	switch {
	case ok && u.State == store.UserDisabled:
		return store.User{}, "", leftError{&statusError{http.StatusConflict, fmt.Sprintf("hub user %q is disabled: a leaver gets no console account; "+
			"enable the user in the identity provider first, or pick another name", u.UserName)}}
	case ok:
		return u, "account name", nil
	}
	if deleted, err := hadDeletedUser(ctx, ops, name); err != nil {
		return store.User{}, "", err
	} else if deleted {
		return store.User{}, "", leftError{&statusError{http.StatusConflict, fmt.Sprintf("%q is the user name of a deleted hub user: an account of a leaver's name "+
			"would be linked to nobody and escape the leaver path; pick another name, or name the hub user the account is for "+
			"(someone given the user name since is provisioned by the identity provider first)", name)}}
	}
	return store.User{}, "", nil
}

// createAccount stores the new console account a inside tx, linked to the
// hub user accountUser decides for its name and userName ("" for none),
// and audits the link as console.account_link by actor (system). It
// returns the account as stored and the hub user it is linked to (zero
// when none).
func createAccount(ctx context.Context, tx store.Ops, log *audit.Log, actor, system string, a store.ConsoleAccount, userName string) (store.ConsoleAccount, store.User, error) {
	u, how, err := accountUser(ctx, tx, a.Name, userName)
	if err != nil {
		return store.ConsoleAccount{}, store.User{}, err
	}
	a.UserID = u.ID
	if a, err = tx.CreateConsoleAccount(ctx, a); err != nil {
		return store.ConsoleAccount{}, store.User{}, err
	}
	if u.ID != "" {
		if _, err := log.Append(ctx, tx, audit.Entry{Actor: actor, System: system, Action: "console.account_link", Subject: "console:" + a.ID,
			Detail: map[string]any{"name": a.Name, "role": a.Role, "enabled": true, "reason": "account created", "linkedBy": how,
				"user": u.ID, "userName": u.UserName}}); err != nil {
			return store.ConsoleAccount{}, store.User{}, err
		}
	}
	return a, u, nil
}

// errAccountStopped refuses, inside the deciding transaction, a decision
// of a console account that was disabled, or whose hub user left, after
// its session was checked (viewer) and before the decision: the leaver
// path disables the account in the same transaction that deprovisions
// its user, and an admin's disable ends its sessions, but a request
// already past the session check would still decide, grant or extend
// as a person who may no longer act. It wraps governance.ErrForbidden
// (403), which governance tells once the transaction commits.
var errAccountStopped = fmt.Errorf("%w: your console account was disabled, or its hub user has left, while this request was made: "+
	"nothing was changed", governance.ErrForbidden)

// sessionSelfIn is the lifecycle.Self of console account id, for a
// request made with its signed-in session, on the console or on the JSON
// API (Decider), or with an admin API token it made on the console
// (AccountDecider). Inside the deciding transaction it reads the account
// and the hub users it stands for (selfUserIDs) from what the transaction
// reads: read before it, from the session's copy of the account, an
// account linked to nobody could be linked to the very user the decision
// is about in between (a user renamed to the account's name, or created
// with it) and the decision would not see it. It refuses
// (errAccountStopped) the account when it is disabled, or its hub user
// has left (hubUserGone), as read there.
//
// For a token that is the rule the token's other requests follow too:
// every path that disables an account revokes the admin tokens it made in
// the same transaction (store.DisableConsoleAccount), so a token whose
// maker is disabled is refused (401) from then on, and one whose request
// got past the token check before the disable decides nothing here.
func sessionSelfIn(id string) lifecycle.Self {
	return func(ctx context.Context, tx store.Ops) ([]string, error) {
		a, err := tx.GetConsoleAccount(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("console account %s: %w", id, err)
		}
		if !a.Disabled.IsZero() {
			return nil, errAccountStopped
		}
		if gone, err := hubUserGone(ctx, tx, a); err != nil {
			return nil, err
		} else if gone {
			return nil, errAccountStopped
		}
		return selfUserIDs(ctx, tx, a)
	}
}

// decider is the viewer deciding access-review items: its audit actor,
// its hub user, told inside the decision's transaction (sessionSelfIn),
// so governance refuses its own items and refuses them all once the
// account is disabled, and the rule above, decided inside that
// transaction too (mayDecideIn).
func (c *Console) decider(v *viewer) governance.Decider {
	return governance.Decider{Actor: v.actor(), Self: sessionSelfIn(v.account.ID), May: mayDecideIn(v)}
}

// mayDecideIn is the rule above for a decision by viewer v, decided from
// what the decision's transaction reads: the worker's sites, the grant
// and the item's reviewer and escalation as they are when the decision
// is written. Decided before it (scopedReviewItem, which the handler
// calls too, so that a tampered URL is refused before anything else), a
// worker moved to another site in between, or an item escalated to the
// admins, would be decided by a supervisor it is no longer for. Admins
// decide every item but their own (governance's self check).
func mayDecideIn(v *viewer) func(ctx context.Context, tx store.Ops, it store.ReviewItem) error {
	return func(ctx context.Context, tx store.Ops, it store.ReviewItem) error {
		if v.admin() {
			return nil
		}
		ok, err := newReviewScopeOn(tx, v).allows(ctx, it)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", governance.ErrForbidden, errForbidden.msg)
		}
		return nil
	}
}

// Decider is the person behind an API actor, for access-review decisions
// made through the hub's JSON API: a console admin signed in with the
// console session (APIActor, actor "console:<name>") is the hub user its
// account is linked to, as in the console. Any other actor is no person
// and decides as the actor alone (an API token the CLI operator made; one
// made on the console is its maker: the hub asks AccountDecider). For a
// console admin, Self tells the hub user again inside the deciding
// transaction, where governance.Service.Decide and
// lifecycle.Engine.GrantAccessAs check it; UserID is the same answer read
// now, for checks made outside a decision's transaction. Self is the
// session's (sessionSelfIn), as on the console: APIActor checked the
// account when the request came in, and an account disabled, or whose hub
// user left, before the decision's transaction decides nothing.
func (c *Console) Decider(ctx context.Context, a lifecycle.Actor) (governance.Decider, error) {
	name, ok := strings.CutPrefix(a.Name, actorPrefix)
	if !ok || a.System != actorSystem {
		return governance.Decider{Actor: a}, nil
	}
	// Account names never change, and are unique: the actor names one.
	acct, err := c.st.GetConsoleAccountByName(ctx, name)
	if err != nil {
		return governance.Decider{}, fmt.Errorf("decider %s: %w", a.Name, err)
	}
	return accountDecider(ctx, c.st, a, acct)
}

// AccountDecider is Decider for an actor that console account id stands
// behind without being signed in: an API token made on the console's
// Tokens page (store.Token.CreatedBy). The token acts as itself (a, which
// the audit records name) and is the hub user(s) of the account that made
// it, as that account's console session would be, so that an admin cannot
// mint a token to approve their own access. Like the session, it decides
// nothing once the account is disabled, or its hub user has left, inside
// the deciding transaction (sessionSelfIn).
func (c *Console) AccountDecider(ctx context.Context, a lifecycle.Actor, id string) (governance.Decider, error) {
	acct, err := c.st.GetConsoleAccount(ctx, id)
	if err != nil {
		return governance.Decider{}, fmt.Errorf("decider %s: console account %s: %w", a.Name, id, err)
	}
	return accountDecider(ctx, c.st, a, acct)
}

// accountDecider is actor a deciding as the person of console account
// acct: its hub user read now (UserID) and again inside the deciding
// transaction (Self: sessionSelfIn), for a signed-in session and a token
// the account made alike.
func accountDecider(ctx context.Context, ops store.UserOps, a lifecycle.Actor, acct store.ConsoleAccount) (governance.Decider, error) {
	id, err := selfUserID(ctx, ops, acct)
	if err != nil {
		return governance.Decider{}, fmt.Errorf("decider %s: %w", a.Name, err)
	}
	return governance.Decider{Actor: a, UserID: id, Self: sessionSelfIn(acct.ID)}, nil
}
