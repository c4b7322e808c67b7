package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// statusError is an error with the HTTP status and the message a console
// user sees.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string   { return e.msg }
func (e *statusError) StatusCode() int { return e.status }

func badRequest(msg string) error { return &statusError{http.StatusBadRequest, msg} }

var (
	errNoSession   = &statusError{http.StatusUnauthorized, "sign in first"}
	errForbidden   = &statusError{http.StatusForbidden, "you may not see or change this"}
	errCSRF        = &statusError{http.StatusForbidden, "the form's security token is missing or wrong: reload the page and try again"}
	errCrossOrigin = &statusError{http.StatusForbidden, "cross-site request refused"}
	errNotFound    = &statusError{http.StatusNotFound, "no such page or record"}
	errTooLarge    = &statusError{http.StatusRequestEntityTooLarge, "the request is too large"}
)

// errUnmarked is a public POST with neither Origin nor Sec-Fetch-Site and
// without the sign-in page's token (guard).
var errUnmarked = &statusError{http.StatusForbidden, "request refused: it does not show that it comes from the console's own page " +
	"(no Origin or Sec-Fetch-Site header, and not the page's security token): reload the page and try again, in a current browser"}

// status maps an error to its HTTP status and the message to show. A
// message never reveals internals: a 500 says only that the hub log has the
// details, and a sentinel's wrapping (the operation, internal IDs: "extend
// shift of 0193…: invalid request: …") is cut off, leaving what the person
// can act on.
func status(err error) (int, string) {
	var se *statusError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.status, se.msg
	case errors.As(err, &tooBig):
		return errTooLarge.status, errTooLarge.msg
	case errors.Is(err, store.ErrNotFound):
		return errNotFound.status, errNotFound.msg
	case errors.Is(err, push.ErrOffline):
		return http.StatusConflict, "the kiosk is offline: it must be connected to start an enrollment"
	case errors.Is(err, governance.ErrForbidden):
		return http.StatusForbidden, afterSentinel(err, governance.ErrForbidden)
	case errors.Is(err, governance.ErrConflict):
		// "decide review item X: conflict: item X was already decided …":
		// the part after the sentinel says what happened.
		return http.StatusConflict, afterSentinel(err, governance.ErrConflict)
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "that name is already taken"
	case errors.Is(err, lifecycle.ErrInvalid):
		return http.StatusBadRequest, afterSentinel(err, lifecycle.ErrInvalid)
	case errors.Is(err, store.ErrBusy):
		client, _, _, _ := store.Outage(err)
		return http.StatusServiceUnavailable, client
	case errors.Is(err, store.ErrFull):
		client, _, _, _ := store.Outage(err)
		return http.StatusInsufficientStorage, client
	}
	return http.StatusInternalServerError, "internal error; the hub log has the details"
}

// logFailure logs a request that failed with a status of 500 or more,
// once, at error level. For a store that is locked by another process or
// full, which is no bug, it says what the operator should do
// (store.Outage), and a 503 tells the client when to try again
// (Retry-After).
func (c *Console) logFailure(w http.ResponseWriter, r *http.Request, code int, err error) {
	_, what, do, ok := store.Outage(err)
	if !ok {
		c.cfg.Logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
		return
	}
	c.cfg.Logger.Error("console request failed: "+what, "method", r.Method, "path", r.URL.Path, "err", err, "do", do)
	if errors.Is(err, store.ErrBusy) {
		w.Header().Set("Retry-After", store.BusyRetryAfter)
	}
}

// afterSentinel returns the first line of err's message from after the
// text of sentinel on ("op X: invalid request: what is wrong" → "what is
// wrong"), or the whole line when the sentinel's text is not followed by
// more.
func afterSentinel(err, sentinel error) string {
	msg := firstLine(err)
	if _, rest, ok := strings.Cut(msg, sentinel.Error()+": "); ok && rest != "" {
		return rest
	}
	return msg
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// fail renders err: JSON for script and API requests, an error page for
// browsers.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, msg := status(err)
	if code >= 500 {
		c.logFailure(w, r, code, err)
	} else {
		c.cfg.Logger.Debug("console request refused", "method", r.Method, "path", r.URL.Path, "status", code, "err", err)
	}
	if wantsJSON(r) {
		writeJSON(w, code, map[string]string{"error": msg})
		return
	}
	c.render(w, r, code, "error", nil, &page{Title: http.StatusText(code), Data: msg})
}

func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/console/auth/") || strings.HasPrefix(r.URL.Path, "/api/") ||
		strings.Contains(r.Header.Get("Accept"), "application/json") || strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}
