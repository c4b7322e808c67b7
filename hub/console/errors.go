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

// status maps an error to its HTTP status and the message to show; the
// message of a 500 never reveals internals.
func status(err error) (int, string) {
	var se *statusError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &se):
		return se.status, se.msg
	case errors.As(err, &tooBig):
		return errTooLarge.status, errTooLarge.msg
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, "not found: " + firstLine(err)
	case errors.Is(err, push.ErrOffline):
		return http.StatusConflict, "the kiosk is offline: it must be connected to start an enrollment"
	case errors.Is(err, governance.ErrForbidden):
		msg := firstLine(err)
		if _, after, ok := strings.Cut(msg, governance.ErrForbidden.Error()+": "); ok {
			msg = after
		}
		return http.StatusForbidden, msg
	case errors.Is(err, governance.ErrConflict):
		// "decide review item X: conflict: item X was already decided …":
		// the part after the sentinel says what happened.
		msg := firstLine(err)
		if _, after, ok := strings.Cut(msg, governance.ErrConflict.Error()+": "); ok {
			msg = after
		}
		return http.StatusConflict, msg
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "that name is already taken"
	case errors.Is(err, lifecycle.ErrInvalid):
		return http.StatusBadRequest, firstLine(err)
	}
	return http.StatusInternalServerError, "internal error; the hub log has the details"
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
		c.cfg.Logger.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
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
