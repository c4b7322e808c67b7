// Package store owns the hub's persistent state and the one contract every
// storage backend implements.
//
// The hub never talks SQL outside a backend: hub/scim, hub/lifecycle,
// hub/audit and the rest see only the Store interface and the value types
// below. Every backend must pass the conformance suite in hub/store/storetest,
// which is what makes a second backend (PostgreSQL) safe to add.
//
// Rules every backend follows:
//   - Methods never call time.Now: the caller stamps Created/Modified/...
//     from its injected clock, so tests control time.
//   - Update methods are read-modify-write in one transaction: fn sees the
//     current value and returns the new one, or an error that aborts the
//     change and is returned unchanged.
//   - Version starts at 1 and the store increments it on every update; it is
//     what SCIM ETags are made of. Update methods keep ID and Created
//     whatever fn returns.
//   - Times come back exactly, to the nanosecond, and in UTC.
//   - A missing record is ErrNotFound; a uniqueness violation is ErrConflict.
//     Both are wrapped with context, so compare with errors.Is.
//   - InTx runs several operations atomically: either all of them are
//     committed or none is. A multi-row change (a leaver stripped of every
//     group, credential and session, plus its audit records) always goes
//     through InTx.
//   - InReadTx reads one snapshot across several operations, without a
//     write transaction.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrBusy: another process (a CLI command, a backup, the sqlite3
	// shell) held a lock on the database for longer than the backend
	// waits for it: its write lock, which writes wait for, or a lock that
	// reads wait for too (in SQLite, that of a process rebuilding the
	// write-ahead log's index). Nothing was written; the same request,
	// read or write, may succeed later. The hub answers 503 with
	// Retry-After.
	ErrBusy = errors.New("database locked by another process")
	// ErrFull: the database could not grow (the disk or the file
	// system's quota is full). Nothing was written; writes fail until an
	// operator frees space. The hub answers 507.
	ErrFull = errors.New("database or disk is full")
)

// BusyRetryAfter is the Retry-After, in seconds, of an answer to ErrBusy:
// the busy timeout the request has waited once already.
const BusyRetryAfter = "5"

// Outage says, for an error that is ErrBusy or ErrFull (ok), what its
// client is told (nothing was changed; when to try again), what happened
// and what the operator should do, for the log: the same words from the
// admin API, SCIM and the console.
func Outage(err error) (client, what, do string, ok bool) {
	switch {
	case errors.Is(err, ErrBusy):
		return "the hub's database is locked by another program, so nothing was changed: try again in a few seconds",
			"the database is locked by another process",
			"find the process holding a lock on the hub's database (a shiftgate-hub command, a backup, the sqlite3 shell) and let it finish or stop it; writes fail with 503 until then, and reads too when the lock is one they wait for", true
	case errors.Is(err, ErrFull):
		return "the hub's disk is full, so nothing was changed: the hub's operator must free space before it can save changes",
			"the database or the disk is full",
			"free space on the file system of the hub's data directory (or raise its quota); writes fail with 507 until then", true
	}
	return "", "", "", false
}

// NamedAlike is the message for a userName that several of us, the users
// a lookup by it found (UserQuery.UserName, under Unicode case folding),
// match and none spells exactly: a database from before names were
// folded may hold users whose names differ in non-ASCII case only ("Zoë"
// and "ZOË"), and they keep working, each under its own spelling. The
// message lists their names, to name one exactly.
func NamedAlike(name string, us []User) string {
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = strconv.Quote(u.UserName)
	}
	slices.Sort(names)
	return fmt.Sprintf("%d users have the name %q up to case (from before names were compared under Unicode case folding): name one exactly as it is spelt: %s",
		len(us), name, strings.Join(names, ", "))
}

// Hidden reports whether r does not show as itself where names are
// displayed (the console, logs, CSV exports, the audit trail): a control
// character, a Unicode format character (bidi overrides and isolates,
// zero-width characters), one of the other default-ignorable code
// points, which render as nothing and which spoofing uses because filters
// of format characters miss them (Hangul fillers, the combining grapheme
// joiner, Khmer inherent vowels), or a variation selector (U+FE00-FE0F,
// the Mongolian free ones U+180B-180D and U+180F, U+E0100-E01EF), which is
// default-ignorable too and, after a letter, renders as nothing: a group
// "Supervisor" followed by U+FE0F read as "Supervisor" beside it. With one
// a name could read as another's. The names people give things (tokens,
// console accounts, kiosks, sites, userNames, policy names) are refused
// with one.
func Hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r)
}

// Clip cuts s to at most limit bytes at a rune boundary, marking the cut:
// for text a client sent that goes into the log or the audit trail, which
// a client must not fill a message's worth at a time.
func Clip(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const mark = "…(cut)"
	cut := limit - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// FoldName returns the key under which a name that is compared
// case-insensitively (a userName, a group's displayName) is stored, looked
// up and kept unique: FoldName(a) == FoldName(b) exactly when
// strings.EqualFold(a, b), the Unicode simple case folding the SCIM filter
// and role-name comparisons use. Each rune becomes one representative of
// its unicode.SimpleFold orbit: its lower-case form where that folds with
// it, else the orbit's smallest rune. So an ASCII name's key is the name in
// ASCII lower case, what SQLite's lower() gives; "Élodie" and "ÉLODIE" share
// the key "élodie", which SQLite's NOCASE (ASCII only) does not see. No
// other normalization is done (a decomposed "É" is another name).
func FoldName(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			break
		}
		i++
	}
	if i == len(s) {
		return s // ASCII without upper case: its own key
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune returns FoldName's representative of r's case-folding orbit.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r // the ASCII orbits {K, k, U+212A} and {S, s, U+017F} too
	}
	low := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		low = min(low, f)
	}
	// The orbit's smallest rune is the same for each of its runes; its
	// lower case, when in the orbit, is the friendlier key.
	if l := unicode.ToLower(low); l != low && sameOrbit(l, low) {
		return l
	}
	return low
}

// sameOrbit reports whether a and b are in one case-folding orbit.
func sameOrbit(a, b rune) bool {
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return a == b
}

// Store is a storage backend. Its Ops each run in their own transaction;
// InTx groups several into one.
type Store interface {
	Ops
	// InTx runs fn in one write transaction. If fn returns an error or
	// panics, nothing fn wrote is kept and the error is returned. The Ops
	// given to fn must not be used after fn returns, and InTx must not be
	// called from inside fn. A panic in fn is re-raised, with the same
	// value, after the rollback.
	InTx(ctx context.Context, fn func(tx Ops) error) error
	// InReadTx runs fn in one read-only transaction: every read fn makes
	// through tx sees the store as it was at one instant, no earlier than
	// the call and no later than fn's first read, whatever is committed
	// meanwhile. It is for an answer built from several reads that must
	// agree with each other (SCIM's POST /.search reads users, then
	// groups). It does not hold back writers. A write through tx fails
	// and changes nothing; fn's error is returned unchanged. The Ops given
	// to fn must not be used after fn returns, and InReadTx must not be
	// called from inside InTx's fn.
	InReadTx(ctx context.Context, fn func(tx Ops) error) error
	// Close releases the backend's resources.
	Close() error
}

// Ops is everything that can be read or written, inside or outside a
// transaction.
type Ops interface {
	UserOps
	GroupOps
	SiteOps
	DeviceOps
	CredentialOps
	SessionOps
	LiveOps
	GrantOps
	RevocationOps
	TokenOps
	EnrollmentOps
	AuditOps
	ShiftOps
	GovernanceOps
	ConsoleOps
	PolicyOps
	PageOps
	GrantKeyOps
}

// UserState is where a user stands in the joiner/mover/leaver lifecycle.
// The numbers are stored; never renumber them.
type UserState int

const (
	// UserPending: provisioned, but the start date has not come yet.
	UserPending UserState = 1
	// UserActive: may sign in, subject to policy.
	UserActive UserState = 2
	// UserDisabled: a leaver (active=false or end date passed). The record
	// stays, stripped of groups, credentials and sessions; SCIM still shows it.
	UserDisabled UserState = 3
	// UserDeleted: a tombstone kept for audit after a SCIM DELETE. Invisible
	// to SCIM, does not hold its userName (a re-hire may reuse it).
	UserDeleted UserState = 4
)

func (s UserState) String() string {
	switch s {
	case UserPending:
		return "pending"
	case UserActive:
		return "active"
	case UserDisabled:
		return "disabled"
	case UserDeleted:
		return "deleted"
	}
	return "unknown"
}

// User is a worker or staff member as provisioned by HR or the identity
// provider. The typed fields are what the hub decides on; Document is the
// SCIM representation (core, enterprise and frontline extension attributes,
// without id and meta), owned by hub/scim and stored verbatim.
type User struct {
	ID          string // UUID, assigned by the caller
	UserName    string // unique among users that are not deleted, case-insensitively (FoldName)
	ExternalID  string // the IdP's identifier; may be empty
	DisplayName string
	// Active is the SCIM "active" attribute: what the IdP last asserted, or
	// false once the hub deprovisioned the user at its end date.
	Active bool
	State  UserState

	// Frontline attributes (SCIM extension
	// urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User).
	Sites          []string // site names
	EmploymentType string   // employee, contractor, vendor, temp, or empty
	// StartDate and EndDate are the instants the user's access starts and
	// ends, what the scheduler activates and deprovisions by; zero: none.
	// For a date sent as a calendar day (StartDay, EndDay) they are
	// resolved over the time zones of the user's sites (hub/lifecycle):
	// the earliest start and the latest end, so that the user is neither
	// activated after one site's first day began nor deprovisioned before
	// every site's last day is over. A login decides on the day at its
	// kiosk's site instead (StartIn, EndIn, InZone).
	StartDate time.Time
	EndDate   time.Time
	// StartDay and EndDay are the first and last working day as the
	// identity provider sent them, as a bare date (DayLayout,
	// "2026-12-01"), which means that day where the worker works, not in
	// UTC; empty when it sent an instant, or no date. Access starts at
	// 00:00 of StartDay and ends at 24:00 of EndDay in the time zone of
	// the site of the kiosk. A backend stores them verbatim and refuses
	// one that is not a valid DayLayout date.
	StartDay       string
	EndDay         string
	Shifts         []Shift
	Certifications []Certification

	Document json.RawMessage

	Version  int64
	Created  time.Time
	Modified time.Time
	Deleted  time.Time // set when State is UserDeleted
}

// DayLayout is how User.StartDay and User.EndDay are written: a calendar
// date without a time of day or a zone.
const DayLayout = time.DateOnly

// ValidDay reports whether s is a calendar date in DayLayout.
func ValidDay(s string) bool {
	_, err := time.Parse(DayLayout, s)
	return err == nil
}

// StartIn returns when the user's access starts at a site in time zone
// loc (nil: UTC): the first instant of StartDay there (dayStartIn: 00:00,
// or where the clocks skip midnight the instant they change), or
// StartDate when the start was sent as an instant (or there is none:
// zero). In UTC.
func (u User) StartIn(loc *time.Location) time.Time {
	if t, ok := dayStartIn(u.StartDay, loc); ok {
		return t
	}
	return u.StartDate
}

// EndIn returns when the user's access ends at a site in time zone loc
// (nil: UTC): right after the last instant of EndDay there (dayEndIn:
// 00:00 of the next day, or the instant the clocks skip it), so the whole
// last day is worked, whatever its length; or EndDate when the end was
// sent as an instant (or there is none: zero). In UTC.
func (u User) EndIn(loc *time.Location) time.Time {
	if t, ok := dayEndIn(u.EndDay, loc); ok {
		return t
	}
	return u.EndDate
}

// InZone returns u as seen at a site in time zone loc (nil: UTC): its
// StartDate and EndDate are StartIn(loc) and EndIn(loc), and each of its
// certifications expires at ExpiresIn(loc). A login decision
// (hub/policy) reads the dates of a user seen at the kiosk's site. The
// certifications are copied when one changes: u's slice is the stored
// user's.
func (u User) InZone(loc *time.Location) User {
	u.StartDate, u.EndDate = u.StartIn(loc), u.EndIn(loc)
	copied := false
	for i, c := range u.Certifications {
		if c.ExpiresDay == "" {
			continue
		}
		if !copied {
			u.Certifications, copied = slices.Clone(u.Certifications), true
		}
		u.Certifications[i].Expires = c.ExpiresIn(loc)
	}
	return u
}

// HasDays reports whether one of u's dates was sent as a calendar day (a
// start, an end, a certification's expiry), so that u reads differently
// at sites in different time zones (InZone).
func (u User) HasDays() bool {
	return u.StartDay != "" || u.EndDay != "" ||
		slices.ContainsFunc(u.Certifications, func(c Certification) bool { return c.ExpiresDay != "" })
}

// Shift is one working window.
type Shift struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Certification is a qualification that may gate a role, with its expiry.
type Certification struct {
	Name string `json:"name"`
	// Expires is when the certification stops counting; zero: never.
	// For an expiry sent as a calendar day (ExpiresDay) it is 24:00 of
	// that day in UTC, until a login reads it at the kiosk's site
	// (ExpiresIn, User.InZone).
	Expires time.Time `json:"expires,omitzero"`
	// ExpiresDay is the expiry as the identity provider sent it when it
	// sent a bare date (DayLayout, "2026-12-31"): the last day the
	// certification is valid, where the worker works. It counts up to
	// 24:00 of that day in the time zone of the kiosk's site, as EndDay
	// does, not to its first instant in UTC (for a US site, the evening
	// before). Empty when it sent an instant, or no expiry. A backend
	// stores it verbatim and refuses one that is not a valid DayLayout
	// date.
	ExpiresDay string `json:"expiresDay,omitempty"`
}

// ExpiresIn returns when c stops counting at a site in time zone loc
// (nil: UTC): right after the last instant of ExpiresDay there (dayEndIn,
// as User.EndIn), or Expires when the expiry was sent as an instant (or
// there is none: zero). In UTC.
func (c Certification) ExpiresIn(loc *time.Location) time.Time {
	if t, ok := dayEndIn(c.ExpiresDay, loc); ok {
		return t
	}
	return c.Expires
}

// Equal reports whether c and o are the same certification with the same
// expiry, its instant and its day: "2026-12-31" and 2027-01-01T00:00:00Z
// are one instant in UTC, but not at a site in Los Angeles.
func (c Certification) Equal(o Certification) bool {
	return c.Name == o.Name && c.Expires.Equal(o.Expires) && c.ExpiresDay == o.ExpiresDay
}

// UserQuery selects users. Zero fields do not filter. Results are ordered
// by Created, then ID, so pages are stable.
type UserQuery struct {
	ID         string
	UserName   string // exact, case-insensitive (FoldName)
	ExternalID string // exact, case-sensitive
	// States limits the result to these states; empty means every state
	// except UserDeleted.
	States []UserState
	// StartBy selects users whose StartDate is set and not after it.
	StartBy time.Time
	// EndBy selects users whose EndDate is set and not after it.
	EndBy time.Time
	// After selects the users after it in the list order (and total
	// counts only those): a scan's next batch, read on from the last user
	// of the batch before. Offset, were it used instead, reads and skips
	// every user before the batch again, so that a scan of every user in
	// batches takes time that grows with the square of their number.
	After ListKey
	// NoTotal leaves the number of all matches uncounted, and total -1:
	// a scan's batches after its first need it no more, and counting
	// it reads every match.
	NoTotal bool
	// Offset skips that many matches; Limit caps the page (0: no cap).
	Offset int
	Limit  int
}

// ListKey is a user's or a group's place in the order the store lists
// them in: by Created, then ID. No two have the same, since the ID is
// unique. The zero ListKey is none (UserQuery.After, GroupQuery.After).
type ListKey struct {
	Created time.Time
	ID      string
}

// UserOps reads and writes users.
type UserOps interface {
	// CreateUser stores u as given (ID, times and State set by the caller;
	// Version becomes 1). ErrConflict if the userName is taken.
	CreateUser(ctx context.Context, u User) (User, error)
	// GetUser returns the user with that ID, tombstones included.
	GetUser(ctx context.Context, id string) (User, error)
	// ListUsers returns one page of matches and the number of all matches
	// (-1 with NoTotal), both read from one snapshot: a write committed
	// meanwhile is in neither or in both.
	ListUsers(ctx context.Context, q UserQuery) (users []User, total int, err error)
	// ListUsersWithGroups is ListUsers that also returns, by user ID, the
	// groups each listed user is a member of, without their members and
	// ordered as ListGroups orders them; a user in no group has no entry.
	// It reads users and groups at once, so that answering a SCIM search
	// takes one read however many users the page holds.
	ListUsersWithGroups(ctx context.Context, q UserQuery) (users []User, groups map[string][]Group, total int, err error)
	// UpdateUser replaces the user with what fn returns (ID, Created and
	// Version are kept by the store; Version is incremented).
	UpdateUser(ctx context.Context, id string, fn func(User) (User, error)) (User, error)
}

// Group is a SCIM group. Groups map to roles by DisplayName, which is
// unique case-insensitively (FoldName).
type Group struct {
	ID          string
	DisplayName string
	ExternalID  string
	Members     []string // user IDs, sorted, no duplicates
	Version     int64
	Created     time.Time
	Modified    time.Time
}

// GroupQuery selects groups. Zero fields do not filter. Ordered by Created,
// then ID.
type GroupQuery struct {
	ID          string
	DisplayName string // exact, case-insensitive (FoldName)
	ExternalID  string
	MemberID    string // groups that have this user as a member
	// WithoutMembers leaves Members empty: a user's roles need the names
	// of its groups, not their (possibly huge) member lists.
	WithoutMembers bool
	// After and NoTotal are UserQuery's: a scan's batches after its
	// first read on from the last group read, uncounted.
	After   ListKey
	NoTotal bool
	Offset  int
	Limit   int
}

// GroupOps reads and writes groups and their memberships.
type GroupOps interface {
	// CreateGroup stores g; ErrConflict if the displayName is taken;
	// ErrNotFound if a member does not exist.
	CreateGroup(ctx context.Context, g Group) (Group, error)
	GetGroup(ctx context.Context, id string) (Group, error)
	// ListGroups returns one page of matches and the number of all
	// matches, both read from one snapshot (see ListUsers).
	ListGroups(ctx context.Context, q GroupQuery) (groups []Group, total int, err error)
	// GroupNamesOf returns the display names of the groups userID is a
	// member of, in ListGroups' order: a login's roles, in one lookup.
	GroupNamesOf(ctx context.Context, userID string) ([]string, error)
	// UpdateGroup replaces the group, members included, with what fn
	// returns. ErrNotFound if a new member does not exist.
	UpdateGroup(ctx context.Context, id string, fn func(Group) (Group, error)) (Group, error)
	// DeleteGroup removes the group and its memberships at time at (the
	// members' users change then: they no longer list it).
	DeleteGroup(ctx context.Context, id string, at time.Time) error
	// RemoveMemberships removes the user from every group and returns the
	// groups it was removed from, as they were before.
	RemoveMemberships(ctx context.Context, userID string, at time.Time) ([]Group, error)
}

// Site is a physical location kiosks and users belong to.
type Site struct {
	ID       string
	Name     string // unique, case-insensitive; what users' Sites refer to
	TimeZone string // IANA name, e.g. Europe/Berlin
	Created  time.Time
}

// SiteOps reads and writes sites. Names are compared case-insensitively.
type SiteOps interface {
	CreateSite(ctx context.Context, s Site) (Site, error)
	GetSiteByName(ctx context.Context, name string) (Site, error)
	ListSites(ctx context.Context) ([]Site, error)
	// UpdateSite changes the site named name (compared case-insensitively)
	// in one transaction: fn gets it as stored and returns the new value.
	// The store keeps ID, Name and Created whatever fn returns: users,
	// kiosks, grants and console accounts refer to a site by its name, so
	// a site is never renamed. An unknown name is ErrNotFound.
	UpdateSite(ctx context.Context, name string, fn func(Site) (Site, error)) (Site, error)
}

// DeviceState is a kiosk's standing. Stored numbers; never renumber.
type DeviceState int

const (
	DeviceActive   DeviceState = 1
	DeviceDisabled DeviceState = 2
)

// Device is an enrolled kiosk.
//
// The hub takes only the kiosk's newest device certificate: the one whose
// serial is CertSerial, and PrevCertSerial's until PrevCertUntil. Any other
// certificate its CA issued for the device (one a renewal replaced, whose
// key may be on a disk the kiosk no longer has) is refused at the TLS
// handshake.
type Device struct {
	ID       string
	Name     string // unique, case-insensitive
	Site     string // site name
	Profile  string // firmware profile name
	State    DeviceState
	Version  int64
	Created  time.Time
	Modified time.Time
	LastSeen time.Time
	// CertSerial is the serial number, in lowercase hexadecimal without
	// leading zeros, of the device certificate issued last (at enrollment
	// or renewal). "" for a kiosk enrolled before the hub recorded
	// serials: any certificate of the hub CA for the device is taken
	// until its next renewal records one.
	CertSerial string
	// CertIssued is the NotBefore of the certificate CertSerial names. A
	// certificate of the hub CA for the device issued after it (a later
	// NotBefore) is taken too: only the hub issues them, so it is one whose
	// record was lost, as when the database is restored from a backup
	// older than the kiosk's last renewal. Zero when not recorded (a
	// kiosk pinned before it was), and then only the serials count.
	CertIssued time.Time
	// PrevCertSerial is the serial of the certificate the kiosk renewed
	// with, taken until PrevCertUntil so that a kiosk that did not get the
	// renewal's answer is not locked out. PrevCertUntil is moved to the
	// time the kiosk first opens a channel with CertSerial's certificate,
	// if that is sooner. "" (and PrevCertUntil zero) for none.
	PrevCertSerial string
	PrevCertUntil  time.Time
}

// TakesCert reports whether the hub takes d's certificate with serial
// (CertSerial's format), valid from notBefore, at now: d's current one, one
// issued after it (see CertIssued), its previous one before PrevCertUntil,
// or any one while d has no serial recorded. It says nothing about d's
// State.
func (d Device) TakesCert(serial string, notBefore, now time.Time) bool {
	switch {
	case d.CertSerial == "":
		return true
	case serial == "":
		return false
	case serial == d.CertSerial:
		return true
	case !d.CertIssued.IsZero() && notBefore.After(d.CertIssued):
		return true
	}
	return serial == d.PrevCertSerial && now.Before(d.PrevCertUntil)
}

// DeviceOps reads and writes devices.
type DeviceOps interface {
	CreateDevice(ctx context.Context, d Device) (Device, error)
	GetDevice(ctx context.Context, id string) (Device, error)
	// GetDeviceByName finds a device by its name, case-insensitively: the
	// enabled one, or else the latest disabled one. Names are unique
	// among enabled devices (ErrConflict); a disabled device's name may
	// be given to a new one.
	GetDeviceByName(ctx context.Context, name string) (Device, error)
	// ListDevices returns the devices of a site, its name compared as
	// FoldName compares it (as logins match sites), or of every site for
	// "", ordered by Created, then ID.
	ListDevices(ctx context.Context, site string) ([]Device, error)
	// ListDeviceSites returns each spelling of the devices' sites once
	// (exactly as stored: "North" and "north" are two), ordered by the
	// first device of each spelling in ListDevices' order: the spellings
	// a loop over ListDevices(ctx, "") meets, in the order it meets them.
	// It reads a row per spelling, not per device: the console lists an
	// admin's sites on several pages, and a hub of 10,000 kiosks has a few
	// hundred sites.
	ListDeviceSites(ctx context.Context) ([]string, error)
	// TouchDevices moves each named device's LastSeen forward to its time
	// (never back), without changing its Version or Modified: being seen
	// is not an edit. Unknown devices are skipped.
	TouchDevices(ctx context.Context, seen map[string]time.Time) error
	// CountDevices counts the enabled devices, those away and those away
	// for longer than each of q.Over, in one read: the kiosk metrics ask
	// on every scrape, and a hub of 10,000 kiosks should not list them
	// all for three numbers.
	CountDevices(ctx context.Context, q DeviceCountQuery) (DeviceCounts, error)
	UpdateDevice(ctx context.Context, id string, fn func(Device) (Device, error)) (Device, error)
}

// CredentialState is a WebAuthn credential's standing. Stored numbers.
type CredentialState int

const (
	CredentialActive    CredentialState = 1
	CredentialSuspended CredentialState = 2 // e.g. sign-counter regression: cloned key
	CredentialRevoked   CredentialState = 3
)

func (s CredentialState) String() string {
	switch s {
	case CredentialActive:
		return "active"
	case CredentialSuspended:
		return "suspended"
	case CredentialRevoked:
		return "revoked"
	}
	return fmt.Sprintf("CredentialState(%d)", int(s))
}

// Credential is a user's registered FIDO2 credential.
type Credential struct {
	ID        []byte // WebAuthn credential ID, unique
	UserID    string
	PublicKey []byte // COSE key
	AAGUID    []byte
	SignCount uint32
	State     CredentialState
	Reason    string // why it is suspended or revoked
	Created   time.Time
	LastUsed  time.Time
	// ModelUnproven: the hub could prove authenticator models (FIDO
	// metadata or attestation roots) when the credential was
	// registered, and no attestation proved AAGUID: it is only what the
	// badge claimed. A kiosk whose profile allow-lists models refuses
	// it. False for credentials registered before the hub recorded this.
	ModelUnproven bool
}

// CredentialOps reads and writes credentials.
type CredentialOps interface {
	CreateCredential(ctx context.Context, c Credential) (Credential, error)
	GetCredential(ctx context.Context, id []byte) (Credential, error)
	ListCredentials(ctx context.Context, userID string) ([]Credential, error)
	UpdateCredential(ctx context.Context, id []byte, fn func(Credential) (Credential, error)) (Credential, error)
	// RecordCredentialUse sets an active credential's sign counter from
	// `from` to `to` and its LastUsed to at, in one step: the write of a
	// login, whose checks were made on the credential as read with counter
	// from. It changes nothing else, so the credential is now that copy
	// with the new counter and time. ErrConflict if the credential is no
	// longer active with counter from (it changed since: read it again);
	// ErrNotFound if it does not exist.
	RecordCredentialUse(ctx context.Context, id []byte, from, to uint32, at time.Time) error
	// RevokeCredentials revokes every active or suspended credential of
	// the user and returns them as they are after the change.
	RevokeCredentials(ctx context.Context, userID, reason string) ([]Credential, error)
}

// Session is a sign-in on a kiosk.
type Session struct {
	ID        string
	UserID    string
	DeviceID  string
	Role      string
	Apps      []string
	Started   time.Time
	Expires   time.Time
	Ended     time.Time // zero while live
	EndReason string    // signout, idle, shift_end, expired, deprovisioned, ...
	// ExpiryReason is why the session ends at Expires, the end reason
	// it gets when it runs out: "shift_end" when its shift window bounds
	// it, "expired" when something else does. The hub ends sessions of
	// kiosks that are away when they run out, and tells a kiosk that
	// reconnects, with it. "" for a session stored before the hub kept
	// it, or whose expiry was set without one: it ends as "expired".
	ExpiryReason string
}

// LiveSession is what a revocation needs of a live session.
type LiveSession struct {
	ID       string
	UserID   string
	DeviceID string
	Role     string
}

// SessionQuery selects sessions; zero fields do not filter. Ordered by
// Started, then ID.
type SessionQuery struct {
	UserID   string
	DeviceID string
	LiveOnly bool
	// ExpiresBy selects sessions whose Expires is not after it.
	ExpiresBy time.Time
}

// SessionOps reads and writes sessions.
type SessionOps interface {
	CreateSession(ctx context.Context, s Session) (Session, error)
	// StartSession is CreateSession on a device that is active, checked
	// in the same step: ErrNotFound if s.DeviceID is not an active device.
	StartSession(ctx context.Context, s Session) (Session, error)
	GetSession(ctx context.Context, id string) (Session, error)
	ListSessions(ctx context.Context, q SessionQuery) ([]Session, error)
	// EachLiveSession calls fn with every live session, oldest first, as
	// it reads them, so that a caller can act on the first before the
	// last is read; an error from fn ends the scan and is returned. fn
	// must not use the store.
	EachLiveSession(ctx context.Context, fn func(LiveSession) error) error
	// EndSessions ends every live session of the user and returns them as
	// they are after the change.
	EndSessions(ctx context.Context, userID, reason string, at time.Time) ([]Session, error)
	// EndSession ends one live session; ErrNotFound if none such is live.
	EndSession(ctx context.Context, id, reason string, at time.Time) (Session, error)
	// EndSessionOn is EndSession for a session on deviceID only:
	// ErrNotFound if no such session is live on that device.
	EndSessionOn(ctx context.Context, id, deviceID, reason string, at time.Time) (Session, error)
	// EndSessionsByID ends those of the sessions that are live, in one
	// step, and returns the IDs of the ones it ended, in the order of ids.
	// Sessions that are unknown or already ended are skipped. It returns
	// no records: its callers chose the IDs from records they hold, and
	// reading ten thousand back cost a mass revoke a fifth of its time.
	EndSessionsByID(ctx context.Context, ids []string, reason string, at time.Time) ([]string, error)
}

// Grant is a time-bound, just-in-time role at a site.
type Grant struct {
	ID       string
	UserID   string
	Role     string
	Site     string
	Reason   string
	Approver string
	Start    time.Time
	End      time.Time
	Revoked  time.Time // zero unless revoked early
	Created  time.Time
}

// GrantOps reads and writes just-in-time grants.
type GrantOps interface {
	CreateGrant(ctx context.Context, g Grant) (Grant, error)
	// GetGrant returns one grant; ErrNotFound if there is none with id.
	GetGrant(ctx context.Context, id string) (Grant, error)
	ListGrants(ctx context.Context, userID string) ([]Grant, error)
	// ListActiveGrants returns the user's grants in force at at: not
	// revoked, Start at or before at, End after it (a zero End gives
	// nothing, as policy.Decide reads it), in ListGrants' order (Start,
	// then ID). A login decides on these alone: it reads neither the
	// ended and revoked grants a long-serving worker piles up nor those
	// yet to start, which the policy gives nothing for.
	ListActiveGrants(ctx context.Context, userID string, at time.Time) ([]Grant, error)
	// RevokeGrant revokes one grant that is neither revoked nor over at at
	// and returns it after the change; ErrNotFound otherwise.
	RevokeGrant(ctx context.Context, id string, at time.Time) (Grant, error)
	// RevokeGrants revokes every grant of the user that is not yet over at
	// at, and returns them as they are after the change.
	RevokeGrants(ctx context.Context, userID string, at time.Time) ([]Grant, error)
}

// Revocation is a recorded loss of entitlement: the hub must tear down what
// depended on it. Agents acknowledge the teardown of a session.
type Revocation struct {
	ID        int64 // assigned by the store, increasing
	UserID    string
	SessionID string // empty when no session was live
	DeviceID  string
	Reason    string // deprovisioned, entitlement_removed, forced, ...
	Detail    string // what was removed, e.g. "role:Nurse" or "site:North"
	Created   time.Time
	Acked     time.Time // zero until the agent acknowledged
}

// RevocationQuery selects revocations; zero fields do not filter. Ordered
// by ID.
type RevocationQuery struct {
	UserID      string
	SessionID   string
	DeviceID    string // the kiosk that held the session
	PendingOnly bool   // not yet acknowledged and tied to a session
	AfterID     int64
	Limit       int
}

// RevocationOps records revocations and their acknowledgements.
type RevocationOps interface {
	AddRevocation(ctx context.Context, r Revocation) (Revocation, error)
	// AddRevocations stores rs in order in one step and returns them with
	// their increasing IDs.
	AddRevocations(ctx context.Context, rs []Revocation) ([]Revocation, error)
	ListRevocations(ctx context.Context, q RevocationQuery) ([]Revocation, error)
	// AckRevocations marks every unacknowledged revocation of the session
	// on deviceID acknowledged at at, and returns how many were. Another
	// kiosk cannot acknowledge the teardown of a session it never held.
	AckRevocations(ctx context.Context, sessionID, deviceID string, at time.Time) (int, error)
}

// Token scopes.
const (
	ScopeSCIM  = "scim"
	ScopeAdmin = "admin"
	// ScopeMetrics reads GET /metrics and nothing else: a Prometheus
	// scraper needs no credential that can change access.
	ScopeMetrics = "metrics"
)

// Token is an API bearer token. Only a hash of its secret is stored.
type Token struct {
	ID       string // public part of the token, unique
	Name     string
	Scope    string
	Hash     []byte // SHA-256 of the secret part
	Created  time.Time
	LastUsed time.Time
	Revoked  time.Time // zero while valid
	// Expires is the first instant at which the token is refused. Every
	// token made since tokens expire has one; zero only on a token from
	// before, which never expires until it is rotated or revoked.
	Expires time.Time
	// ReplacedBy is the ID of the token that a rotation made to succeed
	// this one ("" when it was not rotated); the rotation brought Expires
	// forward to the end of the overlap.
	ReplacedBy string
	// CreatedBy is the ID of the console account that made the token on
	// the console (created it, or rotated its predecessor): the person
	// shown its secret, whom a request with the token stands for in the
	// checks that keep a person from deciding on their own access. ""
	// for a token the CLI operator made, who is no hub user, and for one
	// made before tokens recorded their maker. It never changes:
	// UpdateToken keeps it, as it keeps ID and Created.
	CreatedBy string
}

// TokenOps reads and writes API tokens.
type TokenOps interface {
	CreateToken(ctx context.Context, t Token) (Token, error)
	GetToken(ctx context.Context, id string) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	UpdateToken(ctx context.Context, id string, fn func(Token) (Token, error)) (Token, error)
}

// EnrollmentCode is a one-time code that lets one kiosk enroll. Only a
// hash of the code is stored.
type EnrollmentCode struct {
	Hash       []byte // SHA-256 of the code, unique
	DeviceName string
	Site       string
	// Profile, when set, is the hardware profile the kiosk must enroll
	// with: whoever types the code cannot pick a laxer one.
	Profile string
	Created time.Time
	Expires time.Time
	Used    time.Time // zero until used
}

// EnrollmentOps issues and redeems enrollment codes.
type EnrollmentOps interface {
	CreateEnrollmentCode(ctx context.Context, c EnrollmentCode) error
	// UseEnrollmentCode marks the code with that hash used at at and
	// returns it. ErrNotFound unless such a code exists, is unused and
	// has not expired at at: a code works once.
	UseEnrollmentCode(ctx context.Context, hash []byte, at time.Time) (EnrollmentCode, error)
}

// AuditRecord is one entry of the append-only, hash-chained audit log.
// hub/audit computes Prev and Hash; the store keeps the records in Seq
// order and never changes one.
type AuditRecord struct {
	Seq     int64 // 1, 2, 3, ... without gaps
	Time    time.Time
	Actor   string // who or what caused it: "token:<id> (<name>)", "scheduler", "admin:<name>"
	Action  string // e.g. user.create, user.deprovision, group.update
	Subject string // what it is about, e.g. "user:<id>"
	System  string // which interface: scim, api, scheduler, cli, agent
	Detail  json.RawMessage
	Prev    []byte
	Hash    []byte
}

// AuditQuery selects audit records in Seq order.
type AuditQuery struct {
	AfterSeq int64
	Limit    int    // 0: no cap
	Subject  string // exact
	Action   string // exact
}

// AuditOps appends to and reads the audit log.
type AuditOps interface {
	// AuditHead returns the last record's Seq and Hash (0 and nil when the
	// log is empty).
	AuditHead(ctx context.Context) (seq int64, hash []byte, err error)
	// AppendAudit stores r. ErrConflict unless r.Seq is the head's Seq + 1
	// and r.Prev the head's Hash (nil for the first record): a writer that
	// remembers the head instead of reading it learns here that it moved.
	AppendAudit(ctx context.Context, r AuditRecord) error
	// AppendAuditBatch stores consecutive records in one step. ErrConflict
	// unless the first follows the head (Seq and Prev, as in AppendAudit)
	// and each the one before it (Seq).
	AppendAuditBatch(ctx context.Context, rs []AuditRecord) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
	// CheckAuditIndexes checks what the backend keeps apart from the
	// records to search them by subject and action (SQLite: the deferred
	// indexes) against the records, in one snapshot: an *AuditIndexError
	// for the first entry that is missing or names the wrong record, nil
	// when they agree or the backend keeps none. The hash chain does not
	// cover such indexes, so an index edited in the database hides records
	// from a search, or shows them under another user, while the chain
	// still verifies.
	CheckAuditIndexes(ctx context.Context) error
}

// AuditIndexError is CheckAuditIndexes' report of a search index of the
// audit trail that disagrees with the records. The records are not
// affected: the index can be rebuilt from them.
type AuditIndexError struct {
	Index string // the index, as the backend names it (SQLite: its table)
	// Val and Seq are the first bad entry: a subject or action and the
	// record it points at (Seq 0 and Val "" when the index's mark of
	// what it covers is wrong).
	Val    string
	Seq    int64
	Reason string
}

func (e *AuditIndexError) Error() string {
	return fmt.Sprintf("audit search index %s: %s", e.Index, e.Reason)
}
