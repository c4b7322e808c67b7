package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Governance is the hub's access-governance service: reviews, findings and
// the four numbers (Numbers), for the web console and the scheduler
// (RunDue).
func (s *Server) Governance() *governance.Service { return s.gov }

// governanceRoutes mounts access reviews, risk findings and the report
// under /api/v1 (admin bearer token).
func (s *Server) governanceRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/reviews", s.gadmin(s.apiListReviews))
	mux.Handle("POST /api/v1/reviews", s.gadmin(s.apiStartReview))
	mux.Handle("POST /api/v1/reviews/run", s.gadmin(s.apiRunReviews))
	mux.Handle("GET /api/v1/reviews/{id}", s.gadmin(s.apiGetReview))
	mux.Handle("POST /api/v1/reviews/{id}/items/{item}", s.gadmin(s.apiDecide))
	mux.Handle("GET /api/v1/findings", s.gadmin(s.apiFindings))
	mux.Handle("POST /api/v1/findings/{id}/remediate", s.gadmin(s.apiRemediate))
	mux.Handle("GET /api/v1/report", s.gadmin(s.apiReport))
}

// gadmin is admin with governance's conflict mapped to 409 and its
// forbidden (a decision on one's own access) to 403.
func (s *Server) gadmin(fn func(http.ResponseWriter, *http.Request, lifecycle.Actor) error) http.Handler {
	return s.admin(func(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
		err := fn(w, r, a)
		switch {
		case errors.Is(err, governance.ErrForbidden):
			writeAPIJSON(w, http.StatusForbidden, apiError{userMessage(err)})
			return nil
		case errors.Is(err, governance.ErrConflict):
			writeAPIJSON(w, http.StatusConflict, apiError{userMessage(err)})
			return nil
		}
		return err
	})
}

// readBody reads a request body of at most governance.MaxRequestBytes; on
// failure it has answered (413 or 400).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, governance.MaxRequestBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeAPIJSON(w, http.StatusRequestEntityTooLarge, apiError{"the request body is too large"})
		return nil, false
	case err != nil:
		writeAPIJSON(w, http.StatusBadRequest, apiError{"could not read the request body"})
		return nil, false
	}
	return b, checkBodyText(w, b)
}

// apiListReviews answers the overview with a page of the campaigns, in
// the order they were started: ?startIndex=1&count=N (listPage). The
// reviewers' progress counts every campaign, whatever the page.
func (s *Server) apiListReviews(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	p, err := listPage(r)
	if err != nil {
		return err
	}
	o, err := s.gov.CampaignsPage(r.Context(), p)
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, o)
	return nil
}

// apiStartReview starts a campaign: {"name", "due", "scope": {...}}.
// With an Idempotency-Key header (as POST /grants takes it), the same
// request sent again by the same caller starts no second campaign: it is
// answered 201 with the campaign the first started, marked
// Idempotent-Replayed; the key with another campaign is 422.
func (s *Server) apiStartReview(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	var key *governance.CampaignKey
	if vs := r.Header.Values(idempotencyKeyHeader); len(vs) > 0 {
		if len(vs) > 1 {
			return errors.Join(errBadRequest, errors.New("send one "+idempotencyKeyHeader+" header, not several"))
		}
		if err := checkIdempotencyKey(vs[0]); err != nil {
			return err
		}
		key = &governance.CampaignKey{Caller: grantKeyCaller(a), Key: vs[0]}
	}
	b, ok := readBody(w, r)
	if !ok {
		return nil
	}
	req, err := governance.DecodeCampaignRequest(b)
	if err != nil {
		return err
	}
	var (
		c        governance.CampaignPage
		replayed bool
	)
	if key == nil {
		c, err = s.gov.StartCampaign(r.Context(), a, req)
	} else {
		c, replayed, err = s.gov.StartCampaignOnce(r.Context(), a, req, *key)
	}
	if errors.Is(err, governance.ErrCampaignKeyReused) {
		writeAPIJSON(w, http.StatusUnprocessableEntity, apiError{userMessage(err)})
		return nil
	}
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set(replayedHeader, "true")
	}
	// The first page of its items, as GET answers it (StartCampaign reads
	// only that page): a campaign over a large site has tens of thousands.
	writeAPIJSON(w, http.StatusCreated, c)
	return nil
}

// apiRunReviews starts the due default campaigns and escalates overdue
// items, like the scheduler does. A run that fails is answered as any
// failed request (writeAPIError's status and error), with what it did
// before it failed beside the error, in the fields of a run that ends
// well: the campaigns it started and the items it handed on in the
// batches that committed stay so. Answered with the error alone, the
// admin could not tell that items had moved to new reviewers, nor how
// many.
func (s *Server) apiRunReviews(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	out, err := s.gov.RunDueAs(r.Context(), a)
	if err != nil {
		rec := &errorRecorder{header: w.Header()}
		s.writeAPIError(rec, r, err)
		var e apiError
		if json.Unmarshal(rec.body.Bytes(), &e) != nil {
			e.Error = "internal error; the hub log has the details"
		}
		if len(out.Campaigns) > 0 || out.Escalated > 0 || out.Reassigned > 0 {
			// The error of an outage says that nothing was changed,
			// which is not so here. Any other keeps writeAPIError's
			// message: a client error's is not logged, so "see the hub
			// log" would send the admin to a log without it.
			cause := e.Error
			if _, what, _, ok := store.Outage(err); ok {
				cause = what
			}
			e.Error = fmt.Sprintf("the run stopped part way (%s): what it did before, counted here, stays done; run it again for the rest", cause)
		}
		if rec.status == 0 {
			rec.status = http.StatusInternalServerError
		}
		writeAPIJSON(w, rec.status, struct {
			apiError
			governance.Started
		}{e, out})
		return nil
	}
	writeAPIJSON(w, http.StatusOK, out)
	return nil
}

// errorRecorder keeps the answer writeAPIError writes, for a handler to
// add to its body; headers (a 503's Retry-After) go to the real answer's.
type errorRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (e *errorRecorder) Header() http.Header         { return e.header }
func (e *errorRecorder) WriteHeader(status int)      { e.status = status }
func (e *errorRecorder) Write(b []byte) (int, error) { return e.body.Write(b) }

// apiGetReview answers a campaign with a page of its items:
// ?startIndex=1&count=N (at most governance.MaxItemCount, the default)
// and ?decision=pending|decided|keep|revoke.
func (s *Server) apiGetReview(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	q := r.URL.Query()
	p, err := governance.ParseItemPage(q.Get("startIndex"), q.Get("count"), q.Get("decision"))
	if err != nil {
		return err
	}
	c, err := s.gov.CampaignItems(r.Context(), r.PathValue("id"), p)
	if errors.Is(err, store.ErrNotFound) {
		// The store's error repeats the ID whole (clipID).
		return errors.Join(store.ErrNotFound, fmt.Errorf("no campaign %q (GET /api/v1/reviews lists them)", clipID(r.PathValue("id"))))
	}
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, c)
	return nil
}

// apiDecide records a decision on an item: {"decision": "keep"|"revoke"|"comment", "comment"}.
func (s *Server) apiDecide(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	b, ok := readBody(w, r)
	if !ok {
		return nil
	}
	d, err := governance.DecodeDecision(b)
	if err != nil {
		return err
	}
	// The IDs from the path are repeated cut (clipID): the store's
	// error would repeat them whole.
	it, err := s.st.GetReviewItem(r.Context(), r.PathValue("item"))
	if errors.Is(err, store.ErrNotFound) {
		return errors.Join(store.ErrNotFound, fmt.Errorf("no review item %q (GET /api/v1/reviews/ID lists a campaign's items)", clipID(r.PathValue("item"))))
	}
	if err != nil {
		return err
	}
	if it.CampaignID != r.PathValue("id") {
		return errors.Join(store.ErrNotFound, fmt.Errorf("campaign %q has no item %s", clipID(r.PathValue("id")), it.ID))
	}
	// A console admin calling with its session is a person and must not
	// decide its own access, nor with a token it made on the console
	// (s.decider). A token the CLI made is no person (it decides as
	// itself, and the audit record names the token).
	who, err := s.decider(r.Context(), a)
	if err != nil {
		return err
	}
	v, err := s.gov.Decide(r.Context(), who, it.ID, d.Decision, d.Comment)
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, v)
	return nil
}

// apiFindings answers a page of the findings, in Findings' order:
// ?startIndex=1&count=N (listPage), and ?dormant_days=N. The findings are
// computed whole, every rule over every user, and then paged: the page
// bounds the answer, not the work (nor the memory) of computing it.
func (s *Server) apiFindings(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	dormant, err := governance.ParseDormantDays(r.URL.Query().Get("dormant_days"))
	if err != nil {
		return err
	}
	p, err := listPage(r)
	if err != nil {
		return err
	}
	fs, err := s.gov.Findings(r.Context(), governance.FindingsOptions{DormantAfter: dormant})
	if err != nil {
		return err
	}
	from, to := p.Bounds(len(fs))
	writeAPIJSON(w, http.StatusOK, paged(map[string]any{"generated_at": s.cfg.Now().UTC(), "findings": fs[from:to]}, p, len(fs), to-from))
	return nil
}

// apiRemediate applies a finding's remediation (?dormant_days=N as for
// the report the finding came from).
func (s *Server) apiRemediate(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	dormant, err := governance.ParseDormantDays(r.URL.Query().Get("dormant_days"))
	if err != nil {
		return err
	}
	// A finding's ID is its rule and 16 hex digits: one longer than any
	// is no finding's, and governance's 404 would repeat it whole, after
	// computing every finding to look for it.
	if id := r.PathValue("id"); len(id) > maxGrantID {
		return errors.Join(store.ErrNotFound, fmt.Errorf("no current finding %q (GET /api/v1/findings lists them)", clipID(id)))
	}
	out, err := s.gov.Remediate(r.Context(), a, r.PathValue("id"), governance.FindingsOptions{DormantAfter: dormant})
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiReport(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	q := r.URL.Query()
	period, err := governance.ParsePeriod(q.Get("since"), q.Get("until"))
	if err != nil {
		return errors.Join(errBadRequest, err)
	}
	rep, err := s.gov.NumbersIn(r.Context(), period)
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, rep)
	return nil
}
