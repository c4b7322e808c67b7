package console

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// home sends each account to its start page.
func (c *Console) home(w http.ResponseWriter, r *http.Request, v *viewer) error {
	http.Redirect(w, r, landing(v.account), http.StatusSeeOther)
	return nil
}

// teardown is one revocation on the dashboard, with how long the kiosk
// took to acknowledge it.
type teardown struct {
	Rev      store.Revocation
	User     string
	Kiosk    string
	Duration time.Duration // zero while not acknowledged
}

type dashboardData struct {
	KiosksOnline, KiosksActive int
	Live                       liveData
	Teardowns                  []teardown
	Metrics                    []Metric
	MetricsError               bool
	Watch                      *watchView // shown only when the audit watch found a break
	// ShowLive: the page has the live sessions (who is signed in where
	// now, with sign-out buttons), which admins get and auditors do not:
	// reviewing controls needs no one's presence.
	ShowLive bool
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	d := dashboardData{Watch: c.watchView()}
	var err error
	if d.KiosksOnline, d.KiosksActive, err = c.kiosksOnline(ctx); err != nil {
		return err
	}
	if d.ShowLive = v.admin(); d.ShowLive {
		if d.Live, err = c.live(ctx, v); err != nil {
			return err
		}
	}
	revs, err := c.st.RecentRevocations(ctx, 200)
	if err != nil {
		return err
	}
	users := userNames{c: c}
	// The names of the kiosks listed only, each read once: at most 20,
	// where every kiosk of the hub was read for them.
	kiosks := map[string]string{}
	for _, rv := range revs {
		if rv.SessionID == "" {
			continue
		}
		name, ok := kiosks[rv.DeviceID]
		if !ok {
			dv, err := c.st.GetDevice(ctx, rv.DeviceID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			name, kiosks[rv.DeviceID] = dv.Name, dv.Name
		}
		td := teardown{Rev: rv, User: users.name(ctx, rv.UserID), Kiosk: name}
		if !rv.Acked.IsZero() {
			td.Duration = max(rv.Acked.Sub(rv.Created), time.Nanosecond)
		}
		d.Teardowns = append(d.Teardowns, td)
		if len(d.Teardowns) == 20 {
			break
		}
	}
	if c.cfg.Metrics != nil {
		if d.Metrics, err = c.cfg.Metrics(ctx); err != nil {
			c.cfg.Logger.Error("console: program metrics", "err", err)
			d.Metrics, d.MetricsError = nil, true
		}
	}
	c.render(w, r, http.StatusOK, "dashboard", v, &page{Title: "Dashboard", Nav: "dashboard", Data: d})
	return nil
}

// kiosksOnline counts the enabled kiosks, and those of them holding their
// channel now. With the open channels listed (Config.KioskConnected, as
// the hub sets it) the store counts both in one statement, the enabled
// kiosks not among the channels being away (CountDevices), rather than
// every kiosk of the hub being read on each load of the dashboard;
// without the list, KioskOnline is asked of each enabled kiosk, which
// takes reading them all.
func (c *Console) kiosksOnline(ctx context.Context) (online, active int, err error) {
	if c.cfg.KioskConnected != nil {
		n, err := c.st.CountDevices(ctx, store.DeviceCountQuery{Now: c.cfg.Now(), Connected: c.cfg.KioskConnected()})
		if err != nil {
			return 0, 0, err
		}
		return n.Enrolled - n.Away, n.Enrolled, nil
	}
	devices, err := c.st.ListDevices(ctx, "")
	if err != nil {
		return 0, 0, err
	}
	for _, dv := range devices {
		if dv.State == store.DeviceActive {
			active++
			if c.cfg.KioskOnline(dv.ID) {
				online++
			}
		}
	}
	return online, active, nil
}

// userNames resolves user IDs to userNames, once each.
type userNames struct {
	c     *Console
	cache map[string]string
}

func (u *userNames) name(ctx context.Context, id string) string {
	if n, ok := u.cache[id]; ok {
		return n
	}
	if u.cache == nil {
		u.cache = map[string]string{}
	}
	n := id
	if usr, err := u.c.st.GetUser(ctx, id); err == nil {
		n = usr.UserName
	}
	u.cache[id] = n
	return n
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 100 {
		return badRequest("the search text is too long")
	}
	users, err := c.st.SearchUsers(r.Context(), store.UserSearch{Text: q, Limit: 100})
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "users", v, &page{Title: "Users", Nav: "users", Data: map[string]any{"Q": q, "Users": users}})
	return nil
}

type sessionRow struct {
	Session store.Session
	Kiosk   string
	Site    string
	User    string
}

type userData struct {
	User        store.User
	Roles       []string
	Grants      []store.Grant
	Credentials []store.Credential
	Sessions    []sessionRow
	Audit       []store.AuditRecord
	Now         time.Time
}

// userSessions is how many of a user's latest sessions the user's page
// shows.
const userSessions = 100

func (c *Console) userPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	u, err := c.scopedUser(ctx, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	d := userData{User: u, Now: c.cfg.Now()}
	groups, _, err := c.st.ListGroups(ctx, store.GroupQuery{MemberID: u.ID, WithoutMembers: true})
	if err != nil {
		return err
	}
	for _, g := range groups {
		d.Roles = append(d.Roles, g.DisplayName)
	}
	if d.Grants, err = c.st.ListGrants(ctx, u.ID); err != nil {
		return err
	}
	if d.Credentials, err = c.st.ListCredentials(ctx, u.ID); err != nil {
		return err
	}
	// The latest userSessions only, newest first: a worker's history
	// grows by a session or more every shift, and was read whole to show
	// a hundred.
	sessions, err := c.st.ListRecentSessions(ctx, u.ID, userSessions)
	if err != nil {
		return err
	}
	kiosks := map[string]store.Device{}
	for _, s := range sessions {
		dv, ok := kiosks[s.DeviceID]
		if !ok {
			dv, _ = c.st.GetDevice(ctx, s.DeviceID)
			kiosks[s.DeviceID] = dv
		}
		d.Sessions = append(d.Sessions, sessionRow{Session: s, Kiosk: dv.Name, Site: dv.Site})
	}
	if d.Audit, err = c.st.SearchAudit(ctx, store.AuditSearch{Subjects: []string{"user:" + u.ID}, Limit: 100}); err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "user", v, &page{Title: u.UserName, Nav: "users", Data: d})
	return nil
}

func (c *Console) userSignout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	u, err := c.scopedUser(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := c.cfg.Engine.ForceSignOut(r.Context(), v.actor(), u.ID); err != nil {
		return err
	}
	return done(w, r, "/console/users/"+u.ID, "user-signed-out")
}

// userDisable is a leaver from the console: the user is deactivated and
// stripped like a SCIM active=false. The identity provider remains the
// source of truth and may re-enable the user.
func (c *Console) userDisable(w http.ResponseWriter, r *http.Request, v *viewer) error {
	u, err := c.scopedUser(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	if _, err := c.cfg.Engine.UpdateUser(r.Context(), v.actor(), u.ID, func(old store.User) (store.User, error) {
		old.Active = false
		return old, nil
	}); err != nil {
		return err
	}
	return done(w, r, "/console/users/"+u.ID, "user-disabled")
}

func (c *Console) credentialRevoke(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id, err := hex.DecodeString(r.PathValue("id"))
	if err != nil || len(id) == 0 {
		return badRequest("the credential id is hex")
	}
	cr, err := c.st.GetCredential(r.Context(), id)
	if err != nil {
		return err
	}
	if _, err := c.scopedUser(r.Context(), v, cr.UserID); err != nil {
		return err
	}
	err = c.cfg.Engine.RevokeCredential(r.Context(), v.actor(), id, "revoked by "+v.actor().Name)
	if errors.Is(err, lifecycle.ErrCredentialNotActive) {
		// Revoked by another admin, another tab or a repeated submit:
		// nothing was done again, and the page says so.
		return done(w, r, "/console/users/"+cr.UserID, "credential-unchanged")
	}
	if err != nil {
		return err
	}
	return done(w, r, "/console/users/"+cr.UserID, "credential-revoked")
}

type deviceRow struct {
	Device store.Device
	Online bool
	// LastSeen is the later of the stored last-seen time and a sighting
	// the hub has not stored yet (Config.KioskSeen).
	LastSeen time.Time
	Live     int
	// Cleanup is set while the kiosk reports its start-up clean-up
	// failing (Config.KioskCleanup).
	Cleanup *KioskCleanup
}

type devicesData struct {
	Devices     []deviceRow
	Sites       []string
	Code        string // a new enrollment code, shown once
	CodeFor     string
	CodeProfile string // the profile the new code binds, "" for any
	// CodeKey is the code form's key (secretFormKey), new on every load
	// of the page: the form sent twice makes one code.
	CodeKey string
	// CodeRepeated is the code the form made when it was sent before:
	// its secret was shown on the first answer only.
	CodeRepeated *repeatedCode
	// Profiles are the kiosk hardware profiles the hub knows, sorted: the
	// choices for binding a new code.
	Profiles []string
}

func (c *Console) devicesData(ctx context.Context, v *viewer) (devicesData, error) {
	var d devicesData
	// A kiosk that left since the hub last stored its sightings has in
	// the store the time its channel opened, maybe days ago; its sighting
	// in memory says when it left. The reads go in the order a kiosk's
	// leaving is written in, backwards (as for the hub's kiosk metrics):
	// its sighting is marked before its channel leaves the registry, and
	// kept in memory until the store has it. So the open channels are
	// read first, then the sightings, then the store: a kiosk not among
	// the first is in one of the others, with the time it left.
	online := c.cfg.KioskOnline
	if c.cfg.KioskConnected != nil {
		connected := map[string]bool{}
		for _, id := range c.cfg.KioskConnected() {
			connected[id] = true
		}
		online = func(id string) bool { return connected[id] }
	}
	var seen map[string]time.Time
	if c.cfg.KioskSeen != nil {
		seen = c.cfg.KioskSeen()
	}
	var cleanups map[string]KioskCleanup
	if c.cfg.KioskCleanup != nil {
		cleanups = c.cfg.KioskCleanup()
	}
	devices, err := c.st.ListDevices(ctx, "")
	if err != nil {
		return d, err
	}
	live, err := c.st.ListSessions(ctx, store.SessionQuery{LiveOnly: true})
	if err != nil {
		return d, err
	}
	perDevice := map[string]int{}
	for _, s := range live {
		perDevice[s.DeviceID]++
	}
	for _, dv := range devices {
		last := dv.LastSeen
		if at := seen[dv.ID]; at.After(last) {
			last = at
		}
		row := deviceRow{Device: dv, Online: online(dv.ID), LastSeen: last, Live: perDevice[dv.ID]}
		if cl, ok := cleanups[dv.ID]; ok {
			row.Cleanup = &cl
		}
		d.Devices = append(d.Devices, row)
	}
	d.Profiles = slices.Sorted(maps.Keys(c.cfg.Profiles))
	if d.CodeKey, err = newGrantFormKey(); err != nil {
		return d, err
	}
	d.Sites, err = c.visibleSites(ctx, v)
	return d, err
}

// repeatedCode is what the Kiosks page says of the code a form sent again
// made: for which kiosk, and until when it works, or that it has expired.
type repeatedCode struct {
	For, Site, Profile string
	Expires            time.Time
	// Expired: the form was sent again after the code's CodeTTL (its key
	// is kept far longer), so the page says to make another rather than
	// that the code works until a time gone by.
	Expired bool
}

func (c *Console) devicesPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d, err := c.devicesData(r.Context(), v)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "devices", v, &page{Title: "Kiosks", Nav: "devices", Data: d})
	return nil
}

// deviceCode issues a one-time kiosk enrollment code and shows it once.
// A profile binds the code to that hardware profile, as with the CLI and
// the API: the kiosk must enroll with it, so that whoever types the code
// cannot pick one with laxer rules for user verification or badge models.
// No profile is a code any profile may redeem. The form's key
// (secretFormKey), kept in the transaction that stores the code, makes
// the form sent twice one code: the second answer says which and until
// when it works, and that it was shown once, on the first.
func (c *Console) deviceCode(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := fields(r, "name", "site", "profile", "once")
	if err != nil {
		return err
	}
	once, err := secretFormKey(v, codeForm, f[3], f[:3])
	if err != nil {
		return err
	}
	if err := enroll.CheckKiosk(f[0], f[1]); err != nil {
		return badRequest(err.Error())
	}
	profile := f[2]
	if _, ok := c.cfg.Profiles[profile]; profile != "" && !ok {
		// Refused before anything is made: a code no kiosk can redeem
		// would be found out only at the kiosk.
		return badRequest(fmt.Sprintf("unknown kiosk profile %q: choose one of %s, or any profile",
			profile, strings.Join(slices.Sorted(maps.Keys(c.cfg.Profiles)), ", ")))
	}
	site, err := c.scopedSite(r.Context(), v, f[1])
	if err != nil {
		return err
	}
	now := c.cfg.Now().UTC()
	var prior store.GrantKey // the key, when it made a code before
	// Looked up first, and again in the code's transaction (the second
	// of two requests racing): sent again after its kiosk enrolled, the
	// form is told of its code, not that the kiosk's name is taken.
	made := func(ctx context.Context, ops store.Ops) error {
		k, err := formMade(ctx, ops, *once, now)
		if err == nil {
			prior = k
			return errFormMadeBefore
		}
		return err
	}
	var code string
	if once == nil {
		code, err = enroll.NewCode(r.Context(), c.st, c.cfg.Audit, v.actor().Name, f[0], site, profile, now)
	} else if err = made(r.Context(), c.st); errors.Is(err, store.ErrNotFound) {
		code, err = enroll.NewCodeIn(r.Context(), c.st, c.cfg.Audit, v.actor().Name, f[0], site, profile, now,
			func(ctx context.Context, tx store.Ops, hash []byte) error {
				if err := made(ctx, tx); !errors.Is(err, store.ErrNotFound) {
					return err
				}
				return keepFormKey(ctx, tx, *once, hex.EncodeToString(hash), now)
			})
	}
	switch {
	case errors.Is(err, errFormKeyReused):
		return errCodeFormReused
	case errors.Is(err, errFormMadeBefore):
		d, err := c.devicesData(r.Context(), v)
		if err != nil {
			return err
		}
		expires := prior.Created.Add(enroll.CodeTTL)
		// A code works while now is before its expiry, as the store
		// redeems it.
		d.CodeRepeated = &repeatedCode{For: f[0], Site: site, Profile: profile, Expires: expires, Expired: !now.Before(expires)}
		c.render(w, r, http.StatusOK, "devices", v, &page{Title: "Kiosks", Nav: "devices", Data: d})
		return nil
	case err != nil:
		return err
	}
	d, err := c.devicesData(r.Context(), v)
	if err != nil {
		return err
	}
	d.Code, d.CodeFor, d.CodeProfile = code, f[0], profile
	c.render(w, r, http.StatusCreated, "devices", v, &page{Title: "Kiosks", Nav: "devices", Data: d})
	return nil
}

// errCodeFormReused refuses a code form whose key made a code already
// with other values: a page sent again after it was changed (one
// restored by the browser's Back button, say). A new page has a new key.
var errCodeFormReused = &statusError{http.StatusConflict,
	"this enrollment code form was sent before with other values, and made the code it asked for then: reload the page to make another code"}

func (c *Console) deviceDisable(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d, err := c.scopedDevice(r.Context(), v, r.PathValue("id"))
	if err != nil {
		return err
	}
	err = c.cfg.DisableDevice(r.Context(), v.actor(), d.ID)
	if errors.Is(err, lifecycle.ErrDeviceNotActive) {
		// Disabled by another admin, another tab or a repeated submit:
		// nothing was done again, and the page says so.
		return done(w, r, "/console/devices", "device-unchanged")
	}
	if err != nil {
		return err
	}
	return done(w, r, "/console/devices", "device-disabled")
}

type auditData struct {
	User, Device, Action, From, To string
	Records                        []store.AuditRecord
	// Older is the URL of the next page, "" on the last. It is the whole
	// URL, not a query for the template to append: html/template escapes a
	// value after "?" as one query component, & and = included.
	Older  string
	Verify *verifyResult
	Watch  *watchView
}

// watchView is what the hub's audit watch found, for the audit page.
type watchView struct {
	Checked int64  // the newest record checked
	At      string // when the last check completed (UTC), "" before the first
	Breaks  int64
	Stopped string
}

func (c *Console) watchView() *watchView {
	if c.cfg.AuditWatch == nil {
		return nil
	}
	st := c.cfg.AuditWatch()
	w := &watchView{Checked: st.Checked.Seq, Breaks: st.Breaks, Stopped: st.Stopped}
	if !st.CheckedAt.IsZero() {
		w.At = st.CheckedAt.UTC().Format("2006-01-02 15:04:05")
	}
	return w
}

type verifyResult struct {
	OK      bool
	Records int64  // records that verified
	Head    string // the head as an anchor (SEQ:HEX), "" on an empty trail
	Given   string // the anchor checked against, "" without one
	Problem string
	// Anchored: the break is a record an anchor contradicts, so the
	// records before it link up but are not the trail the anchor was
	// taken from.
	Anchored bool
	// Watched is the record the hub's audit watch checked last, which
	// the trail was checked against too ("" without one).
	Watched string
	// Index is what is wrong with the trail's search indexes, which the
	// chain does not cover (store.AuditIndexError), "" when they agree
	// with the records.
	Index string
}

// auditQuery turns the audit page's filters into a store search.
func (c *Console) auditQuery(ctx context.Context, r *http.Request) (auditData, store.AuditSearch, error) {
	q := r.URL.Query()
	d := auditData{User: q.Get("user"), Device: q.Get("device"), Action: q.Get("action"), From: q.Get("from"), To: q.Get("to")}
	s := store.AuditSearch{Action: strings.TrimSpace(d.Action), Limit: 100}
	for _, f := range []string{d.User, d.Device, d.Action, d.From, d.To} {
		if len(f) > 200 {
			return d, s, badRequest("a filter is too long")
		}
	}
	if d.User != "" {
		us, _, err := c.st.ListUsers(ctx, store.UserQuery{UserName: strings.TrimSpace(d.User), States: []store.UserState{store.UserActive, store.UserPending, store.UserDisabled, store.UserDeleted}})
		if err != nil {
			return d, s, err
		}
		if len(us) == 0 {
			return d, s, &statusError{http.StatusNotFound, "no user " + d.User}
		}
		// Every user who has had the name: a re-hire is a new user, and
		// the records of the earlier employment stay.
		for _, u := range us {
			s.Subjects = append(s.Subjects, "user:"+u.ID)
		}
	}
	if d.Device != "" {
		// Every kiosk that has had the name: a disabled one gives it to
		// the hardware that replaces it, and its records stay.
		name := strings.TrimSpace(d.Device)
		ds, err := c.st.ListDevices(ctx, "")
		if err != nil {
			return d, s, err
		}
		for _, dv := range ds {
			if strings.EqualFold(dv.Name, name) {
				s.Mentions = append(s.Mentions, dv.ID)
			}
		}
		if len(s.Mentions) == 0 {
			return d, s, &statusError{http.StatusNotFound, "no kiosk " + name}
		}
	}
	now := c.cfg.Now()
	var err error
	if d.From != "" {
		if s.From, err = ParseTime(d.From, now, time.UTC); err != nil {
			return d, s, badRequest("from: " + err.Error())
		}
	}
	if d.To != "" {
		if s.To, err = ParseTime(d.To, now, time.UTC); err != nil {
			return d, s, badRequest("to: " + err.Error())
		}
	}
	if b := q.Get("before"); b != "" {
		if s.BeforeSeq, err = strconv.ParseInt(b, 10, 64); err != nil || s.BeforeSeq < 1 {
			return d, s, badRequest("before is a record number")
		}
	}
	return d, s, nil
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	d, s, err := c.auditQuery(r.Context(), r)
	if err != nil {
		return err
	}
	if d.Records, err = c.st.SearchAudit(r.Context(), s); err != nil {
		return err
	}
	d.Watch = c.watchView()
	if n := len(d.Records); n == s.Limit && d.Records[n-1].Seq > 1 {
		q := r.URL.Query()
		q.Set("before", strconv.FormatInt(d.Records[n-1].Seq, 10))
		d.Older = "/console/audit?" + q.Encode()
	}
	c.render(w, r, http.StatusOK, "audit", v, &page{Title: "Audit trail", Nav: "audit", Data: d})
	return nil
}

// auditVerify walks the whole hash chain, as `shiftgate-hub audit verify`
// does, and shows the result. It checks the trail against the record the
// hub's audit watch checked last, as audit verify checks audit.head, and
// with ?anchor=SEQ:HASH (a head kept from an earlier verify) against that
// too, as --anchor does: only anchors show records cut off the end, or a
// trail re-sealed by whoever holds audit.key. It checks the trail's search
// indexes against the records as well, as audit verify does.
func (c *Console) auditVerify(w http.ResponseWriter, r *http.Request, v *viewer) error {
	var (
		opts  []audit.Option
		given int64 // the record the anchor given names
	)
	res := &verifyResult{}
	if s := r.URL.Query().Get("anchor"); strings.TrimSpace(s) != "" {
		// A valid anchor is at most 19+1+64 characters; do not echo a
		// page of pasted text back in the error.
		if len(s) > 200 {
			return badRequest("the anchor is too long: want SEQ:HASH, as the verify result shows the head")
		}
		a, err := audit.ParseAnchor(s)
		if err != nil {
			return badRequest(err.Error())
		}
		opts = append(opts, audit.WithAnchor(a))
		res.Given, given = a.String(), a.Seq
	}
	if c.cfg.AuditWatch != nil {
		// Against the record the watch checked last too, as audit verify
		// checks audit.head: records cut off the end leave the rest
		// intact under the key, and without it the page said intact for
		// up to a minute after a cut, until the watch's next check. An
		// anchor given for the same record checks it already (and one
		// that disagrees must not turn the check into two trails'
		// anchors refused).
		if head := c.cfg.AuditWatch().Checked; head.Seq > 0 && head.Seq != given {
			opts = append(opts, audit.WithAnchor(head))
			res.Watched = head.String()
		}
	}
	rep, err := audit.Verify(r.Context(), c.cfg.AuditKey, c.st, opts...)
	res.Records = rep.Records
	if rep.HeadSeq > 0 {
		res.Head = rep.Anchor().String()
	}
	var broken *audit.BrokenError
	switch {
	case errors.As(err, &broken):
		res.Problem, res.Anchored = broken.Error(), broken.Anchored
	case err != nil:
		return err
	default:
		res.OK = true
	}
	// The search indexes too (the user and action filters of this page,
	// a user's audit trail): the chain does not cover them.
	var badIndex *store.AuditIndexError
	if err := c.st.CheckAuditIndexes(r.Context()); errors.As(err, &badIndex) {
		res.Index = badIndex.Error()
	} else if err != nil {
		return err
	}
	// The check is itself on the record, and a broken chain is an alert:
	// whoever reads the trail later sees who checked it when, against
	// which anchor, and what they were shown.
	detail := map[string]any{"ok": res.OK && res.Index == "", "records": res.Records}
	if res.Head != "" {
		detail["head"] = res.Head
	}
	if res.Given != "" {
		detail["anchor"] = res.Given
	}
	if res.Watched != "" {
		detail["watch_head"] = res.Watched
	}
	if !res.OK {
		detail["problem"], detail["anchored"] = res.Problem, res.Anchored
		c.cfg.Logger.Error("console: the audit hash chain does not verify; see hub/README.md, Audit trail",
			"by", v.account.Name, "problem", res.Problem)
	}
	if res.Index != "" {
		detail["index_problem"] = res.Index
		c.cfg.Logger.Error("console: the audit trail's search indexes do not match its records; run shiftgate-hub audit verify, which says how to rebuild them",
			"by", v.account.Name, "problem", res.Index)
	}
	if err := c.auditNow(r.Context(), v, "audit.verify", "audit", detail); err != nil {
		// The result stands: a broken chain must be seen even when the
		// trail cannot take the record of the check.
		c.cfg.Logger.Error("console: record the audit verification", "err", err)
	}
	c.render(w, r, http.StatusOK, "audit", v, &page{Title: "Audit trail", Nav: "audit", Data: auditData{Verify: res}})
	return nil
}

// auditExport downloads the log as JSON lines, like `audit export`. The
// export itself is recorded: who took a copy of the trail is audit-worthy.
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, v *viewer) error {
	var after int64
	if a := r.URL.Query().Get("after"); a != "" {
		var err error
		if after, err = strconv.ParseInt(a, 10, 64); err != nil || after < 0 {
			return badRequest("after is a record number")
		}
	}
	if err := c.auditNow(r.Context(), v, "audit.export", "audit", map[string]any{"after": after}); err != nil {
		return err
	}
	opts := []audit.Option{audit.WithSigner(c.cfg.AuditSigner, c.cfg.AuditKey)}
	if c.cfg.AuditWatch != nil {
		// The trail must still hold the record the watch checked last:
		// records cut off the end leave the rest intact under the key,
		// and the download must not be signed as the whole trail without
		// them in the minute before the watch's next check sees it.
		if head := c.cfg.AuditWatch().Checked; head.Seq > 0 {
			opts = append(opts, audit.WithAnchor(head))
		}
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="shiftgate-audit.jsonl"`)
	if _, err := audit.Export(r.Context(), c.st, after, w, opts...); err != nil {
		// The status line is gone; the truncated download says enough.
		c.cfg.Logger.Error("console: audit export", "err", err)
	}
	return nil
}

type accountRow struct {
	Account  store.ConsoleAccount
	Passkeys int
	// HubUser is the userName of the hub user the account is linked to
	// ("" for none), HubUserState that user's state unless it is active.
	HubUser, HubUserState string
}

func (c *Console) accountsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	return c.renderAccounts(w, r, v, http.StatusOK, "", "")
}

func (c *Console) renderAccounts(w http.ResponseWriter, r *http.Request, v *viewer, code int, link, name string) error {
	as, err := c.st.ListConsoleAccounts(r.Context())
	if err != nil {
		return err
	}
	rows := make([]accountRow, 0, len(as))
	for _, a := range as {
		creds, err := c.st.ListConsoleCredentials(r.Context(), a.ID)
		if err != nil {
			return err
		}
		n := 0
		for _, cr := range creds {
			if cr.Revoked.IsZero() {
				n++
			}
		}
		row := accountRow{Account: a, Passkeys: n}
		if id := hubUserOf(a); id != "" {
			u, err := c.st.GetUser(r.Context(), id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				row.HubUser, row.HubUserState = id, "unknown"
			case err != nil:
				return err
			default:
				row.HubUser = u.UserName
				if u.State != store.UserActive {
					row.HubUserState = u.State.String()
				}
			}
		}
		rows = append(rows, row)
	}
	sites, err := c.visibleSites(r.Context(), v)
	if err != nil {
		return err
	}
	c.render(w, r, code, "accounts", v, &page{Title: "Console accounts", Nav: "accounts",
		Data: map[string]any{"Accounts": rows, "Link": link, "LinkFor": name, "Sites": sites, "TTL": c.cfg.InviteTTL}})
	return nil
}

// accountInvite creates an admin, supervisor or auditor account and shows
// its one-time invitation link. The account is linked to the hub user
// named in the optional field user, or else to the hub user of its name,
// if any (createAccount).
func (c *Console) accountInvite(w http.ResponseWriter, r *http.Request, v *viewer) error {
	get, err := form(r)
	if err != nil {
		return err
	}
	name, err := get("name")
	if err != nil {
		return err
	}
	role, err := get("role")
	if err != nil {
		return err
	}
	userName, err := get("user")
	if err != nil {
		return err
	}
	if err := validName(name); err != nil {
		return err
	}
	var sites []string
	for _, s := range r.PostForm["sites"] {
		if s = strings.TrimSpace(s); s != "" && len(s) <= 100 && !slices.Contains(sites, s) {
			sites = append(sites, s)
		}
	}
	switch role {
	case store.ConsoleAdmin:
		sites = nil
	case store.ConsoleSupervisor:
		if len(sites) == 0 {
			return badRequest("a supervisor needs at least one site")
		}
	case store.ConsoleAuditor:
		// Refused rather than dropped: an admin ticking a site may think
		// it limits what the auditor reads, and it would not.
		if len(sites) > 0 {
			return badRequest("an auditor has no sites: it reads the whole audit trail, every review and every finding; leave the sites empty")
		}
	default:
		return badRequest("the role is admin, supervisor or auditor")
	}
	now := c.cfg.Now().UTC()
	var link string
	err = c.st.InTx(r.Context(), func(tx store.Ops) error {
		a, u, err := createAccount(r.Context(), tx, c.cfg.Audit, v.actor().Name, v.actor().System, newAccount(name, role, sites, v.actor().Name, now), userName)
		if err != nil {
			return err
		}
		tok, err := newInvite(r.Context(), tx, a.ID, v.actor().Name, now, c.cfg.InviteTTL)
		if err != nil {
			return err
		}
		link = InviteLink(c.cfg.Origin, tok)
		detail := map[string]any{"name": a.Name, "role": role, "sites": sites}
		if u.ID != "" {
			detail["user"], detail["userName"] = u.ID, u.UserName
		}
		return c.auditIn(r.Context(), tx, v, "console.invite", "console:"+a.ID, detail)
	})
	if err != nil {
		return err
	}
	return c.renderAccounts(w, r, v, http.StatusCreated, link, name)
}

// accountReinvite gives an existing account a new invitation link, to
// register a passkey on another device or after a lost one. The link voids
// every earlier one of the account (marked used), so a link that went
// astray stops working once the admin sends another. With revoke=passkeys
// (a lost or stolen passkey) the account's passkeys are revoked and its
// sessions ended in the same transaction.
func (c *Console) accountReinvite(w http.ResponseWriter, r *http.Request, v *viewer) error {
	get, err := form(r)
	if err != nil {
		return err
	}
	revoke, err := get("revoke")
	if err != nil {
		return err
	}
	if revoke != "" && revoke != "passkeys" {
		return badRequest("revoke is empty or passkeys")
	}
	id := r.PathValue("id")
	if revoke != "" && id == v.account.ID {
		return errRevokeOwn
	}
	now := c.cfg.Now().UTC()
	var link, name string
	err = c.st.InTx(r.Context(), func(tx store.Ops) error {
		a, err := tx.GetConsoleAccount(r.Context(), id)
		if err != nil {
			return err
		}
		if !a.Disabled.IsZero() {
			return badRequest("the account is disabled")
		}
		if revoke == "" {
			// A link for an account that has passkeys would let whoever
			// opens it, the admin who made it included, add a passkey
			// and act as its owner, who would notice nothing. Its owner
			// adds passkeys from their own account page; an admin can
			// only replace them, which the owner notices. That holds for
			// the admin's own account too: its account page asks for a
			// recent sign-in and sends a 5-minute link to this browser
			// only, where a link from here would work for days for
			// whoever uses a session left open, or reads the page.
			creds, err := tx.ListConsoleCredentials(r.Context(), a.ID)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(creds, func(cr store.ConsoleCredential) bool { return cr.Revoked.IsZero() }) {
				if a.ID == v.account.ID {
					return errOwnHasPasskeys
				}
				return errHasPasskeys
			}
		}
		voided := 0
		if revoke != "" {
			// Before the new link: the revocation voids the links so far.
			if voided, err = c.revokeByAdmin(r.Context(), tx, v, a, now); err != nil {
				return err
			}
		}
		n, err := tx.VoidConsoleInvites(r.Context(), a.ID, now)
		if err != nil {
			return err
		}
		voided += n
		tok, err := newInvite(r.Context(), tx, a.ID, v.actor().Name, now, c.cfg.InviteTTL)
		if err != nil {
			return err
		}
		link, name = InviteLink(c.cfg.Origin, tok), a.Name
		return c.auditIn(r.Context(), tx, v, "console.invite", "console:"+a.ID, map[string]any{"name": a.Name, "role": a.Role, "again": true,
			"earlierLinksVoided": voided, "revokePasskeys": revoke != ""})
	})
	if err != nil {
		return err
	}
	return c.renderAccounts(w, r, v, http.StatusCreated, link, name)
}

// errHasPasskeys refuses a new link for another account that has
// passkeys, unless it revokes them.
var errHasPasskeys = &statusError{http.StatusConflict, "this account has passkeys: its owner adds another on their account page (Your account, Add a passkey); for a lost or stolen passkey, tick \"and revoke its passkeys\""}

// errOwnHasPasskeys refuses an admin a new link for their own account,
// which has passkeys: they add one on their account page.
var errOwnHasPasskeys = &statusError{http.StatusConflict, "you have passkeys: add another on your account page (Your account, Add a passkey), " +
	"which asks for a recent sign-in"}

// freshSignIn is how recent a sign-in must be to add a passkey to one's
// own account: a session cookie taken from a browser left open must not
// be enough to add the taker's passkey for later.
const freshSignIn = 10 * time.Minute

// selfInviteTTL bounds the link mePasskeyAdd makes for its own browser.
const selfInviteTTL = 5 * time.Minute

// mePasskeyAdd lets a signed-in account add a passkey (a new device): it
// makes a short-lived link for the account itself and sends this browser
// to it, where the usual registration ceremony runs. The link is never
// shown to anyone else. It asks for a sign-in within freshSignIn first.
func (c *Console) mePasskeyAdd(w http.ResponseWriter, r *http.Request, v *viewer) error {
	now := c.cfg.Now().UTC()
	if now.Sub(v.signedIn) > freshSignIn {
		http.Redirect(w, r, "/console/signin?next=/console/me", http.StatusSeeOther)
		return nil
	}
	var tok string
	err := c.st.InTx(r.Context(), func(tx store.Ops) error {
		var err error
		if tok, err = newInvite(r.Context(), tx, v.account.ID, v.actor().Name, now, selfInviteTTL); err != nil {
			return err
		}
		return c.auditIn(r.Context(), tx, v, "console.invite", "console:"+v.account.ID, map[string]any{"name": v.account.Name, "role": v.account.Role, "self": true})
	})
	if err != nil {
		return err
	}
	// Set by hand: the token is in the fragment, which http.Redirect's
	// path cleaning must not touch.
	w.Header().Set("Location", InviteLink("", tok))
	w.WriteHeader(http.StatusSeeOther)
	return nil
}

// errRevokeOwn refuses an admin's revoking their own passkeys, which would
// lock them out: another admin does it.
var errRevokeOwn = badRequest("you cannot revoke your own passkeys: ask another admin")

// accountRevokePasskeys revokes an account's passkeys and ends its
// sessions, e.g. for a stolen device, without sending a new link.
func (c *Console) accountRevokePasskeys(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	if id == v.account.ID {
		return errRevokeOwn
	}
	now := c.cfg.Now().UTC()
	err := c.st.InTx(r.Context(), func(tx store.Ops) error {
		a, err := tx.GetConsoleAccount(r.Context(), id)
		if err != nil {
			return err
		}
		_, err = c.revokeByAdmin(r.Context(), tx, v, a, now)
		return err
	})
	if err != nil {
		return err
	}
	return done(w, r, "/console/accounts", "passkeys-revoked")
}

// revokeByAdmin revokes account a's passkeys, ends its sessions and voids
// its unused invitation links (a stolen device may hold one in its mail)
// inside tx, audited as the viewer's, and returns how many links it
// voided. A new link made in the same transaction after it stays good.
func (c *Console) revokeByAdmin(ctx context.Context, tx store.Ops, v *viewer, a store.ConsoleAccount, now time.Time) (int, error) {
	ids, n, err := revokePasskeys(ctx, tx, a.ID, nil, now)
	if err != nil {
		return 0, err
	}
	voided, err := tx.VoidConsoleInvites(ctx, a.ID, now)
	if err != nil {
		return 0, err
	}
	return voided, c.auditIn(ctx, tx, v, "console.passkey_revoked", "console:"+a.ID, map[string]any{"name": a.Name, "credentials": ids,
		"reason": "admin", "sessionsEnded": n, "linksVoided": voided})
}

// accountDisable stops an account from signing in, ends its sessions and
// revokes the admin API tokens it made (store.DisableConsoleAccount),
// each audited (auditTokensRevoked) and forgotten by the token verifier.
// An account disabled already (another admin, another tab, a repeated
// submit) is left as it is, its disable time kept, with no record: the
// accounts page says nothing was changed.
func (c *Console) accountDisable(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	if id == v.account.ID {
		return badRequest("you cannot disable your own account: ask another admin")
	}
	now := c.cfg.Now().UTC()
	var revoked []store.Token
	err := c.st.InTx(r.Context(), func(tx store.Ops) error {
		a, d, err := store.DisableConsoleAccount(r.Context(), tx, id, now)
		if err != nil {
			return err
		}
		revoked = d.TokensRevoked
		if err := c.auditIn(r.Context(), tx, v, "console.account_disable", "console:"+a.ID, map[string]any{"name": a.Name, "sessionsEnded": d.SessionsEnded}); err != nil {
			return err
		}
		return c.auditTokensRevoked(r.Context(), tx, v, d.TokensRevoked)
	})
	// As after a Revoke on the Tokens page, even after an error: the
	// commit may have happened.
	for _, t := range revoked {
		c.cfg.TokenRevoked(t.ID)
	}
	if errors.Is(err, store.ErrAccountDisabled) {
		return done(w, r, "/console/accounts", "account-unchanged")
	}
	if err != nil {
		return err
	}
	return done(w, r, "/console/accounts", "account-disabled")
}

// auditTokensRevoked records, inside tx, a token.revoke by the viewer,
// with the reason, for each admin API token ts that
// store.DisableConsoleAccount revoked with the account that made it; the
// caller has the token verifier forget them once the transaction is over.
func (c *Console) auditTokensRevoked(ctx context.Context, tx store.Ops, v *viewer, ts []store.Token) error {
	for _, t := range ts {
		if err := c.auditIn(ctx, tx, v, "token.revoke", "token:"+t.ID, token.RevokeAuditDetail(t)); err != nil {
			return err
		}
	}
	return nil
}

// errEnableGone refuses to enable an account whose hub user has left.
var errEnableGone = &statusError{http.StatusConflict, "the hub user this account is linked to is disabled or deleted: " +
	"enable the user in the identity provider first, then enable the account"}

// accountEnable enables a disabled account again and shows a new one-time
// invitation link. The account gets in through that link only: its old
// passkeys (a leaver's, or a stolen device's) are revoked and its earlier
// links voided, as `admin bootstrap` does. While the account's hub user
// has left (hubUserGone) it is refused: the identity provider decides
// that, and the console would refuse the account anyway.
func (c *Console) accountEnable(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	if id == v.account.ID {
		return badRequest("you cannot enable your own account: ask another admin")
	}
	ctx := r.Context()
	now := c.cfg.Now().UTC()
	var link, name string
	err := c.st.InTx(ctx, func(tx store.Ops) error {
		a, err := tx.GetConsoleAccount(ctx, id)
		if err != nil {
			return err
		}
		if a.Disabled.IsZero() {
			return &statusError{http.StatusConflict, "the account is not disabled: use New link for another invitation"}
		}
		if gone, err := hubUserGone(ctx, tx, a); err != nil {
			return err
		} else if gone {
			return errEnableGone
		}
		a, ids, voided, err := enableAccount(ctx, tx, a, now)
		if err != nil {
			return err
		}
		tok, err := newInvite(ctx, tx, a.ID, v.actor().Name, now, c.cfg.InviteTTL)
		if err != nil {
			return err
		}
		link, name = InviteLink(c.cfg.Origin, tok), a.Name
		return c.auditIn(ctx, tx, v, "console.account_enable", "console:"+a.ID, map[string]any{"name": a.Name, "role": a.Role,
			"passkeysRevoked": ids, "linksVoided": voided})
	})
	if err != nil {
		return err
	}
	return c.renderAccounts(w, r, v, http.StatusCreated, link, name)
}

// mePage shows the signed-in account and its passkeys.
func (c *Console) mePage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	creds, err := c.st.ListConsoleCredentials(r.Context(), v.account.ID)
	if err != nil {
		return err
	}
	sessions, err := c.liveSessions(r.Context(), v)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "me", v, &page{Title: "Your account", Nav: "me", Data: map[string]any{"Passkeys": creds,
		"Sessions": sessions, "Idle": c.cfg.IdleTimeout, "Absolute": c.cfg.AbsoluteTimeout}})
	return nil
}

// browserSession is one of the viewer's signed-in browsers on their account
// page. ID is the first 8 bytes of the session's hash, in hex: enough to
// name it in a form, nothing to sign in with (the hash is of the cookie's
// secret, which no page shows).
type browserSession struct {
	ID       string
	Created  time.Time
	LastSeen time.Time
	This     bool
}

// liveSessions returns the viewer's sessions that can still be used:
// not ended, nor past their idle or absolute timeout.
func (c *Console) liveSessions(ctx context.Context, v *viewer) ([]browserSession, error) {
	ss, err := c.st.ListConsoleSessions(ctx, v.account.ID)
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	var out []browserSession
	for _, s := range ss {
		if !c.usable(s, now) {
			continue
		}
		out = append(out, browserSession{ID: hex.EncodeToString(s.Hash[:min(8, len(s.Hash))]), Created: s.Created, LastSeen: s.LastSeen,
			This: subtle.ConstantTimeCompare(s.Hash, v.hash) == 1})
	}
	return out, nil
}

// meSessionEnd ends one of the viewer's other signed-in browsers (one
// left signed in elsewhere, or one they do not recognise).
func (c *Console) meSessionEnd(w http.ResponseWriter, r *http.Request, v *viewer) error {
	id := r.PathValue("id")
	sessions, err := c.st.ListConsoleSessions(r.Context(), v.account.ID)
	if err != nil {
		return err
	}
	var hash []byte
	for _, s := range sessions {
		if len(s.Hash) >= 8 && hex.EncodeToString(s.Hash[:8]) == id {
			hash = s.Hash
		}
	}
	if hash == nil {
		return errNotFound
	}
	if subtle.ConstantTimeCompare(hash, v.hash) == 1 {
		return badRequest("this is the session you are using: sign out instead")
	}
	now := c.cfg.Now().UTC()
	err = c.st.InTx(r.Context(), func(tx store.Ops) error {
		if err := tx.EndConsoleSession(r.Context(), hash, now); err != nil {
			return err
		}
		return c.auditIn(r.Context(), tx, v, "console.session_end", "console:"+v.account.ID, map[string]any{"session": id})
	})
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/console/me?ok=browser-signed-out", http.StatusSeeOther)
	return nil
}

// signinPage and registerPage carry the sign-in CSRF token (signinToken)
// for their script to send with the passkey ceremonies.
func (c *Console) signinPage(w http.ResponseWriter, r *http.Request, _ *viewer) error {
	tok, err := signinToken(w, r)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "signin", nil, &page{Title: "Sign in", CSRF: tok, Data: c.signinNext(r.URL.Query().Get("next"))})
	return nil
}

// signinNext is where the sign-in page sends the browser after sign-in,
// from its next parameter: a console page, or "" for the account's start
// page (landing). The page goes there from the console itself, so a route
// that only the console's own pages may ask for (optOwnPages: an audited
// export, a chain verification, live updates) is refused here as guard
// refuses it when another site links to it: else any site could link to
// the sign-in page with such a next and have the export or the
// verification (with the anchor of its choosing, recording a broken chain)
// run in the name of whoever signs in. Browsers remove tabs and newlines
// from URLs and resolve dot segments, so the path is matched the way the
// hub will serve it after that.
func (c *Console) signinNext(next string) string {
	if !strings.HasPrefix(next, "/console/") || strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return ""
	}
	// An escaped slash or backslash in the path: a browser keeps %2F
	// inside its segment when it resolves dot segments, so
	// /console/x%2Fy/../../api leaves /console/ for the browser though it
	// stays in with %2F undone, and the hub matches a%2Fb as one segment.
	// No console page's path has one (its IDs are UUIDs): refused, every
	// path below has the segments the browser and the hub see.
	p := next
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if p = strings.ToLower(p); strings.Contains(p, "%2f") || strings.Contains(p, "%5c") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	// Dot segments (%2e is a dot to browsers, and u.Path is unescaped)
	// must not climb out of /console/: the page would send the browser
	// elsewhere on the hub, to the JSON API, say, which no other site may
	// make it open (APIActor).
	if p := path.Clean(u.Path); p != "/console" && !strings.HasPrefix(p, "/console/") {
		return ""
	}
	// The path unescaped: the hub matches routes on unescaped segments
	// (%76erify is verify), and browsers take %2e for a dot in dot
	// segments; ServeMux cleans the path as the hub will (dot segments,
	// double slashes).
	if _, pattern := c.ownPages.Handler(&http.Request{Method: http.MethodGet, URL: &url.URL{Path: u.Path}}); pattern != "" {
		return ""
	}
	return next
}

func (c *Console) registerPage(w http.ResponseWriter, r *http.Request, _ *viewer) error {
	tok, err := signinToken(w, r)
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "register", nil, &page{Title: "Register your passkey", CSRF: tok})
	return nil
}
