package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// farFuture is the first year treated as "no date".
const farFuture = 2200

// maxUserName is the longest userName the hub takes, in bytes. Entra's
// userPrincipalName is at most 113 characters and Okta's login 100; a
// userName is shown in the console, the audit trail and on kiosks, and
// looked up by filters of at most maxFilterLen bytes.
const maxUserName = 256

// checkUserName refuses a new or changed userName that would be hard to
// tell apart or to find: empty, longer than maxUserName, not UTF-8,
// holding control or invisible formatting characters (a right-to-left
// override, a zero-width space), or with spaces around it. A userName
// stored before these checks is left alone until it changes, so that a
// leaver with one can still be deactivated.
func checkUserName(name string) error {
	bad := func(why string) error {
		return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "userName " + why}
	}
	switch {
	case strings.TrimSpace(name) == "":
		return bad("is required and must not be empty")
	case len(name) > maxUserName:
		return bad(fmt.Sprintf("is %d bytes long; at most %d", len(name), maxUserName))
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case strings.ContainsFunc(name, store.Hidden):
		return bad("holds a control or invisible formatting character (such as a right-to-left override or a zero-width space)")
	case strings.TrimSpace(name) != name:
		return bad("starts or ends with a space")
	}
	return nil
}

// maxSites is the most sites a new or changed user may list. A frontline
// worker signs in at a few; the lifecycle engine reads each site's time
// zone and compares the old list with the new one in the transaction that
// changes them, and records a revocation for each site removed, so an
// unbounded list (a 1 MiB body holds 200,000 site names) held the hub's
// write lock for minutes.
const maxSites = 1000

// checkSites refuses a user's sites list longer than maxSites, unless
// each site is one of old, the list stored before (compared as the hub
// holds them, store.FoldName): a user given more before this rule keeps
// them, and can still be deactivated or lose sites, but not swap them for
// as many others. It
// refuses a site that is not in old and holds a control or invisible
// formatting character (store.Hidden): a site's name is shown in the
// console and access reviews, and "north" with a zero-width space read
// as the site north that a login policy names, but was another. It
// refuses too a site not in old longer than maxShownText characters, as
// checkShown does a displayName: the console's user list, access reviews
// and revocation records show each site, and a user with one site of
// 300,000 characters was taken.
func checkSites(sites, old []string) error {
	if len(sites) > maxSites && !within(sites, old, store.FoldName) {
		return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue,
			Detail: fmt.Sprintf("%s:sites lists %d sites; at most %d", ShiftgateUserURN, len(sites), maxSites)}
	}
	var kept map[string]bool // old, made at the first site refused unless kept
	for _, s := range sites {
		hidden := strings.ContainsFunc(s, store.Hidden)
		n := utf8.RuneCountInString(s)
		if !hidden && n <= maxShownText {
			continue
		}
		if kept == nil {
			kept = make(map[string]bool, len(old))
			for _, o := range old {
				kept[o] = true
			}
		}
		switch {
		case kept[s]:
		case hidden:
			return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue,
				Detail: ShiftgateUserURN + ":sites holds a site with a control or invisible formatting character (such as a right-to-left override or a zero-width space)"}
		default:
			return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue,
				Detail: fmt.Sprintf("%s:sites holds a site %d characters long; at most %d", ShiftgateUserURN, n, maxShownText)}
		}
	}
	return nil
}

// Attributes the hub keeps in typed fields or derives, never in the stored
// document.
var derivedUserAttrs = []string{"id", "meta", "groups", "active", "password"}

// userFromResource sets u's typed fields and document from a normalised
// User resource. The password attribute is dropped: Shiftgate has none.
func userFromResource(res map[string]any, u *store.User) error {
	u.UserName = str(res["userName"])
	if strings.TrimSpace(u.UserName) == "" {
		return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "userName is required and must not be empty"}
	}
	u.ExternalID = str(res["externalId"])
	u.DisplayName = str(res["displayName"])
	if u.DisplayName == "" {
		if name, ok := res["name"].(map[string]any); ok {
			u.DisplayName = str(name["formatted"])
			if u.DisplayName == "" {
				u.DisplayName = strings.TrimSpace(str(name["givenName"]) + " " + str(name["familyName"]))
			}
		}
	}
	u.Active = true
	if a, ok := res["active"].(bool); ok {
		u.Active = a
	}
	u.Sites, u.EmploymentType, u.StartDate, u.EndDate, u.Shifts, u.Certifications = nil, "", time.Time{}, time.Time{}, nil, nil
	u.StartDay, u.EndDay = "", ""
	if ext, ok := res[ShiftgateUserURN].(map[string]any); ok {
		// Sites that differ only in case are one site; each is looked up
		// by its folded name, not compared with every site kept so far:
		// that took time in the square of their number, 20 s for the
		// 40,000 sites of a 350 KB body, inside the write transaction of
		// a PUT or PATCH.
		seen := map[string]bool{}
		for _, s := range list(ext["sites"]) {
			if s := strings.TrimSpace(str(s)); s != "" && !seen[store.FoldName(s)] {
				seen[store.FoldName(s)] = true
				u.Sites = append(u.Sites, s)
			}
		}
		u.EmploymentType = str(ext["employmentType"])
		var err error
		if u.StartDay, u.StartDate, err = workDate(ext["startDate"], "startDate", false); err != nil {
			return err
		}
		if u.EndDay, u.EndDate, err = workDate(ext["endDate"], "endDate", true); err != nil {
			return err
		}
		if !u.StartDate.IsZero() && !u.EndDate.IsZero() && !u.EndDate.After(u.StartDate) {
			return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "endDate must be after startDate"}
		}
		for _, v := range list(ext["shifts"]) {
			m, _ := v.(map[string]any)
			start, err := dateTime(m["start"], "shifts.start")
			if err != nil {
				return err
			}
			end, err := dateTime(m["end"], "shifts.end")
			if err != nil {
				return err
			}
			if start.IsZero() || end.IsZero() || !end.After(start) {
				return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "each shift needs a start and an end after it"}
			}
			u.Shifts = append(u.Shifts, store.Shift{Start: start, End: end})
		}
		if len(u.Shifts) > 0 {
			if u.Shifts, err = shift.Normalize(u.Shifts); err != nil {
				return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "shifts: " + strings.TrimPrefix(err.Error(), shift.ErrInvalid.Error()+": ")}
			}
		}
		for _, v := range list(ext["certifications"]) {
			m, _ := v.(map[string]any)
			name := strings.TrimSpace(str(m["name"]))
			if name == "" {
				return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "each certification needs a name"}
			}
			day, exp, err := certExpiry(m["expires"])
			if err != nil {
				return err
			}
			u.Certifications = append(u.Certifications, store.Certification{Name: name, Expires: exp, ExpiresDay: day})
		}
	}
	doc := make(map[string]any, len(res))
	for k, v := range res {
		if !slices.Contains(derivedUserAttrs, k) {
			doc[k] = v
		}
	}
	if ext, ok := doc[ShiftgateUserURN].(map[string]any); ok && ext["sites"] != nil {
		// The document keeps the sites as the hub holds them (u.Sites),
		// which is what renderSites shows: checkSites bounds those, and
		// the list sent could hold any number of spellings of one site
		// (" north", "north ", "NORTH"), all kept in the document and
		// read by every GET.
		ext = maps.Clone(ext)
		renderSites(map[string]any{ShiftgateUserURN: ext}, u.Sites)
		doc[ShiftgateUserURN] = ext
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("marshal user document: %w", err)
	}
	u.Document = b
	return nil
}

// userResource renders the full User resource; groups may be nil when the
// caller does not need them.
func (h *Handler) userResource(u store.User, groups []store.Group) (map[string]any, error) {
	res := map[string]any{}
	if len(u.Document) > 0 {
		if err := decodeDocument(u.Document, &res); err != nil {
			return nil, fmt.Errorf("decode stored user %s: %w", u.ID, err)
		}
	}
	renderShifts(res, u.Shifts)
	renderSites(res, u.Sites)
	res["id"] = u.ID
	res["active"] = u.Active
	if len(groups) > 0 {
		gs := make([]any, len(groups))
		for i, g := range groups {
			gs[i] = map[string]any{"value": g.ID, "display": g.DisplayName, "$ref": h.cfg.BaseURL + "/Groups/" + g.ID, "type": "direct"}
		}
		res["groups"] = gs
	}
	res["meta"] = h.meta("User", h.cfg.BaseURL+"/Users/"+u.ID, u.Created, u.Modified, u.Version)
	return res, nil
}

// groupsOf returns the groups the user is a member of, without their
// members.
func (h *Handler) groupsOf(ctx context.Context, userID string) ([]store.Group, error) {
	gs, _, err := h.cfg.Store.ListGroups(ctx, store.GroupQuery{MemberID: userID, WithoutMembers: true})
	return gs, err
}

// writeUser answers with the user as the client asked to see it.
func (h *Handler) writeUser(w http.ResponseWriter, r *http.Request, status int, u store.User) error {
	var groups []store.Group
	if status != http.StatusCreated { // a user just created is in no group yet
		var err error
		if groups, err = h.groupsOf(r.Context(), u.ID); err != nil {
			return err
		}
	}
	return h.writeUserGroups(w, r, status, u, groups)
}

// writeUserGroups is writeUser for a caller that has the user's groups.
func (h *Handler) writeUserGroups(w http.ResponseWriter, r *http.Request, status int, u store.User, groups []store.Group) error {
	res, err := h.userResource(u, groups)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	res = projectOwned(h.users, res, splitList(q.Get("attributes")), splitList(q.Get("excludedAttributes")))
	w.Header().Set("ETag", etag(u.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", h.cfg.BaseURL+"/Users/"+u.ID)
	}
	writeJSON(w, status, res)
	return nil
}

// getUser reads the user and its groups in one store read. A tombstone is
// not listed, so it is 404 as for every other method.
func (h *Handler) getUser(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	id := r.PathValue("id")
	users, groups, _, err := h.cfg.Store.ListUsersWithGroups(r.Context(), store.UserQuery{ID: id})
	if err != nil {
		return err
	}
	if len(users) == 0 {
		return fmt.Errorf("user %s: %w", id, store.ErrNotFound)
	}
	u := users[0]
	if notModified(w, r, u.Version) {
		return nil
	}
	return h.writeUserGroups(w, r, http.StatusOK, u, groups[u.ID])
}

func (h *Handler) createUser(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	_, res, err := h.resourceBody(w, r, h.users)
	if err != nil {
		return err
	}
	u := store.User{ID: store.NewID()}
	if err := userFromResource(res, &u); err != nil {
		return err
	}
	if err := checkUserName(u.UserName); err != nil {
		return err
	}
	if err := checkUserValues(res, nil, u, store.User{}); err != nil {
		return err
	}
	u, err = h.cfg.Engine.CreateUser(r.Context(), a, u)
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusCreated, u)
}

func (h *Handler) replaceUser(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	in, res, err := h.resourceBody(w, r, h.users)
	if err != nil {
		return err
	}
	if err := checkID(in, r.PathValue("id")); err != nil {
		return err
	}
	u, err := h.cfg.Engine.UpdateUser(r.Context(), a, r.PathValue("id"), func(old store.User) (store.User, error) {
		if err := checkIfMatch(r, old.Version); err != nil {
			return old, err
		}
		if !sentShifts(in) {
			keepShifts(res, old.Shifts)
		}
		if _, sent := res["active"]; !sent {
			// A PUT that leaves active out (a connector that does not
			// manage it) keeps it, as RFC 7644 §3.5.1 allows: the
			// default (true) would bring a disabled leaver back.
			res["active"] = old.Active
		}
		nu := old
		if err := userFromResource(res, &nu); err != nil {
			return old, err
		}
		if nu.UserName != old.UserName {
			if err := checkUserName(nu.UserName); err != nil {
				return old, err
			}
		}
		prev, err := h.userResource(old, nil)
		if err != nil {
			return old, err
		}
		if err := checkUserValues(res, prev, nu, old); err != nil {
			return old, err
		}
		return nu, h.keepDocument(old, &nu)
	})
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

func (h *Handler) patchUser(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	b, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	ops, err := ParsePatch(b)
	if err != nil {
		return err
	}
	u, err := h.cfg.Engine.UpdateUser(r.Context(), a, r.PathValue("id"), func(old store.User) (store.User, error) {
		if err := checkIfMatch(r, old.Version); err != nil {
			return old, err
		}
		cur, err := h.userResource(old, nil)
		if err != nil {
			return old, err
		}
		res, err := ApplyPatch(h.users, cur, ops)
		if err != nil {
			return old, err
		}
		if _, ok := res["active"]; !ok {
			// "remove" of active: keep it, as a PUT without it does. Read
			// as true, it brought a disabled leaver back.
			res["active"] = old.Active
		}
		nu := old
		if err := userFromResource(res, &nu); err != nil {
			return old, err
		}
		if nu.UserName != old.UserName {
			if err := checkUserName(nu.UserName); err != nil {
				return old, err
			}
		}
		if err := checkUserValues(res, cur, nu, old); err != nil {
			return old, err
		}
		return nu, h.keepDocument(old, &nu)
	})
	if err != nil {
		return err
	}
	return h.writeUser(w, r, http.StatusOK, u)
}

// keepDocument gives nu old's stored document when nu's is the document
// that old as the hub renders it would give, so that a request changing
// nothing writes nothing (the lifecycle engine compares documents). The
// two differ although nothing changed when the stored document holds an
// older copy of what the hub keeps in typed fields and renders over it:
// shifts set through the shift API or an import, a site an access review
// removed. Entra's next PATCH that changed nothing then wrote a new
// version and a user.update record with nothing changed in it. Keeping the
// old document loses nothing: renderings of the two are the same.
func (h *Handler) keepDocument(old store.User, nu *store.User) error {
	if bytes.Equal(old.Document, nu.Document) {
		return nil
	}
	cur, err := h.userResource(old, nil)
	if err != nil {
		return err
	}
	canon, err := normalizeResource(h.users, cur, true)
	if err != nil {
		return nil // not comparable: nu's document is written
	}
	was := old
	if userFromResource(canon, &was) == nil && bytes.Equal(was.Document, nu.Document) {
		nu.Document = old.Document
	}
	return nil
}

// deleteUser checks If-Match on the user as the deleting transaction reads
// it: checked before, a PATCH committing in between was deleted over.
func (h *Handler) deleteUser(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	err := h.cfg.Engine.DeleteUserIf(r.Context(), a, r.PathValue("id"), func(u store.User) error {
		return checkIfMatch(r, u.Version)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryUsers answers a list or search of the users (findUsers). A filter
// no index narrows is evaluated on every user a batch at a time, each
// batch a statement of its own: they are read in one read transaction
// (snapshot), so that totalResults and the page are of the users as they
// were at one instant. Read apart, a user deleted after its batch was
// read and one created before a later batch were both counted, a total
// the hub never held. A hub of more users than one read transaction
// should hold reads them apart all the same (readScan).
func (h *Handler) queryUsers(ctx context.Context, p listParams) (int, []map[string]any, error) {
	f, err := p.parseFilter(h.users)
	if err != nil {
		return 0, nil, err
	}
	if f == nil || narrowsUsers(userLookup(f)) {
		return h.findUsers(ctx, h.cfg.Store, f, p) // one statement
	}
	return h.snapshot(ctx, func(tx store.Ops) (int, []map[string]any, error) { return h.findUsers(ctx, tx, f, p) })
}

// snapshot runs find, a scan of the users or the groups, in one read
// transaction when readScan allows.
func (h *Handler) snapshot(ctx context.Context, find func(tx store.Ops) (int, []map[string]any, error)) (int, []map[string]any, error) {
	var (
		total int
		page  []map[string]any
	)
	err := h.readScan(ctx, func(tx store.Ops) error {
		var err error
		total, page, err = find(tx)
		return err
	})
	if err != nil {
		return 0, nil, err
	}
	return total, page, nil
}

// readScan runs fn, a scan of the stored users or groups or both, in one
// read transaction (store.InReadTx), unless the hub holds more of them than
// HandlerConfig.MaxSnapshotScan: then fn runs again on the store itself,
// each batch a statement of its own. A read transaction keeps its place in
// the write-ahead log until it ends, and no checkpoint copies past it: a
// scan of 100,000 users held one for 6-8 s, with no bound but the hub's
// size, while every write went on growing the log, which the hub could
// not start over. Read apart, a scan still matches once each resource
// that exists throughout it (matchPage); one created or deleted meanwhile
// may or may not be counted.
//
// The store's total of a scan's first batch tells the size (the batches
// after it are read without one: matchPage), so a hub within the bound
// makes no read more than before; a larger one reads its first batch
// twice.
func (h *Handler) readScan(ctx context.Context, fn func(tx store.Ops) error) error {
	err := h.cfg.Store.InReadTx(ctx, func(tx store.Ops) error {
		return fn(&boundedOps{Ops: tx, max: h.cfg.MaxSnapshotScan})
	})
	if errors.Is(err, errLargeScan) {
		return fn(h.cfg.Store)
	}
	return err
}

// errLargeScan is boundedOps' refusal of a scan too large for one read
// transaction.
var errLargeScan = errors.New("scan too large for one read transaction")

// boundedOps reads through a read transaction and fails a list read with
// errLargeScan once the users and groups its lists report (each list's
// total, the largest of each kind; a list read with NoTotal reports -1)
// come to more than max.
type boundedOps struct {
	store.Ops
	max           int
	users, groups int
}

func (o *boundedOps) check() error {
	if o.users+o.groups > o.max {
		return errLargeScan
	}
	return nil
}

func (o *boundedOps) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	users, total, err := o.Ops.ListUsers(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	o.users = max(o.users, total)
	return users, total, o.check()
}

func (o *boundedOps) ListUsersWithGroups(ctx context.Context, q store.UserQuery) ([]store.User, map[string][]store.Group, int, error) {
	users, groups, total, err := o.Ops.ListUsersWithGroups(ctx, q)
	if err != nil {
		return nil, nil, 0, err
	}
	o.users = max(o.users, total)
	return users, groups, total, o.check()
}

func (o *boundedOps) ListGroups(ctx context.Context, q store.GroupQuery) ([]store.Group, int, error) {
	groups, total, err := o.Ops.ListGroups(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	o.groups = max(o.groups, total)
	return groups, total, o.check()
}

// userLookup is the store query of the users f can match, narrowed by an
// equality on userName, externalId or id (the first of them AND-ed at the
// top level, wherever it stands among the clauses) when f has one.
func userLookup(f *Filter) store.UserQuery {
	q := store.UserQuery{}
	// displayName has no index for users: asked for with the others, it
	// hid a userName clause after it, and the query scanned every user.
	if attr, val, ok := f.EqualityOn("userName", "externalId", "id"); ok {
		switch strings.ToLower(attr) {
		case "username":
			q.UserName = val
		case "externalid":
			q.ExternalID = val
		case "id":
			q.ID = val
		}
	}
	return q
}

// narrowsUsers reports whether q, a userLookup, reads a few candidates
// through an index, in one statement (narrowed).
func narrowsUsers(q store.UserQuery) bool {
	return q.UserName != "" || q.ExternalID != "" || q.ID != ""
}

// findUsers answers a list or search of the users with its filter f
// parsed, reading st: the store, or a read transaction (queryUsers,
// queryAll). Without a filter the store reads the page. With one, an
// equality on userName, externalId or id (the first of them AND-ed at the
// top level, wherever it stands among the clauses) narrows the candidates
// through an index (userLookup); the whole filter is then evaluated on
// each candidate, a batch at a time (matchPage).
func (h *Handler) findUsers(ctx context.Context, st store.Ops, f *Filter, p listParams) (int, []map[string]any, error) {
	if f == nil {
		return h.pageUsers(ctx, st, p)
	}
	q := userLookup(f)
	type candidate struct {
		u      store.User
		groups []store.Group
	}
	// The filter is evaluated on the rendered resources, so it may test
	// groups: they are rendered whatever the projection. They come with
	// the users, in the same store read.
	batch := userScanBatch
	if narrowsUsers(q) {
		batch = narrowed
	}
	list := func(after store.ListKey, limit int) ([]candidate, error) {
		q.After, q.Limit, q.NoTotal = after, limit, after != (store.ListKey{})
		if batch == narrowed {
			q.Limit = 0
		}
		users, groups, _, err := st.ListUsersWithGroups(ctx, q)
		cands := make([]candidate, len(users))
		for i, u := range users {
			cands[i] = candidate{u, groups[u.ID]}
		}
		return cands, err
	}
	key := func(c candidate) store.ListKey { return store.ListKey{Created: c.u.Created, ID: c.u.ID} }
	render := func(c candidate) (map[string]any, error) { return h.userResource(c.u, c.groups) }
	total, items, err := matchPage(f, p, batch, list, key, render)
	if err != nil {
		return 0, nil, err
	}
	return total, projectPage(h.users, p, items), nil
}

// pageUsers answers a list without a filter: the store reads the page.
func (h *Handler) pageUsers(ctx context.Context, st store.Ops, p listParams) (int, []map[string]any, error) {
	q := store.UserQuery{Offset: p.startIndex - 1, Limit: p.count}
	if p.count == 0 {
		q.Limit = 1 // the store's 0 means no cap; only the total is wanted
	}
	var (
		users  []store.User
		groups map[string][]store.Group
		total  int
		err    error
	)
	if p.count > 0 && wantsAttr(h.users, p, "groups") {
		users, groups, total, err = st.ListUsersWithGroups(ctx, q)
	} else {
		users, total, err = st.ListUsers(ctx, q)
	}
	if err != nil {
		return 0, nil, err
	}
	if p.count == 0 {
		users = nil
	}
	items := make([]map[string]any, 0, len(users))
	for _, u := range users {
		res, err := h.userResource(u, groups[u.ID])
		if err != nil {
			return 0, nil, err
		}
		items = append(items, res)
	}
	return total, projectPage(h.users, p, items), nil
}

// wantsAttr reports whether the projection p asks for can include the
// attribute attr of rt. It reads the lists as Project does
// (parseSelection), so that the store is asked for what the answer will
// show: excludedAttributes naming only sub-attributes of attr
// (groups.display) leaves attr in. Matched by prefix, it left groups out
// of unfiltered lists while GET /Users/{id} and filtered lists kept them.
func wantsAttr(rt *ResourceType, p listParams, attr string) bool {
	a := rt.Attribute(attr)
	if len(p.attributes) > 0 {
		named, _ := parseSelection(rt, p.attributes).has("", a)
		return named
	}
	excluded, subs := parseSelection(rt, p.excluded).has("", a)
	return !excluded || subs != nil
}

// checkID refuses a PUT body whose id names another resource.
func checkID(in map[string]any, id string) error {
	for k, v := range in {
		if strings.EqualFold(k, "id") {
			if s, ok := v.(string); ok && s != id {
				return &Error{Status: http.StatusBadRequest, ScimType: "mutability", Detail: "the id in the body does not match the URL; id cannot change"}
			}
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case nil:
		return nil
	default:
		return []any{x}
	}
}

// dateTime parses an xsd:dateTime (RFC 3339) or a plain date (midnight UTC).
// Dates past farFuture are taken as "none": HR systems send 9999-12-31 for
// an open-ended contract.
func dateTime(v any, attr string) (time.Time, error) {
	s := str(v)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err == nil {
		if t.Year() >= farFuture || t.Year() < 1900 {
			return time.Time{}, nil
		}
		return t.UTC(), nil
	}
	return time.Time{}, &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: attr + " must be a date-time like 2026-12-01T06:00:00Z"}
}

// longExpired is the expiry given to a certification whose expiry date is
// a placeholder from before 1900 (a spreadsheet's 1899-12-30, a zero
// 0001-01-01): it has expired.
var longExpired = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// certExpiry reads certifications.expires. Unlike dateTime it does not
// take a date from before 1900 as "none", which for an expiry would mean
// "never expires": a certification that a role requires would hold for
// ever on a placeholder. Such a date is long past: the certification has
// expired. A date past farFuture, and no date at all, are no expiry.
//
// A bare date (2026-12-31) is the certification's last valid day, as HR
// systems mean it: it is returned as day, with 24:00 of the day in UTC as
// the instant until a login reads it at the kiosk's site
// (store.Certification.ExpiresIn), as an endDate's day is (workDate).
// Read as the instant 00:00 UTC (dateTime), the certification would stop
// counting as its last day began in UTC: the evening before at a US site.
func certExpiry(v any) (day string, at time.Time, err error) {
	s := str(v)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	if err == nil && t.Year() < 1900 {
		return "", longExpired, nil
	}
	return workDate(v, "certifications.expires", true)
}

// workDate reads a startDate or endDate: a bare date (2026-12-01) is
// returned as day, with the instant it means in UTC (00:00 of the day,
// or with endOfDay of the day after it) until the lifecycle engine
// resolves it in the time zones of the user's sites; a date-time is
// returned as itself, with no day. Dates that dateTime takes as "none"
// are none.
func workDate(v any, attr string, endOfDay bool) (day string, at time.Time, err error) {
	if t, perr := time.Parse(time.DateOnly, str(v)); perr == nil {
		if t.Year() >= farFuture || t.Year() < 1900 {
			return "", time.Time{}, nil
		}
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return str(v), t, nil
	}
	at, err = dateTime(v, attr)
	return "", at, err
}

// renderShifts shows the user's shifts from the typed field, which the
// shift API and the HR/WFM import change too: the stored document may hold
// an older list.
func renderShifts(res map[string]any, shifts []store.Shift) {
	ext, _ := res[ShiftgateUserURN].(map[string]any)
	if ext == nil {
		if len(shifts) == 0 {
			return
		}
		ext = map[string]any{}
		res[ShiftgateUserURN] = ext
	}
	if len(shifts) == 0 {
		delete(ext, "shifts")
		return
	}
	list := make([]any, len(shifts))
	for i, s := range shifts {
		list[i] = map[string]any{"start": s.Start.UTC().Format(time.RFC3339Nano), "end": s.End.UTC().Format(time.RFC3339Nano)}
	}
	ext["shifts"] = list
}

// renderSites shows the user's sites as the hub holds them. The hub
// removes a site without SCIM, when an access review revokes it: the
// stored document still lists it, and showing the document would both
// hide the revocation from the identity provider and, since a PATCH
// starts from this rendering, grant the site back on the next PATCH of
// any attribute.
func renderSites(res map[string]any, sites []string) {
	ext, _ := res[ShiftgateUserURN].(map[string]any)
	if ext == nil {
		if len(sites) == 0 {
			return
		}
		ext = map[string]any{}
		res[ShiftgateUserURN] = ext
	}
	if len(sites) == 0 {
		delete(ext, "sites")
		return
	}
	list := make([]any, len(sites))
	for i, s := range sites {
		list[i] = s
	}
	ext["sites"] = list
}

// keepShifts makes a PUT that leaves out the frontline extension's shifts
// keep the user's shifts (RFC 7644 §3.5.1 lets a service provider keep
// omitted attributes): shifts often come from a WFM import or the shift
// API while the identity provider PUTs the rest of the user. Sending
// "shifts": [] clears them.
func keepShifts(res map[string]any, shifts []store.Shift) {
	if len(shifts) == 0 {
		return
	}
	ext, _ := res[ShiftgateUserURN].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
		res[ShiftgateUserURN] = ext
		if schemas, ok := res["schemas"].([]any); ok && !slices.Contains(schemas, any(ShiftgateUserURN)) {
			res["schemas"] = append(schemas, ShiftgateUserURN)
		}
	}
	renderShifts(res, shifts)
}

// sentShifts reports whether a request body, as the client sent it, holds
// the frontline extension's shifts (an empty list included: normalization
// drops empty lists).
func sentShifts(in map[string]any) bool {
	for k, v := range in {
		if strings.EqualFold(k, ShiftgateUserURN+":shifts") {
			return true
		}
		if ext, ok := v.(map[string]any); ok && strings.EqualFold(k, ShiftgateUserURN) {
			for ek := range ext {
				if strings.EqualFold(ek, "shifts") {
					return true
				}
			}
		}
	}
	return false
}
