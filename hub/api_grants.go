package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// userByName finds a user that is not deleted by its userName.
func (s *Server) userByName(ctx context.Context, name string) (store.User, error) {
	us, _, err := s.st.ListUsers(ctx, store.UserQuery{UserName: name, States: []store.UserState{store.UserActive, store.UserPending, store.UserDisabled}})
	if err != nil {
		return store.User{}, err
	}
	return oneUserNamed(us, name)
}

// oneUserNamed picks the user named name from us, the users a lookup by
// that name found (store.UserQuery.UserName: compared under Unicode case
// folding). A database from before names were folded may hold two users
// whose names differ in non-ASCII case only ("Zoë" and "ZOË"); they keep
// working, so each is found under its own spelling, and a spelling that
// is neither's is a 409 that lists them (not "no user": an admin signing
// a leaver out must not be told the leaver does not exist).
func oneUserNamed(us []store.User, name string) (store.User, error) {
	switch len(us) {
	case 0:
		return store.User{}, errors.Join(store.ErrNotFound, errors.New("no user "+name))
	case 1:
		return us[0], nil
	}
	for _, u := range us {
		if u.UserName == name {
			return u, nil
		}
	}
	return store.User{}, errors.Join(store.ErrConflict, errors.New(store.NamedAlike(name, us)))
}

// apiGrant is a just-in-time grant as the API shows it.
type apiGrant struct {
	ID       string     `json:"id"`
	User     string     `json:"user"`
	Role     string     `json:"role"`
	Site     string     `json:"site"`
	Reason   string     `json:"reason"`
	Approver string     `json:"approver"`
	Start    time.Time  `json:"start"`
	End      time.Time  `json:"end"`
	Revoked  *time.Time `json:"revoked,omitempty"`
}

func toAPIGrant(g store.Grant, userName string) apiGrant {
	out := apiGrant{ID: g.ID, User: userName, Role: g.Role, Site: g.Site, Reason: g.Reason, Approver: g.Approver, Start: g.Start, End: g.End}
	if !g.Revoked.IsZero() {
		out.Revoked = &g.Revoked
	}
	return out
}

// apiCreateGrant gives a user a time-bound role at a site:
// {"user", "role", "site", "end" (RFC 3339), "reason", optional "start"}.
// With an Idempotency-Key header, the same request sent again by the same
// caller within a day gets the grant the first one made
// (api_grants_idempotency.go).
func (s *Server) apiCreateGrant(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	key, err := readGrantKey(r, a)
	if err != nil {
		return err
	}
	var req struct {
		User   string    `json:"user"`
		Role   string    `json:"role"`
		Site   string    `json:"site"`
		Reason string    `json:"reason"`
		Start  time.Time `json:"start"`
		End    time.Time `json:"end"`
	}
	if !readAPIJSON(w, r, apiBodyLimit, &req) {
		return nil
	}
	if done, err := s.replayGrant(w, r, key); done || err != nil {
		return err
	}
	if req.User == "" {
		return errors.Join(errBadRequest, errors.New(`send {"user": USERNAME, "role": ROLE, "site": SITE, "end": RFC3339, "reason": TEXT}`))
	}
	// The user too: a userName nobody has is repeated in the 404, which
	// must not echo up to a body's worth of text.
	if err := errors.Join(checkText("user", req.User, true), checkText("role", req.Role, true), checkText("site", req.Site, true), checkText("reason", req.Reason, false)); err != nil {
		return err
	}
	u, err := s.userByName(r.Context(), req.User)
	if err != nil {
		return err
	}
	// A console admin calling with its session is a person, the hub user
	// of its name, and must not grant itself access; nor with a token it
	// made on the console (s.decider). A token the CLI made is no person.
	who, err := s.decider(r.Context(), a)
	if err != nil {
		return err
	}
	want := store.Grant{UserID: u.ID, Role: req.Role, Site: req.Site, Reason: req.Reason, Start: req.Start, End: req.End}
	var (
		g        store.Grant
		replayed bool
	)
	if key == nil {
		g, err = s.engine.GrantAccessAs(r.Context(), a, who.Self, want)
	} else {
		// The key is looked up again inside the grant's transaction: a
		// retry sent before the first request committed gets its grant.
		g, replayed, err = s.engine.GrantAccessOnce(r.Context(), a, who.Self, key.request(), want)
	}
	if errors.Is(err, lifecycle.ErrSelfGrant) {
		writeAPIJSON(w, http.StatusForbidden, apiError{"you cannot grant yourself access: ask another admin"})
		return nil
	}
	if err != nil {
		return grantKeyError(w, err)
	}
	if replayed {
		return s.writeReplayedGrant(w, r, g)
	}
	writeAPIJSON(w, http.StatusCreated, toAPIGrant(g, u.UserName))
	return nil
}

// apiListGrants lists a page of a user's grants, past and revoked ones
// included, by start: ?startIndex=1&count=N (listPage). A long-serving
// worker's history has no bound, so the store reads the page only.
func (s *Server) apiListGrants(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	p, err := listPage(r)
	if err != nil {
		return err
	}
	u, err := s.userByName(r.Context(), r.PathValue("userName"))
	if err != nil {
		return err
	}
	gs, total, err := s.st.PageGrants(r.Context(), u.ID, p.ListPage())
	if err != nil {
		return err
	}
	out := make([]apiGrant, 0, len(gs))
	for _, g := range gs {
		out = append(out, toAPIGrant(g, u.UserName))
	}
	writeAPIJSON(w, http.StatusOK, paged(map[string]any{"grants": out}, p, total, len(out)))
	return nil
}

// maxGrantID is the longest grant ID an error message repeats: a UUID
// is 36 bytes.
const maxGrantID = 64

// clipID returns an ID from a request's path as an error message repeats
// it: cut after maxGrantID bytes. The hub's IDs (grants, campaigns,
// review items, findings) are shorter; a path may carry up to 64 KB, and
// a 404 must not echo it whole.
func clipID(id string) string {
	if len(id) > maxGrantID {
		return id[:maxGrantID] + "…"
	}
	return id
}

// apiRevokeGrant ends a grant early; sessions that depended on it end.
func (s *Server) apiRevokeGrant(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	id := r.PathValue("id")
	g, err := s.engine.RevokeGrant(r.Context(), a, id, "revoked by "+a.Name)
	if errors.Is(err, store.ErrNotFound) {
		// The engine's error names its inner operations and the ID
		// twice, and does not say that a grant over or revoked already
		// is not found either. Grant IDs are UUIDs: a longer one is not
		// echoed (clipID).
		return errors.Join(store.ErrNotFound, fmt.Errorf("no running grant %q: it is over, revoked already, or unknown (GET /api/v1/users/USERNAME/grants lists a user's grants)", clipID(id)))
	}
	if err != nil {
		return err
	}
	u, err := s.st.GetUser(r.Context(), g.UserID)
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, toAPIGrant(g, u.UserName))
	return nil
}
