package console

import (
	"net/http"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
)

// APIActor lets a signed-in console admin use the hub's JSON API
// (/api/v1/) with the console session instead of a bearer token.
//
// handled is false when the request carries no console cookie: the caller
// goes on with bearer-token authentication. Otherwise APIActor has decided:
// ok with the admin as actor, or it has already answered (401 for a
// missing or expired session, 403 for a supervisor, a cross-site request,
// or a state-changing request without the CSRF header, or any request
// another site made). Cookie-authenticated API calls get exactly the
// console's CSRF protection, since a browser attaches the cookie to any
// request its site makes; no other site may have the browser read the API
// at all, not even by a link (fetchAllowed), since the console's pages
// never link to it. Their answers, personal data as the console's pages
// are, carry the console's Cache-Control: no-store and
// X-Content-Type-Options: nosniff.
func (c *Console) APIActor(w http.ResponseWriter, r *http.Request) (a lifecycle.Actor, ok, handled bool) {
	if ck, err := r.Cookie(CookieName); err != nil || ck.Value == "" {
		return lifecycle.Actor{}, false, false
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
	refuse := func(code int, msg string) (lifecycle.Actor, bool, bool) {
		writeJSON(w, code, map[string]string{"error": msg})
		return lifecycle.Actor{}, false, true
	}
	if unsafe && !sameOrigin(r, c.cfg.Origin) || !unsafe && !fetchAllowed(r, false) {
		return refuse(http.StatusForbidden, errCrossOrigin.msg)
	}
	v, err := c.viewer(r.Context(), r, true)
	if err != nil {
		code, msg := status(err)
		if code >= 500 {
			c.logFailure(w, r, code, err)
		}
		return refuse(code, msg)
	}
	if !v.admin() {
		return refuse(http.StatusForbidden, "the JSON API is for admins")
	}
	// The API reads JSON bodies, never forms: only the header carries the
	// token here.
	if unsafe && !v.checkCSRFHeader(r) {
		return refuse(http.StatusForbidden, "send the console's CSRF token in the "+CSRFHeader+" header")
	}
	return v.actor(), true, true
}
