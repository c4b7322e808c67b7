// Package policy decides whether user U may sign in on device D now, and
// with what: which role, which apps, until when. Roles (RBAC: groups and
// just-in-time grants) get their apps and demands from the Rules; a role's
// rule may add conditions on attributes of the user and the kiosk (ABAC:
// site, employment type, certification, user verification).
//
// Decide is a pure function of its Input (no I/O, no clock: the caller
// passes Now), so the hub can call it on every login and every policy
// re-evaluation, and tests can cover every branch with plain tables.
//
// # Checks, in order
//
//  1. The user is active (store.UserActive), its start date, if any, has
//     come and its end date, if any, has not passed. Else
//     wire.RefusedNotRecognised. Input.User is the user as seen at the
//     device's site: a start or end date the identity provider sent as a
//     calendar day is that day in the site's time zone (store.User.InZone;
//     the hub's lifecycle.Engine.UserAt), so a worker's access starts at
//     00:00 of the first day and ends at 24:00 of the last day where the
//     kiosk stands.
//  2. The device is active. Else wire.RefusedNotAllowedHere.
//  3. The device's site is one of the user's Sites, or an active
//     just-in-time grant (Start ≤ now < End, not revoked) is for that site.
//     Else wire.RefusedNotAllowedHere. A grant or shift extension counts
//     only when its UserID is the user's: one naming no user, or another,
//     gives nothing (fail closed).
//  4. The user has at least one role here: group roles (Input.Roles) count
//     at any of the user's sites, a grant's role only at the grant's site.
//     A role counts only if its rule (Rules.Roles, or Rules.Other for a role
//     without one) gives at least one app and its conditions (ABAC) hold:
//     RoleRule.Sites, when set, names the device's site (compared
//     case-insensitively; this bounds grants too: a grant of a role at a
//     site outside the role's Sites gives nothing), and
//     RoleRule.EmploymentTypes, when set, names the user's employmentType
//     (a user without one matches none). These are checked here, before
//     the shift: a role they exclude is not the user's at this kiosk at
//     any time. If no role counts, wire.RefusedNotAllowedHere, and the
//     Detail names each role that a condition left out, once, with the
//     first condition it fails (Sites before EmploymentTypes), e.g.
//     "role Nurse counts only at sites [North], not at South" or "role
//     Nurse counts only for employment types [employee], not for user ana
//     (contractor)". When the login is allowed, roles a condition left out
//     are named in the Detail after
//     "not counted here:" and listed in Decision.NotCounted (they are not
//     Withheld: the user cannot fix them at the kiosk).
//  5. If the user has shifts, now is inside one, allowing Rules.ShiftGrace
//     before its start. Else wire.RefusedOutsideShift. Shifts and running
//     shift extensions (Input.Extensions) that overlap, touch or lie at
//     most Rules.ShiftGrace apart form one window (ShiftWindow):
//     back-to-back shifts, a split shift with a short break, or a shift
//     and the supervisor's extension of it, are one stretch of work. A
//     worker may sign in again as soon as the next shift's grace opens,
//     so ending her session at the first shift's end would only cost her
//     a tap, and the hub and her kiosk would disagree about the break. A
//     gap exactly as long as the grace joins (the grace opens at the
//     instant the first shift ends); with grace "0s" only shifts that
//     overlap or touch join. An extension
//     counts only on kiosks of its own site (ExtensionsAt): a supervisor
//     who approved it at one site gave nothing at the worker's others.
//  6. Roles whose rule names a Certification are kept only if the user
//     holds it unexpired. If none is left, wire.RefusedNotAllowedHere. An
//     expiry sent as a calendar day (store.Certification.ExpiresDay) is
//     the last day the certification is valid: in Input.User, as seen at
//     the device's site, it expires at 24:00 of that day there
//     (store.User.InZone), as an end date does.
//  7. Roles whose rule has RequireUV are kept only if the authenticator
//     verified the user (PIN or biometric). If none is left,
//     wire.RefusedVerifyRequired.
//
// # Several roles
//
// A user may hold several eligible roles at once (a nurse who is also a
// supervisor). The session gets all of them: Apps is the union of their
// apps, Roles the sorted role names, Role those names joined by ",",
// Privileged if any is privileged, and the shortest MaxSession of any of
// them applies. Roles that step 6 or 7 removed are simply not in the
// session (Decision.Withheld names them), so a supervisor who taps without
// a PIN still gets the nurse apps but not the admin ones. This is
// deterministic, needs no ranking of roles, and never grants an app that
// some eligible role does not grant.
//
// # Session end
//
// ExpiresAt is the earliest of: now + the session length (max_session);
// the end of the current shift window (step 5: a break no longer than the
// shift grace does not end it), if the user has shifts (shift_end); the end
// of the grant that a session role depends on, when that role is not also
// a group role at one of the user's sites (grant_end); the user's end date
// at the device's site (end_date); the expiry of a certification a session
// role needs (certification_end). EndsBy names the bound that won; on a
// tie the first in the order end_date, grant_end, certification_end,
// shift_end, max_session.
//
// # Defaults (DefaultRules)
//
//	MaxSession  12h      ShiftGrace 15m
//	Nurse       apps ehr, med-cart
//	Picker      apps wms-picking
//	Supervisor  apps wms-admin, ehr; RequireUV; Privileged; MaxSession 4h
//	any other   apps browser
//
// Role names are matched case-insensitively.
//
// # Stored form (Document)
//
// The hub keeps the rules in its store as a versioned JSON Document
// (document.go) that admins edit in the console or through the API; the
// defaults are only what a new hub starts with. ParseDocument decodes and
// validates a stored one, ParseEdit one an admin sends (more strictly:
// no "sites": null); both report every problem at once, each with its
// JSON path, as a *ValidationError matching ErrInvalid. Rules.Document is
// the inverse. Decide itself never sees
// JSON and needs no validation: zero values keep their documented
// meaning.
package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Default rule values, used when the Rules field is zero.
const (
	DefaultMaxSession = 12 * time.Hour
	DefaultShiftGrace = 15 * time.Minute
)

// RoleSeparator joins a session's roles in Decision.Role and the stored
// session. A role whose name contains it never counts: it could not be
// told apart there, nor taken away from a session when it is removed.
const RoleSeparator = ","

// EndsBy values: which bound set Decision.ExpiresAt.
const (
	EndsByEndDate       = "end_date"
	EndsByGrant         = "grant_end"
	EndsByCertification = "certification_end"
	EndsByShift         = "shift_end"
	EndsByMaxSession    = "max_session"
)

// Rules is the site group's login policy.
type Rules struct {
	// MaxSession caps every session; DefaultMaxSession if zero.
	MaxSession time.Duration
	// ShiftGrace is how long before a shift starts its worker may sign in;
	// DefaultShiftGrace if zero, no grace if negative.
	ShiftGrace time.Duration
	// Roles maps a role name (a group displayName or a grant's role),
	// compared case-insensitively, to its rule.
	Roles map[string]RoleRule
	// Other is the rule for roles not in Roles. Its zero value grants no
	// apps, so such roles do not count.
	Other RoleRule
	// Index, set by Indexed for rules that no longer change (the policy in
	// force), finds a name not spelled as in Roles in one step, where
	// without it the name is compared with every role; a login looks up
	// each of the user's groups, most of which are no role. Clone drops
	// it: the copy is for changing.
	Index *RoleIndex
}

// RoleIndex maps store.FoldName of each role name to its key in Roles.
type RoleIndex struct{ keys map[string]string }

// Indexed returns r with an Index of its role names. r.Roles must not
// change afterwards.
func (r Rules) Indexed() Rules {
	idx := &RoleIndex{keys: make(map[string]string, len(r.Roles))}
	for k := range r.Roles {
		idx.keys[store.FoldName(k)] = k
	}
	r.Index = idx
	return r
}

// RoleRule is what a role gives and demands.
type RoleRule struct {
	// Apps the session may launch. A role without apps gives no access.
	Apps []string
	// RequireUV: the login must carry user verification (PIN, biometric).
	RequireUV bool
	// MaxSession caps sessions holding this role; zero means Rules.MaxSession.
	MaxSession time.Duration
	// Privileged marks administrative roles (reported in the Decision).
	Privileged bool
	// Certification names a certification the user must hold, unexpired.
	Certification string
	// Sites, when not empty, are the only sites at which the role counts
	// (case-insensitively): at any other site neither a group membership
	// nor a grant gives it. Empty: any of the user's sites (and grants'
	// sites).
	Sites []string
	// EmploymentTypes, when not empty, are the only employment types
	// (employee, contractor, vendor, temp; case-insensitively) whose users
	// the role counts for. Empty: any, including none.
	EmploymentTypes []string
}

// DefaultRules returns the defaults documented in the package comment.
// Each call returns a fresh value the caller may change.
func DefaultRules() Rules {
	return Rules{
		MaxSession: DefaultMaxSession,
		ShiftGrace: DefaultShiftGrace,
		Roles: map[string]RoleRule{
			"Nurse":      {Apps: []string{"ehr", "med-cart"}},
			"Picker":     {Apps: []string{"wms-picking"}},
			"Supervisor": {Apps: []string{"wms-admin", "ehr"}, RequireUV: true, Privileged: true, MaxSession: 4 * time.Hour},
		},
		Other: RoleRule{Apps: []string{"browser"}},
	}
}

// Input is everything a decision depends on.
type Input struct {
	// User is the user as seen at the device's site: StartDate, EndDate
	// and each certification's Expires are the instants there
	// (store.User.InZone with the site's time zone), which Decide reads
	// as they are.
	User store.User
	// Roles are the displayNames of the user's groups.
	Roles []string
	// Grants are the user's just-in-time grants (any state; Decide picks the
	// active ones for the device's site).
	Grants []store.Grant
	// Extensions are the user's shift extensions (any state, any site;
	// Decide uses those running at Now at the device's site as shift
	// time).
	Extensions []store.ShiftExtension
	Device     store.Device
	// DeviceMaxSession is the longest session the kiosk's hardware
	// profile allows (its maxSession): it bounds the session as a role's
	// maximum does (EndsByMaxSession). Zero: the kiosk sets no bound.
	DeviceMaxSession time.Duration
	Now              time.Time
	UserVerified     bool
	Rules            Rules
	// ProfileRequiresUV, when set, says whether the kiosk's hardware
	// profile requires user verification for a role: such a role is
	// withheld from a tap without it, as one whose rule requires it.
	ProfileRequiresUV func(role string) bool
	// ProfileApps, when set, returns the app IDs the kiosk's hardware
	// profile lists for a role (with those it gives every role): a role
	// with any gets those instead of its rule's apps; one with none keeps
	// its rule's.
	ProfileApps func(role string) []string
}

// Decision is the outcome. When Allow is false, Code is the wire refusal
// reason for the kiosk and Detail the precise reason for the hub log and
// audit; the other fields are empty.
type Decision struct {
	Allow  bool
	Code   string // wire.Refused*, when refused
	Detail string // always set: why
	// Role is Roles joined by RoleSeparator.
	Role       string
	Roles      []string // sorted
	Apps       []string // sorted, no duplicates
	Privileged bool
	ExpiresAt  time.Time
	EndsBy     string // EndsBy*
	// Withheld lists eligible roles left out for a missing certification
	// or user verification, sorted.
	Withheld []string
	// NotCounted lists roles the user holds here that a condition of
	// their rule (Sites, EmploymentTypes) left out, sorted; the Detail
	// says why.
	NotCounted []string
}

// candidate is a role eligible at the device's site.
type candidate struct {
	name  string
	rule  RoleRule
	until time.Time // the grant end it depends on; zero if a group role
	cert  time.Time // expiry of the certification it needs; zero if none
}

// Decide evaluates in against its rules. It never fails: every outcome,
// including bad input, is a Decision.
func Decide(in Input) Decision {
	now := in.Now
	u := &in.User
	rules := in.Rules
	if rules.MaxSession <= 0 {
		rules.MaxSession = DefaultMaxSession
	}
	switch {
	case rules.ShiftGrace == 0:
		rules.ShiftGrace = DefaultShiftGrace
	case rules.ShiftGrace < 0:
		rules.ShiftGrace = 0
	}

	// 1. The user.
	if u.State != store.UserActive {
		return refuse(wire.RefusedNotRecognised, "user %s is %s", u.UserName, u.State)
	}
	// An active user's start has come at one of its sites, not
	// necessarily at this one: a start sent as a day begins at a site's
	// own midnight.
	if !u.StartDate.IsZero() && now.Before(u.StartDate) {
		return refuse(wire.RefusedNotRecognised, "user %s: start date %s has not come%s", u.UserName, stamp(u.StartDate), dayNote(u.StartDay, in.Device.Site))
	}
	if !u.EndDate.IsZero() && !now.Before(u.EndDate) {
		return refuse(wire.RefusedNotRecognised, "user %s: end date %s has passed%s", u.UserName, stamp(u.EndDate), dayNote(u.EndDay, in.Device.Site))
	}
	// 2. The device.
	d := &in.Device
	if d.State != store.DeviceActive {
		return refuse(wire.RefusedNotAllowedHere, "device %s is disabled", d.Name)
	}
	// 3. The site.
	member := slices.ContainsFunc(u.Sites, func(s string) bool { return strings.EqualFold(s, d.Site) })
	grants := 0 // active here; counted, not collected: a login allocates nothing per grant
	for i := range in.Grants {
		if grantActive(&in.Grants[i], u.ID, d.Site, now) {
			grants++
		}
	}
	if !member && grants == 0 {
		return refuse(wire.RefusedNotAllowedHere, "user %s: site %s is not among the user's sites %v and no grant for it is active", u.UserName, d.Site, u.Sites)
	}
	// 4. Roles here. The candidates live on the stack for the usual few;
	// past that they move once to room for every role the user holds
	// here, rather than growing role by role (groups that give no apps,
	// often most of an identity provider's, never take room).
	held := grants
	if member {
		held += len(in.Roles)
	}
	var few [8]candidate
	cands := few[:0]
	var excluded, excludedNames []string // why a condition left a role out, and the role; once per role
	add := func(name string, until time.Time) {
		rule := rules.rule(name)
		if len(rule.Apps) == 0 {
			return
		}
		why := rule.unmet(u, d.Site)
		if strings.Contains(name, RoleSeparator) {
			// A session lists its roles joined by RoleSeparator: one
			// with it in its name could not be told apart there, nor
			// taken away from the session when it is removed.
			why = "cannot count: its name contains \"" + RoleSeparator + "\" (rename the group)"
		}
		if why != "" {
			if !containsFold(excludedNames, name) {
				excludedNames = append(excludedNames, name)
				excluded = append(excluded, "role "+name+" "+why)
			}
			return
		}
		for i := range cands {
			if strings.EqualFold(cands[i].name, name) {
				// Held twice: a group role outlives any grant; of two
				// grants, the later end.
				if !cands[i].until.IsZero() && (until.IsZero() || until.After(cands[i].until)) {
					cands[i].until = until
				}
				return
			}
		}
		if len(cands) == cap(cands) {
			cands = append(make([]candidate, 0, max(held, 2*cap(cands))), cands...)
		}
		cands = append(cands, candidate{name: name, rule: rule, until: until})
	}
	if member {
		for _, r := range in.Roles {
			add(r, time.Time{})
		}
	}
	for i := 0; grants > 0 && i < len(in.Grants); i++ {
		if g := &in.Grants[i]; grantActive(g, u.ID, d.Site, now) {
			add(g.Role, g.End)
		}
	}
	if len(cands) == 0 {
		dec := refuse(wire.RefusedNotAllowedHere, "user %s has no role with apps at site %s (groups %v, %d active grants here)", u.UserName, d.Site, in.Roles, grants)
		if len(excluded) > 0 {
			dec.Detail += ": " + strings.Join(excluded, "; ")
		}
		return dec
	}
	// 5. The shift.
	var shiftEnd time.Time
	if len(u.Shifts) > 0 {
		var ok bool
		if shiftEnd, ok = ShiftWindow(u.Shifts, extensionsFor(in.Extensions, u.ID, d.Site), now, rules.ShiftGrace); !ok {
			return refuse(wire.RefusedOutsideShift, "user %s: %s is outside every shift (grace %v)", u.UserName, stamp(now), rules.ShiftGrace)
		}
	}
	// 6. Certifications; 7. user verification. Both filter cands in
	// place: each c is a copy, written back at or before its own index.
	var withheld, reasons []string
	withhold := func(name, reason string) {
		withheld, reasons = append(withheld, name), append(reasons, reason)
	}
	kept := cands[:0]
	for _, c := range cands {
		if name := c.rule.Certification; name != "" {
			exp, ok := certification(u, name, now)
			if !ok {
				withhold(c.name, fmt.Sprintf("role %s needs certification %s, %s", c.name, name, certProblem(u, name, d.Site)))
				continue
			}
			c.cert = exp
		}
		kept = append(kept, c)
	}
	if len(kept) == 0 {
		return refuse(wire.RefusedNotAllowedHere, "user %s: %s", u.UserName, strings.Join(reasons, "; "))
	}
	cands, kept = kept, kept[:0]
	for _, c := range cands {
		if !in.UserVerified && c.rule.RequireUV {
			withhold(c.name, "role "+c.name+" requires user verification")
			continue
		}
		if !in.UserVerified && in.ProfileRequiresUV != nil && in.ProfileRequiresUV(c.name) {
			withhold(c.name, "role "+c.name+" requires user verification on kiosk "+d.Name+"'s hardware profile")
			continue
		}
		kept = append(kept, c)
	}
	if len(kept) == 0 {
		return refuse(wire.RefusedVerifyRequired, "user %s: %s", u.UserName, strings.Join(reasons, "; "))
	}

	// Allowed: assemble the session.
	dec := Decision{Allow: true}
	maxSession := rules.MaxSession
	if m := in.DeviceMaxSession; m > 0 && m < maxSession {
		maxSession = m
	}
	apps := 0
	for _, c := range kept {
		apps += len(c.rule.Apps)
	}
	dec.Roles, dec.Apps = make([]string, 0, len(kept)), make([]string, 0, apps)
	var ends bounds
	for _, c := range kept {
		dec.Roles = append(dec.Roles, c.name)
		apps := c.rule.Apps
		if in.ProfileApps != nil {
			if pa := in.ProfileApps(c.name); len(pa) > 0 {
				apps = pa
			}
		}
		dec.Apps = append(dec.Apps, apps...)
		dec.Privileged = dec.Privileged || c.rule.Privileged
		if m := c.rule.MaxSession; m > 0 && m < maxSession {
			maxSession = m
		}
		if !c.until.IsZero() {
			ends.offer(c.until, EndsByGrant)
		}
		if !c.cert.IsZero() {
			ends.offer(c.cert, EndsByCertification)
		}
	}
	if !u.EndDate.IsZero() {
		ends.offer(u.EndDate, EndsByEndDate)
	}
	if !shiftEnd.IsZero() {
		ends.offer(shiftEnd, EndsByShift)
	}
	ends.offer(now.Add(maxSession), EndsByMaxSession)
	dec.ExpiresAt, dec.EndsBy = ends.at, ends.by

	slices.SortFunc(dec.Roles, compareFold)
	dec.Role = strings.Join(dec.Roles, RoleSeparator)
	slices.Sort(dec.Apps)
	dec.Apps = slices.Compact(dec.Apps)
	if len(withheld) > 0 {
		slices.SortFunc(withheld, compareFold)
		dec.Withheld = withheld
	}
	dec.Detail = fmt.Sprintf("user %s may sign in on %s at site %s as %s until %s (%s)", u.UserName, d.Name, d.Site, dec.Role, stamp(dec.ExpiresAt), dec.EndsBy)
	if len(reasons) > 0 {
		dec.Detail += "; withheld: " + strings.Join(reasons, "; ")
	}
	if len(excluded) > 0 {
		slices.SortFunc(excludedNames, compareFold)
		dec.NotCounted = excludedNames
		dec.Detail += "; not counted here: " + strings.Join(excluded, "; ")
	}
	return dec
}

// unmet says which condition of the rule a user at site fails, or "" if
// the rule's conditions hold (see step 4 in the package comment).
func (r RoleRule) unmet(u *store.User, site string) string {
	if len(r.Sites) > 0 && !containsFold(r.Sites, site) {
		return fmt.Sprintf("counts only at sites %v, not at %s", r.Sites, site)
	}
	if len(r.EmploymentTypes) > 0 {
		et := strings.TrimSpace(u.EmploymentType)
		if et == "" {
			return fmt.Sprintf("counts only for employment types %v, not for user %s (no employment type)", r.EmploymentTypes, u.UserName)
		}
		if !containsFold(r.EmploymentTypes, et) {
			return fmt.Sprintf("counts only for employment types %v, not for user %s (%s)", r.EmploymentTypes, u.UserName, et)
		}
	}
	return ""
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// ExtensionsAt returns the extensions that count on a kiosk of site: those
// approved for that site (compared case-insensitively, as sites are
// everywhere). An extension without a site (recorded before extensions
// had one) counts nowhere.
func ExtensionsAt(exts []store.ShiftExtension, site string) []store.ShiftExtension {
	var out []store.ShiftExtension
	for _, x := range exts {
		if x.Site != "" && strings.EqualFold(x.Site, site) {
			out = append(out, x)
		}
	}
	return out
}

// extensionsFor is ExtensionsAt for the user userID: like a grant, an
// extension recorded for another user, or for none, gives nothing.
func extensionsFor(exts []store.ShiftExtension, userID, site string) []store.ShiftExtension {
	var out []store.ShiftExtension
	for _, x := range exts {
		if x.UserID != "" && x.UserID == userID && x.Site != "" && strings.EqualFold(x.Site, site) {
			out = append(out, x)
		}
	}
	return out
}

// ShiftWindow returns the end of the working window now lies in, allowing
// grace before the window starts. Shifts and the extensions running at now
// that overlap, touch or are at most grace apart are merged into one window
// first: a worker may sign in grace before the next shift anyway, so a
// shorter break ends no session, and every caller (the login decision, the
// expiry of live sessions when shifts or extensions change, the check of a
// new extension) sees the same window. The gap is measured in elapsed time,
// so a break over a daylight saving change is as long as it really is.
// exts must be the extensions of one site (ExtensionsAt), as a window is a
// kiosk's. ok is false when now is in no window. A negative grace counts as
// none: then only shifts that overlap or touch are merged.
//
// It runs on every login: a user's shifts are stored sorted
// (shift.Normalize), and without a running extension they are read where
// they are, not copied (up to shift.MaxShifts of them).
func ShiftWindow(shifts []store.Shift, exts []store.ShiftExtension, now time.Time, grace time.Duration) (end time.Time, ok bool) {
	grace = max(grace, 0)
	running := func(x store.ShiftExtension) bool { return x.Start.Before(x.End) && now.Before(x.End) }
	byStart := func(a, b store.Shift) int { return a.Start.Compare(b.Start) }
	ws := shifts
	if slices.ContainsFunc(exts, running) || !slices.IsSortedFunc(shifts, byStart) {
		ws = make([]store.Shift, 0, len(shifts)+len(exts))
		ws = append(ws, shifts...)
		for _, x := range exts {
			if running(x) {
				ws = append(ws, store.Shift{Start: x.Start, End: x.End})
			}
		}
		slices.SortFunc(ws, byStart)
	}
	for i := 0; i < len(ws); {
		start, stop := ws[i].Start, ws[i].End
		if now.Before(start.Add(-grace)) {
			break // this window and every later one open after now
		}
		j := i + 1
		for ; j < len(ws) && !ws[j].Start.After(stop.Add(grace)); j++ {
			if ws[j].End.After(stop) {
				stop = ws[j].End
			}
		}
		if now.Before(stop) {
			return stop, true
		}
		i = j
	}
	return time.Time{}, false
}

// MaxSessionFor is the longest session the roles may hold together: the
// shortest role MaxSession among them, or Rules.MaxSession
// (DefaultMaxSession if zero).
func (r Rules) MaxSessionFor(roles []string) time.Duration {
	m := r.MaxSession
	if m <= 0 {
		m = DefaultMaxSession
	}
	for _, name := range roles {
		if rm := r.rule(name).MaxSession; rm > 0 && rm < m {
			m = rm
		}
	}
	return m
}

// bounds keeps the earliest session end offered, with the order of
// EndsBy priority deciding ties (see the package comment).
type bounds struct {
	at time.Time
	by string
}

// rank orders EndsBy values for ties: lower wins.
func rank(by string) int {
	switch by {
	case EndsByEndDate:
		return 0
	case EndsByGrant:
		return 1
	case EndsByCertification:
		return 2
	case EndsByShift:
		return 3
	}
	return 4
}

func (b *bounds) offer(t time.Time, by string) {
	if b.by == "" || t.Before(b.at) || t.Equal(b.at) && rank(by) < rank(b.by) {
		b.at, b.by = t, by
	}
}

// Rule returns the rule that applies to a role name: its entry in Roles,
// matched case-insensitively, or Other. It must not be modified.
func (r Rules) Rule(name string) RoleRule { return r.rule(name) }

// Clone returns a deep copy of r, for a caller to change.
func (r Rules) Clone() Rules {
	out := r
	out.Index = nil
	out.Roles = make(map[string]RoleRule, len(r.Roles))
	for name, rr := range r.Roles {
		out.Roles[name] = rr.clone()
	}
	out.Other = r.Other.clone()
	return out
}

func (rr RoleRule) clone() RoleRule {
	rr.Apps, rr.Sites, rr.EmploymentTypes = slices.Clone(rr.Apps), slices.Clone(rr.Sites), slices.Clone(rr.EmploymentTypes)
	return rr
}

// rule returns the rule for a role name, case-insensitively.
func (r *Rules) rule(name string) RoleRule {
	if rule, ok := r.Roles[name]; ok {
		return rule
	}
	if r.Index != nil {
		k, ok := r.Index.keys[store.FoldName(name)]
		if !ok {
			return r.Other
		}
		if rule, ok := r.Roles[k]; ok {
			return rule
		}
	}
	for k, rule := range r.Roles {
		if strings.EqualFold(k, name) {
			return rule
		}
	}
	return r.Other
}

// grantActive reports whether g gives the user access at site now. A
// revoked grant gives nothing, whatever now is: a login decided on a clock
// behind the one that recorded the revocation, or a live session decided
// again as of its start, must not get back what the revocation ended. A
// grant whose user is not known (no UserID) gives nobody anything.
func grantActive(g *store.Grant, userID, site string, now time.Time) bool {
	return g.UserID != "" && g.UserID == userID &&
		strings.EqualFold(g.Site, site) &&
		!now.Before(g.Start) && now.Before(g.End) &&
		g.Revoked.IsZero()
}

// certification reports whether the user holds the certification at now,
// and its expiry (zero: none).
func certification(u *store.User, name string, now time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	for _, c := range u.Certifications {
		if !strings.EqualFold(c.Name, name) {
			continue
		}
		if c.Expires.IsZero() {
			return time.Time{}, true
		}
		if now.Before(c.Expires) && c.Expires.After(best) {
			best, found = c.Expires, true
		}
	}
	return best, found
}

// certProblem says why the user does not hold the certification name at
// site: none by that name, or the latest expiry, with the calendar day it
// was sent as (read at site: at another the same certification may still
// count).
func certProblem(u *store.User, name, site string) string {
	var last store.Certification
	for _, c := range u.Certifications {
		if strings.EqualFold(c.Name, name) && c.Expires.After(last.Expires) {
			last = c
		}
	}
	if last.Expires.IsZero() {
		return "which the user does not hold"
	}
	return "which expired at " + stamp(last.Expires) + dayNote(last.ExpiresDay, site)
}

// dayNote says, for a refusal's detail, which calendar day a date was
// sent as and where it was read; "" for a date sent as an instant.
func dayNote(day, site string) string {
	if day == "" {
		return ""
	}
	return " (the day " + day + " at site " + site + ")"
}

func refuse(code, format string, args ...any) Decision {
	return Decision{Code: code, Detail: fmt.Sprintf(format, args...)}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// compareFold orders names as their lower-case forms compare, then as
// they are: strings.Compare(strings.ToLower(a), strings.ToLower(b)) first,
// without building either lower-case form (a session's roles are sorted on
// every login).
func compareFold(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		rx, nx := utf8.DecodeRuneInString(x)
		ry, ny := utf8.DecodeRuneInString(y)
		if c := cmp.Compare(unicode.ToLower(rx), unicode.ToLower(ry)); c != 0 {
			return c
		}
		x, y = x[nx:], y[ny:]
	}
	return cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(a, b))
}
