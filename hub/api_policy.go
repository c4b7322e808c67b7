package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// policyRoutes mounts the login policy API: the whole document, read and
// replaced with optimistic concurrency on its version.
func (s *Server) policyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/policy", s.admin(s.apiGetPolicy))
	mux.Handle("PUT /api/v1/policy", s.admin(s.apiPutPolicy))
}

// apiPolicy is the policy as the API shows it: the stored document
// (policy.Document) with its version. A PUT takes the same body (read by
// policy.ParseEdit, see apiPutPolicy): version (or If-Match) names the
// version the change was made to; changed_by, changed and the sessions_*
// fields are read-only and ignored, so a GET body can be edited and sent
// back.
type apiPolicy struct {
	Version   int64      `json:"version"`
	ChangedBy string     `json:"changed_by,omitempty"`
	Changed   *time.Time `json:"changed,omitempty"`
	policy.Document
	SessionsEnded     []string `json:"sessions_ended,omitempty"`
	SessionsShortened []string `json:"sessions_shortened,omitempty"`
}

func toAPIPolicy(p lifecycle.Policy) apiPolicy {
	out := apiPolicy{Version: p.Version, ChangedBy: p.ChangedBy, Document: p.Rules.Document()}
	if !p.Changed.IsZero() {
		out.Changed = &p.Changed
	}
	return out
}

func policyETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// apiGetPolicy shows the policy in force, with its version as the ETag.
func (s *Server) apiGetPolicy(w http.ResponseWriter, _ *http.Request, _ lifecycle.Actor) error {
	p := s.engine.Policy()
	w.Header().Set("ETag", policyETag(p.Version))
	writeAPIJSON(w, http.StatusOK, toAPIPolicy(p))
	return nil
}

// apiPolicyProblems is the 400 answer for an invalid policy: the API's
// {"error"} (every problem listed, joined) and each problem with its
// JSON path in the body, at most policy.MaxProblems of them; more_problems
// counts those left out.
type apiPolicyProblems struct {
	Error    string           `json:"error"`
	Problems []policy.Problem `json:"problems"`
	More     int              `json:"more_problems,omitempty"`
}

// writePolicyProblems answers 400 with ve's problems.
func writePolicyProblems(w http.ResponseWriter, ve *policy.ValidationError) {
	writeAPIJSON(w, http.StatusBadRequest, apiPolicyProblems{Error: ve.Error(), Problems: ve.Problems, More: ve.More})
}

// apiPutPolicy replaces the policy with the body if the policy is still
// at the version the body (or If-Match) names: 409 otherwise (412 for
// If-Match), 400 with every problem for an invalid one; either way
// nothing changes.
func (s *Server) apiPutPolicy(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	var raw json.RawMessage
	if !readJSON(w, r, policy.MaxEditBytes, &raw) {
		return nil
	}
	// One pass finds every problem of the body: unknown fields, names
	// given twice (encoding/json would keep the last, so
	// "sites":["North"],"SITES":null would drop the limit that a reader
	// of the body sees), values of the wrong type and invalid rules.
	// changed_by, changed and sessions_* are read-only: read, for their
	// type, and ignored. A name the policy in force holds keeps the rule
	// it was stored under (Engine.UpdatePolicy checks again against the
	// stored version the change replaces).
	var (
		base       int64
		changedBy  string
		changed    *time.Time
		ended, cut []string
	)
	rules, err := policy.ParseEditReplacing(raw, map[string]any{"version": &base, "changed_by": &changedBy, "changed": &changed,
		"sessions_ended": &ended, "sessions_shortened": &cut}, s.engine.Rules())
	if err != nil {
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			writePolicyProblems(w, ve)
			return nil
		}
		return err
	}
	fromHeader := false
	if m := r.Header.Get("If-Match"); m != "" {
		v, err := strconv.ParseInt(strings.Trim(strings.TrimPrefix(strings.TrimSpace(m), "W/"), `"`), 10, 64)
		if err != nil || v <= 0 {
			return errors.Join(errBadRequest, fmt.Errorf("If-Match %q is not a policy version such as \"3\" (the ETag of GET /api/v1/policy)", m))
		}
		if base != 0 && base != v {
			return errors.Join(errBadRequest, fmt.Errorf("If-Match names version %d and the body version %d: send one", v, base))
		}
		base, fromHeader = v, true
	}
	if base <= 0 {
		writeAPIJSON(w, http.StatusPreconditionRequired, apiError{`send the version you changed, as "version" in the body or If-Match (GET /api/v1/policy gives it), so that no one else's change is overwritten`})
		return nil
	}
	ch, err := s.engine.UpdatePolicy(r.Context(), a, base, rules)
	switch {
	case errors.Is(err, lifecycle.ErrPolicyStale):
		cur := s.engine.Policy()
		w.Header().Set("ETag", policyETag(cur.Version))
		// A failed If-Match is 412 (RFC 9110 §13.1.1), as HTTP clients
		// and proxies expect of a precondition; a stale version in the
		// body is a conflict of the document's content, 409.
		status := http.StatusConflict
		if fromHeader {
			status = http.StatusPreconditionFailed
		}
		writeAPIJSON(w, status, map[string]any{"error": userMessage(err), "version": cur.Version})
		return nil
	case errors.Is(err, policy.ErrInvalid):
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			writePolicyProblems(w, ve)
			return nil
		}
		return errors.Join(errBadRequest, err)
	case err != nil:
		return err
	}
	out := toAPIPolicy(ch.Policy)
	out.SessionsEnded, out.SessionsShortened = ch.SessionsEnded, ch.SessionsShortened
	w.Header().Set("ETag", policyETag(ch.Policy.Version))
	writeAPIJSON(w, http.StatusOK, out)
	return nil
}
