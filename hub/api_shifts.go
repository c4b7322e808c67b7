package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// shiftRoutes mounts the shift API: a user's shifts, replaced as a whole,
// and a supervisor's just-in-time extension.
func (s *Server) shiftRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/users/{userName}/shifts", s.admin(s.apiGetShifts))
	mux.Handle("PUT /api/v1/users/{userName}/shifts", s.admin(s.apiSetShifts))
	mux.Handle("POST /api/v1/users/{userName}/extend", s.admin(s.apiExtendShift))
}

// apiShift is a shift as the API reads and writes it.
type apiShift struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// apiExtension is a shift extension as the API shows it. Site is empty
// for an extension recorded before extensions had a site that the upgrade
// could not place: it counts at no site.
type apiExtension struct {
	ID       string     `json:"id"`
	Site     string     `json:"site"`
	Start    time.Time  `json:"start"`
	Until    time.Time  `json:"until"`
	Reason   string     `json:"reason"`
	Approver string     `json:"approver"`
	Expired  *time.Time `json:"expired,omitempty"`
}

func toAPIExtension(x store.ShiftExtension) apiExtension {
	out := apiExtension{ID: x.ID, Site: x.Site, Start: x.Start, Until: x.End, Reason: x.Reason, Approver: x.Approver}
	if !x.Expired.IsZero() {
		out.Expired = &x.Expired
	}
	return out
}

func shiftsJSON(ss []store.Shift) []store.Shift {
	if ss == nil {
		return []store.Shift{}
	}
	return ss
}

// apiGetShifts shows a user's shifts and a page of its extensions, by
// start, expired ones included: ?startIndex=1&count=N (listPage) pages
// the extensions, which pile up over the years, and the paging fields
// count them; the shifts are shown whole.
func (s *Server) apiGetShifts(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	p, err := listPage(r)
	if err != nil {
		return err
	}
	u, err := s.userByName(r.Context(), r.PathValue("userName"))
	if err != nil {
		return err
	}
	xs, total, err := s.st.PageShiftExtensions(r.Context(), u.ID, p.ListPage())
	if err != nil {
		return err
	}
	exts := make([]apiExtension, 0, len(xs))
	for _, x := range xs {
		exts = append(exts, toAPIExtension(x))
	}
	writeAPIJSON(w, http.StatusOK, paged(map[string]any{"user": u.UserName, "shifts": shiftsJSON(u.Shifts), "extensions": exts}, p, total, len(exts)))
	return nil
}

// apiSetShifts replaces a user's shifts with the body, a JSON list of
// {"start", "end"} (RFC 3339); [] clears them. Shifts decide when the
// user may sign in, so, as for an extension (apiExtendShift), a console
// admin calling with its session, or with an API token its account made on
// the console, may not set the shifts of the hub user its account stands
// for (403), checked inside the change's transaction
// (lifecycle.Engine.SetShiftsAs).
func (s *Server) apiSetShifts(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	var raw json.RawMessage
	if !readJSON(w, r, apiBodyLimit, &raw) {
		return nil
	}
	if name, dup := policy.DuplicateKey(raw); dup {
		// As readAPIJSON refuses for the other admin calls: encoding/json
		// matches names without case and keeps the last, so
		// {"start":A,"START":B} would store a shift a reader of the body
		// does not see.
		return errors.Join(errBadRequest, fmt.Errorf("the body names %q twice in one object (names are compared without case): give each once", name))
	}
	var in []apiShift
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil || in == nil {
		msg := `send a JSON list of shifts, [{"start": RFC3339, "end": RFC3339}, …], or [] to clear them`
		var te *time.ParseError
		switch {
		case errors.As(err, &te):
			// Most often a local time without its offset: say so, rather
			// than quote Go's layout.
			msg += ": " + timeProblem(te)
		case err != nil:
			msg += ": " + policy.JSONProblem(err) // names an unknown field
		}
		return errors.Join(errBadRequest, errors.New(msg))
	}
	shifts := make([]store.Shift, len(in))
	for i, sh := range in {
		if sh.Start == nil || sh.End == nil {
			return errors.Join(errBadRequest, fmt.Errorf(`shift %d: every shift needs "start" and "end" (RFC 3339)`, i+1))
		}
		shifts[i] = store.Shift{Start: *sh.Start, End: *sh.End}
	}
	u, err := s.userByName(r.Context(), r.PathValue("userName"))
	if err != nil {
		return err
	}
	// As in apiExtendShift: who.UserID refuses early; who.Self, read
	// again inside the change's transaction, decides (the account may be
	// linked to u in between).
	who, err := s.decider(r.Context(), a)
	if err != nil {
		return err
	}
	const ownShifts = "you cannot change your own shifts: ask another admin"
	if who.UserID != "" && who.UserID == u.ID {
		writeAPIJSON(w, http.StatusForbidden, apiError{ownShifts})
		return nil
	}
	userName := u.UserName
	u, err = s.engine.SetShiftsAs(r.Context(), a, who.Self, u.ID, shifts, map[string]any{"source": "api"})
	if errors.Is(err, lifecycle.ErrSelfGrant) {
		writeAPIJSON(w, http.StatusForbidden, apiError{ownShifts})
		return nil
	}
	if err != nil {
		// Named by its userName, not by the engine's internal ID.
		return userChangeError(err, userName)
	}
	writeAPIJSON(w, http.StatusOK, map[string]any{"user": u.UserName, "shifts": shiftsJSON(u.Shifts)})
	return nil
}

// apiExtendShift extends a user's shift at one of the user's sites until
// a time, with a reason: {"site": NAME, "until": RFC3339, "reason": TEXT}.
// "site" may be left out for a user of exactly one site; a site that is
// not the user's is 400, and so is an extension that lengthens no shift
// of the user's there (lifecycle.Engine.ExtendShift says which). The
// route is admin-only (s.admin: an admin token or a console admin's
// session; a supervisor's session is 403), and an admin may act at every
// site: supervisors extend in the console, at their own sites. A console
// admin calling with its session may not extend the shift of the hub user
// its account stands for (403), nor with an API token that account made
// on the console, checked inside the extension's transaction
// (lifecycle.Engine.ExtendShiftAs).
func (s *Server) apiExtendShift(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	var req struct {
		Site   string    `json:"site"`
		Until  time.Time `json:"until"`
		Reason string    `json:"reason"`
	}
	if !readAPIJSON(w, r, apiBodyLimit, &req) {
		return nil
	}
	if err := checkText("site", req.Site, true); err != nil {
		return err
	}
	u, err := s.userByName(r.Context(), r.PathValue("userName"))
	if err != nil {
		return err
	}
	// A console admin calling with its session, or with a token it made
	// on the console (s.decider), is the hub user its account stands for,
	// and does not approve its own extension (as for grants). who.UserID,
	// read now, refuses early; who.Self is read again inside the
	// extension's transaction, which decides: the account may be linked
	// to u in between (u renamed to its name).
	who, err := s.decider(r.Context(), a)
	if err != nil {
		return err
	}
	const ownShift = "you cannot extend your own shift: ask another admin"
	if who.UserID != "" && who.UserID == u.ID {
		writeAPIJSON(w, http.StatusForbidden, apiError{ownShift})
		return nil
	}
	x, moved, err := s.engine.ExtendShiftAs(r.Context(), a, who.Self, u.ID, req.Site, req.Until, req.Reason)
	if errors.Is(err, lifecycle.ErrSelfGrant) {
		writeAPIJSON(w, http.StatusForbidden, apiError{ownShift})
		return nil
	}
	if err != nil {
		// Named by its userName, not by the engine's internal ID.
		return userChangeError(err, u.UserName)
	}
	sessions := make([]map[string]any, 0, len(moved))
	for _, m := range moved {
		sessions = append(sessions, map[string]any{"session_id": m.Session.ID, "expires_at": m.Session.Expires})
	}
	writeAPIJSON(w, http.StatusCreated, map[string]any{"user": u.UserName, "extension": toAPIExtension(x), "sessions": sessions})
	return nil
}
