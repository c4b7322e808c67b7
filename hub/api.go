package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// apiBodyLimit caps admin API request bodies.
const apiBodyLimit = 64 << 10

// apiRoutes mounts the admin JSON API under /api/v1 (admin bearer token).
func (s *Server) apiRoutes(mux *http.ServeMux) {
	mux.Handle("POST /api/v1/enrollments", s.admin(s.apiEnroll))
	mux.Handle("POST /api/v1/devices/codes", s.admin(s.apiDeviceCode))
	mux.Handle("POST /api/v1/users/{userName}/signout", s.admin(s.apiSignout))
	mux.Handle("POST /api/v1/devices/{device}/disable", s.admin(s.apiDisableDevice))
	mux.Handle("POST /api/v1/credentials/{id}/revoke", s.admin(s.apiRevokeCredential))
	mux.Handle("POST /api/v1/grants", s.admin(s.apiCreateGrant))
	mux.Handle("GET /api/v1/users/{userName}/grants", s.admin(s.apiListGrants))
	mux.Handle("POST /api/v1/grants/{id}/revoke", s.admin(s.apiRevokeGrant))
	s.shiftRoutes(mux)
	s.policyRoutes(mux)
	mux.Handle(apiPrefix, s.admin(s.apiNoRoute(mux)))
}

// apiPrefix is the admin API's subtree.
const apiPrefix = "/api/v1/"

// apiNoRoute answers a request no API route takes, behind the same token
// check as the routes (so that nobody learns without a token which paths
// exist): a JSON 405 naming the methods the path takes (Allow), or a JSON
// 404. ServeMux would answer either in text/plain, and before any token
// is checked.
func (s *Server) apiNoRoute(mux *http.ServeMux) func(http.ResponseWriter, *http.Request, lifecycle.Actor) error {
	return func(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := r.WithContext(r.Context())
			probe.Method = m
			// "" is a redirect (a path to clean), not a route.
			if _, pattern := mux.Handler(probe); pattern != apiPrefix && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			writeAPIJSON(w, http.StatusNotFound, apiError{"the API has no " + r.URL.Path + ": see the Admin API in hub/README.md"})
			return nil
		}
		list := strings.Join(allow, ", ")
		w.Header().Set("Allow", list)
		writeAPIJSON(w, http.StatusMethodNotAllowed, apiError{r.URL.Path + " takes " + list + ", not " + r.Method})
		return nil
	}
}

// admin wraps an API handler with admin-token authentication and renders
// its error in one place.
func (s *Server) admin(fn func(http.ResponseWriter, *http.Request, lifecycle.Actor) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.tokenActor(w, r, store.ScopeAdmin)
		if !ok {
			return
		}
		if err := fn(w, r, a); err != nil {
			s.writeAPIError(w, r, err)
		}
	})
}

// requireToken protects h with a bearer token of one of scopes.
func (s *Server) requireToken(h http.Handler, scopes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.tokenActor(w, r, scopes...); ok {
			h.ServeHTTP(w, r)
		}
	})
}

// tokenActor checks the bearer token against scopes (the first names the
// realm of a 401); on failure it has answered 401.
func (s *Server) tokenActor(w http.ResponseWriter, r *http.Request, scopes ...string) (lifecycle.Actor, bool) {
	if slices.Contains(scopes, store.ScopeAdmin) && r.Header.Get("Authorization") == "" {
		// The design lets console admins use the API with their session
		// (CSRF-checked); the console answers when a cookie is present.
		if a, ok, handled := s.console.APIActor(w, r); handled {
			return a, ok
		}
	}
	bearer, ok := cutPrefixFold(r.Header.Get("Authorization"), "Bearer ")
	if ok {
		// Checked, and its use recorded only once its maker may act: a
		// token refused for its maker is not shown as recently used.
		t, err := s.verifier.Check(r.Context(), strings.TrimSpace(bearer), scopes...)
		if err == nil {
			if !s.makerMayAct(w, r, t) {
				return lifecycle.Actor{}, false
			}
			s.verifier.Used(r.Context(), t)
			return lifecycle.Actor{Name: token.Actor(t), System: "api"}, true
		}
		if !errors.Is(err, token.ErrInvalid) {
			s.writeAPIError(w, r, err)
			return lifecycle.Actor{}, false
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="shiftgate-`+scopes[0]+`"`)
	writeAPIJSON(w, http.StatusUnauthorized, apiError{"send a token from `shiftgate-hub token create --scope " + scopes[0] + "` as 'Authorization: Bearer <token>'"})
	return lifecycle.Actor{}, false
}

func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeAPIJSON(w, http.StatusNotFound, apiError{userMessage(err)})
	case errors.Is(err, push.ErrOffline):
		writeAPIJSON(w, http.StatusConflict, apiError{"the kiosk is offline: the enrollment needs it connected; try again when it is online"})
	case errors.Is(err, errBadRequest), errors.Is(err, lifecycle.ErrInvalid):
		writeAPIJSON(w, http.StatusBadRequest, apiError{userMessage(err)})
	case errors.Is(err, enroll.ErrNameTaken), errors.Is(err, store.ErrConflict):
		writeAPIJSON(w, http.StatusConflict, apiError{userMessage(err)})
	case errors.Is(err, governance.ErrForbidden):
		// A console session's account disabled, or its hub user gone,
		// while a grant, extension or shift change was made
		// (Console.Decider's Self refuses it in the deciding transaction).
		writeAPIJSON(w, http.StatusForbidden, apiError{userMessage(err)})
	default:
		if s.writeStoreUnavailable(w, r, err) {
			return
		}
		s.cfg.Logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeAPIJSON(w, http.StatusInternalServerError, apiError{"internal error; the hub log has the details"})
	}
}

// writeStoreUnavailable answers an error of the store that is neither the
// client's fault nor a bug in the hub, and reports whether err was one: a
// write lock held by another process past the busy timeout (503 with
// Retry-After: the same request may go through in a moment) or a full
// disk (507: nothing can be saved until an operator frees space). Either
// is logged once, at error level, with what the operator should do
// (store.Outage).
func (s *Server) writeStoreUnavailable(w http.ResponseWriter, r *http.Request, err error) bool {
	client, what, do, ok := store.Outage(err)
	if !ok {
		return false
	}
	s.cfg.Logger.Error("api request failed: "+what, "method", r.Method, "path", r.URL.Path, "err", err, "do", do)
	status := http.StatusInsufficientStorage
	if errors.Is(err, store.ErrBusy) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", store.BusyRetryAfter)
	}
	writeAPIJSON(w, status, apiError{client})
	return true
}

var errBadRequest = errors.New("bad request")

// maxAPIText caps a text field the API stores (a kiosk or site name, a
// role, a reason): what a console form field takes.
const maxAPIText = 500

// checkText refuses a stored text field that is longer than maxAPIText
// bytes, is not UTF-8, or, for a name (not free text), holds a control
// character: the console could not have sent it, and names end up in
// audit records, logs and other systems' CSV exports. A body's JSON is
// UTF-8 once decoded, but a name from the path (PUT /sites/{name}) may
// hold any byte; stored, it would be shown with U+FFFD in its place, a
// name nothing finds it by.
func checkText(field, v string, name bool) error {
	if len(v) > maxAPIText {
		return errors.Join(errBadRequest, fmt.Errorf("%s is longer than %d bytes", field, maxAPIText))
	}
	if !utf8.ValidString(v) {
		return errors.Join(errBadRequest, fmt.Errorf("%s is not UTF-8 text", field))
	}
	if name && strings.ContainsFunc(v, store.Hidden) {
		return errors.Join(errBadRequest, fmt.Errorf("%s has a control character or an invisible formatting character", field))
	}
	return nil
}

func userMessage(err error) string {
	lines := strings.Split(err.Error(), "\n")
	// errors.Join(sentinel, detail): the detail says what to fix.
	for len(lines) > 1 && (lines[0] == errBadRequest.Error() || lines[0] == store.ErrNotFound.Error() || lines[0] == store.ErrConflict.Error()) {
		lines = lines[1:]
	}
	return lines[0]
}

// apiEnroll authorises a credential registration: the next tap on the
// named kiosk registers a credential for the user.
func (s *Server) apiEnroll(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	var req struct {
		User   string `json:"user"`
		Device string `json:"device"`
	}
	if !readAPIJSON(w, r, apiBodyLimit, &req) {
		return nil
	}
	if req.User == "" || req.Device == "" {
		return errors.Join(errBadRequest, errors.New(`send {"user": USERNAME, "device": KIOSK_NAME}`))
	}
	if err := s.armEnrollment(r.Context(), a, req.User, req.Device, nil); err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusAccepted, map[string]string{"status": "waiting for a tap at " + req.Device})
	return nil
}

// armEnrollment starts a badge registration for userName at the kiosk
// deviceName, for the API and the console alike. A disabled kiosk is
// refused by name: it registers no badge and never comes online again,
// yet its channel stays open for the acks of its teardown (cutOff), so
// the push would go through ("waiting for a tap"), and later fail as
// "offline: try again when it is online". may, when set, is asked again
// about the user inside the transaction that stores the badge's
// credential (authn.MayRegister): the console's rule for a supervisor,
// who enrolls badges only for workers of its sites; nil for the API's
// admins.
func (s *Server) armEnrollment(ctx context.Context, a lifecycle.Actor, userName, deviceName string, may func(ctx context.Context, tx store.Ops, u store.User) error) error {
	d, err := s.channel.deviceByName(ctx, deviceName)
	if err != nil {
		return err
	}
	if d.State != store.DeviceActive {
		return fmt.Errorf("%w: kiosk %q is disabled: it registers no badge; enroll its replacement and name that one", lifecycle.ErrInvalid, d.Name)
	}
	return s.channel.authorizeEnrollment(ctx, a, s.push, userName, deviceName, may)
}

// apiDeviceCode issues a one-time kiosk enrollment code, like
// `shiftgate-hub device code`.
func (s *Server) apiDeviceCode(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	var req struct {
		Name    string `json:"name"`
		Site    string `json:"site"`
		Profile string `json:"profile"` // optional: binds the code to it
	}
	if !readAPIJSON(w, r, apiBodyLimit, &req) {
		return nil
	}
	if strings.TrimSpace(req.Name) == "" || strings.TrimSpace(req.Site) == "" {
		return errors.Join(errBadRequest, errors.New(`send {"name": KIOSK_NAME, "site": SITE} and optionally "profile": PROFILE`))
	}
	if err := errors.Join(checkText("name", req.Name, true), checkText("site", req.Site, true), checkText("profile", req.Profile, true)); err != nil {
		return err
	}
	if p := strings.TrimSpace(req.Profile); p != "" {
		if _, ok := s.profiles[p]; !ok {
			return errors.Join(errBadRequest, unknownProfileError(s.profiles, p))
		}
	}
	code, err := enroll.NewCode(r.Context(), s.st, s.audit, a.Name, req.Name, req.Site, req.Profile, s.cfg.Now())
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusCreated, map[string]any{"code": code, "expires_in_seconds": int(enroll.CodeTTL.Seconds())})
	return nil
}

// apiSignout ends every live session of a user, everywhere.
func (s *Server) apiSignout(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	u, err := s.userByName(r.Context(), r.PathValue("userName"))
	if err != nil {
		return err
	}
	revs, err := s.engine.ForceSignOut(r.Context(), a, u.ID)
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, map[string]int{"sessions_ended": len(revs)})
	return nil
}

// apiDisableDevice disables a kiosk: its sessions end and its channel and
// certificate are refused from now on. A kiosk disabled already is
// answered as it stands, 200 with already_disabled and the time of its
// disable, and nothing is done or recorded again: a script that repeats
// a request it got no answer to must not fail, nor add to the audit
// trail a disable that did not happen.
func (s *Server) apiDisableDevice(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	d, err := s.channel.deviceByName(r.Context(), r.PathValue("device"))
	if err != nil {
		return err
	}
	err = s.disableDevice(r.Context(), a, d.ID)
	already := errors.Is(err, lifecycle.ErrDeviceNotActive)
	if err != nil && !already {
		return err
	}
	at, err := s.deviceDisabledAt(r.Context(), d.ID)
	if err != nil {
		return err
	}
	writeAPIJSON(w, http.StatusOK, map[string]any{"status": "disabled", "device": d.Name, "already_disabled": already, "disabled_at": at})
	return nil
}

// disableDevice disables a kiosk through the engine and cuts its channel
// off: for the API and the console alike. A kiosk disabled already is
// lifecycle.ErrDeviceNotActive, and nothing is done to its channel: the
// disable that disabled it cut it off (closed it, or closes it once its
// revocations are acknowledged), and the handshake refuses the kiosk.
func (s *Server) disableDevice(ctx context.Context, a lifecycle.Actor, deviceID string) error {
	if err := s.engine.DisableDevice(ctx, a, deviceID); err != nil {
		return err
	}
	s.channel.devices.Delete(deviceID)
	s.channel.rp.ForgetDevice(deviceID)
	s.channel.cleanups.forget(deviceID)
	s.cutOff(deviceID)
	return nil
}

// maxCredentialID is the longest credential ID WebAuthn allows, in bytes.
const maxCredentialID = 1023

// apiRevokeCredential revokes a credential (hex ID) and ends its owner's
// live sessions. A credential revoked already is answered as it stands,
// 200 with already_revoked and the time of its revocation, and nothing
// is done or recorded again (lifecycle.ErrCredentialNotActive), as for a
// kiosk disabled already (apiDisableDevice).
func (s *Server) apiRevokeCredential(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	hexID := r.PathValue("id")
	if len(hexID) > 2*maxCredentialID {
		return errors.Join(errBadRequest, fmt.Errorf("a credential id is at most %d bytes (%d hex digits)", maxCredentialID, 2*maxCredentialID))
	}
	id, err := hex.DecodeString(hexID)
	if err != nil {
		return errors.Join(errBadRequest, errors.New("the credential id is hex"))
	}
	err = s.engine.RevokeCredential(r.Context(), a, id, "revoked by "+a.Name)
	already := errors.Is(err, lifecycle.ErrCredentialNotActive)
	var cr store.Credential
	if err == nil || already {
		cr, err = s.st.GetCredential(r.Context(), id)
	}
	if errors.Is(err, store.ErrNotFound) {
		// The engine's error names its inner operations and the ID twice.
		return errors.Join(store.ErrNotFound, errors.New("no credential "+hexID))
	}
	if err != nil {
		return err
	}
	answer := map[string]any{"status": cr.State.String(), "credential": fmt.Sprintf("%x", cr.ID), "already_revoked": already}
	at, ok, err := s.credentialRevokedAt(r.Context(), cr)
	if err != nil {
		return err
	}
	if ok {
		answer["revoked_at"] = at
	}
	writeAPIJSON(w, http.StatusOK, answer)
	return nil
}

// A disabled kiosk's channel stays open at least cutOffGrace, so that the
// session.revoke pushes queued for it are delivered, and then as long as
// revocations of its sessions wait for an acknowledgement, up to
// cutOffMax: the agent's teardown timeout, so that a slow teardown is still
// acknowledged. Meanwhile the kiosk can sign nobody in, register no badge
// and renew no certificate; its acks and session.end reports are taken.
const (
	cutOffGrace = time.Second
	cutOffMax   = governance.DisabledKioskAckWindow
	cutOffPoll  = 50 * time.Millisecond
)

// cutOff closes a disabled kiosk's channel once cutOffGrace has passed and
// no revocation of its sessions waits for an acknowledgement, or at
// cutOffMax. New connections are refused at once by the TLS handshake.
func (s *Server) cutOff(deviceID string) {
	start := time.Now()
	var check func()
	check = func() {
		if time.Since(start) < cutOffMax && s.push.Connected(deviceID) {
			rs, err := s.st.ListRevocations(context.Background(), store.RevocationQuery{DeviceID: deviceID, PendingOnly: true, Limit: 1})
			if err == nil && len(rs) > 0 {
				time.AfterFunc(cutOffPoll, check)
				return
			}
		}
		s.push.Disconnect(deviceID, "device disabled")
	}
	time.AfterFunc(cutOffGrace, check)
}
