package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// apiError is the JSON error body of the agent and admin APIs.
type apiError struct {
	Error string `json:"error"`
}

func writeAPIJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// readJSON decodes a JSON body of at most limit bytes into v, answering
// the client's mistakes itself; it reports whether to go on.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	return decodeBody(w, r, limit, v, false)
}

// readAPIJSON is readJSON for the admin API: a field it does not know is
// refused (400 naming it), so that a misspelt one ("starts" for "start")
// cannot be dropped and its default (now) used instead. The kiosk's
// enrollment stays lenient: an agent newer than its hub may send more.
func readAPIJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	return decodeBody(w, r, limit, v, true)
}

func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any, strict bool) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeAPIJSON(w, http.StatusRequestEntityTooLarge, apiError{"the request body is too large"})
		return false
	case err != nil:
		writeAPIJSON(w, http.StatusBadRequest, apiError{"could not read the request body"})
		return false
	}
	if !checkBodyText(w, b) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		if name, dup := policy.DuplicateKey(b); dup {
			// encoding/json matches names without case and keeps the
			// last: {"role":"Nurse","ROLE":"Supervisor"} reads as one
			// grant and would store the other.
			writeAPIJSON(w, http.StatusBadRequest, apiError{fmt.Sprintf("the body names %q twice in one object (names are compared without case): give each once", name)})
			return false
		}
		dec.DisallowUnknownFields()
	}
	err = dec.Decode(v)
	if err == nil {
		// Anything but the end after the value: dec.More is false before
		// a stray ] or } too, which would go unnoticed.
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			err = errors.New("data after the JSON value")
		}
	}
	if err != nil {
		writeAPIJSON(w, http.StatusBadRequest, apiError{"the body is not the expected JSON object: " + bodyProblem(err)})
		return false
	}
	return true
}

// bodyProblem says what is wrong with a JSON body the decoder refused,
// in the client's words rather than Go's: an empty or cut-off body as
// such (not "EOF"), as PUT /policy says it, and a time that is not RFC
// 3339 (most often a local time without its offset) with what one looks
// like: Go's own message quotes its reference layout,
// "2006-01-02T15:04:05Z07:00", which reads like a date to send.
func bodyProblem(err error) string {
	var te *time.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return "it is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends before its JSON value does"
	case errors.As(err, &te):
		return timeProblem(te)
	}
	return policy.JSONProblem(err)
}

// timeProblem is the message for a time in a body that time.Time's JSON
// decoding refused.
func timeProblem(te *time.ParseError) string {
	return fmt.Sprintf(`%q is not an RFC 3339 time with its UTC offset, like 2026-12-01T06:00:00+01:00 or 2026-12-01T05:00:00Z`, te.Value)
}

// checkBodyText refuses (400) a JSON body whose strings encoding/json would
// not read as sent, and reports whether to go on.
func checkBodyText(w http.ResponseWriter, b []byte) bool {
	if msg := store.BadJSONText(b); msg != "" {
		writeAPIJSON(w, http.StatusBadRequest, apiError{msg})
		return false
	}
	return true
}

// unknownProfile is the error message for a profile this hub does not
// know, with the ones it does.
func (s *Server) unknownProfile(name string) string {
	return unknownProfileError(s.profiles, name).Error()
}

// ErrUnknownProfile is wrapped by CheckProfile's error for a name that is
// no profile the hub knows: the caller's mistake, unlike a profile
// directory the hub cannot read.
var ErrUnknownProfile = errors.New("unknown kiosk profile")

func unknownProfileError(known map[string]*profiles.Profile, name string) error {
	return fmt.Errorf("%w %q: use one of %s (firmware-profiles/)", ErrUnknownProfile, name, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
}

// CheckProfile returns an error unless name is a kiosk hardware profile
// that a hub on data directory dir knows: built in, or in
// DIR/profiles/. The CLI checks an enrollment code's profile with it, as
// the API does, so that a typo does not make a code no kiosk can redeem.
// It reads no database: only the built-in profiles and DIR/profiles/. An
// unknown name is ErrUnknownProfile; other errors mean the profiles could
// not be read.
func CheckProfile(dir, name string) error {
	known, err := loadProfiles(dir)
	if err != nil {
		return err
	}
	if _, ok := known[name]; !ok {
		return unknownProfileError(known, name)
	}
	return nil
}

// handleEnroll redeems a kiosk's one-time code for a device certificate.
func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) {
	// The kiosk checks the certificate it gets by the hub's clock, which
	// it reads from Date: the hub's own (the one the certificate is dated
	// by), not the one net/http would write.
	w.Header().Set("Date", s.cfg.Now().UTC().Format(http.TimeFormat))
	addr := sourceAddr(r)
	// tooMany answers 429 for source from (the address, its IPv6 /64 or
	// /48, which the guard counts wrong codes against: see guardKey).
	tooMany := func(from string, wait time.Duration) {
		if from != addr && strings.Contains(from, "/") {
			from = fmt.Sprintf("%s (which %s is in)", from, addr)
		}
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeAPIJSON(w, http.StatusTooManyRequests, apiError{fmt.Sprintf("too many wrong enrollment codes from %s: try again in %d s with a new code from shiftgate-hub device code", from, secs)})
	}
	// A source refused already is refused before its request is read;
	// begin decides, below.
	if wait, from := s.enrollGuard.blocked(addr, s.cfg.Now()); wait > 0 {
		tooMany(from, wait)
		return
	}
	var req wire.EnrollRequest
	if !readJSON(w, r, wire.MaxMessageBytes, &req) {
		return
	}
	if _, ok := s.profiles[req.Profile]; !ok {
		// Checked before the code is used, so a typo does not burn it.
		writeAPIJSON(w, http.StatusBadRequest, apiError{s.unknownProfile(req.Profile)})
		return
	}
	// The code is checked holding one of the source's turns (see
	// enrollguard.go): concurrent wrong codes cannot overshoot the limit.
	attempt, err := s.enrollGuard.begin(r.Context(), addr, s.cfg.Now)
	var blocked *enrollBlockedError
	switch {
	case errors.As(err, &blocked) && blocked.Source == untrackedKey:
		tooMany("new addresses while the hub tracks as many others with wrong codes as it can", blocked.Wait)
		return
	case errors.As(err, &blocked):
		tooMany(blocked.Source, blocked.Wait)
		return
	case errors.Is(err, errEnrollBusy):
		w.Header().Set("Retry-After", "1")
		writeAPIJSON(w, http.StatusTooManyRequests, apiError{fmt.Sprintf("too many enrollments from %s at once: try again in a few seconds", addr)})
		return
	case err != nil:
		return // the client went away
	}
	defer attempt.end(false, s.cfg.Now()) // a panic in Redeem gives the turn back
	resp, err := enroll.Redeem(r.Context(), s.st, s.audit, s.certs.CA, req, s.cfg.Now())
	attempt.end(errors.Is(err, enroll.ErrBadCode), s.cfg.Now())
	switch {
	case errors.Is(err, enroll.ErrBadCode):
		s.cfg.Logger.Warn("kiosk enrollment refused: the code is wrong, expired or used", "from", addr, "counted_against", attempt.source())
		writeAPIJSON(w, http.StatusForbidden, apiError{enroll.ErrBadCode.Error()})
	case errors.Is(err, enroll.ErrNameTaken):
		writeAPIJSON(w, http.StatusConflict, apiError{enroll.ErrNameTaken.Error()})
	case errors.Is(err, enroll.ErrBadCSR):
		writeAPIJSON(w, http.StatusBadRequest, apiError{err.Error()})
	case errors.Is(err, enroll.ErrWrongProfile):
		writeAPIJSON(w, http.StatusForbidden, apiError{err.Error()})
	case s.writeStoreUnavailable(w, r, err):
		// 503 or 507: the code was not used; the kiosk may try it again.
	case err != nil:
		s.cfg.Logger.Error("enroll kiosk", "err", err)
		writeAPIJSON(w, http.StatusInternalServerError, apiError{"internal error; the hub log has the details"})
	default:
		s.cfg.Logger.Info("kiosk enrolled", "device", resp.DeviceID, "name", resp.DeviceName, "site", resp.Site)
		writeAPIJSON(w, http.StatusOK, resp)
	}
}
