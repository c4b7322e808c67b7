package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// CookieName is the session cookie. The __Host- prefix makes browsers
// refuse it unless it is Secure, has Path=/ and no Domain: a sibling host
// cannot plant or shadow it.
const CookieName = "__Host-shiftgate-console"

// touchEvery limits LastSeen writes to one per session per interval: the
// idle timeout does not need finer steps than this, and reads stay reads.
const touchEvery = time.Minute

// CSRFField and CSRFHeader carry the synchronizer token in forms and in
// fetch/API requests.
const (
	CSRFField  = "csrf"
	CSRFHeader = "X-CSRF-Token"
)

// viewer is the signed-in account of a request.
type viewer struct {
	account  store.ConsoleAccount
	hash     []byte // the session's stored hash
	csrf     string
	signedIn time.Time // when the session began (a sign-in or a registration)
}

// How console accounts appear in the audit trail: actor
// "console:<name>", system "console".
const (
	actorPrefix = "console:"
	actorSystem = "console"
)

// actor is how the viewer appears in the audit trail.
func (v *viewer) actor() lifecycle.Actor {
	return lifecycle.Actor{Name: actorPrefix + v.account.Name, System: actorSystem}
}

func (v *viewer) admin() bool      { return v.account.Role == store.ConsoleAdmin }
func (v *viewer) supervisor() bool { return v.account.Role == store.ConsoleSupervisor }
func (v *viewer) auditor() bool    { return v.account.Role == store.ConsoleAuditor }

// may reports whether the viewer's role reaches routes of level. Each
// level names the roles it lets in; an account of any other role (one
// this hub does not know) reaches signed-in routes only: its own account.
func (v *viewer) may(level access) bool {
	switch level {
	case signedIn:
		return true
	case adminOnly:
		return v.admin()
	case siteAccess:
		return v.admin() || v.supervisor()
	case evidence:
		return v.admin() || v.auditor()
	}
	return false
}

// handlerFunc is a console handler; the error it returns is rendered by
// fail. v is nil on public routes.
type handlerFunc func(w http.ResponseWriter, r *http.Request, v *viewer) error

// routeOpt qualifies a route beyond its access level.
type routeOpt int

const (
	// optPassive: the route's requests (live updates) do not count as
	// activity for the idle timeout.
	optPassive routeOpt = 1 << iota
	// optOwnPages: a GET that only the console's own pages (or the address
	// bar) may ask for, never another site, not even by a link: it does
	// something (an audit export is itself audited), costs much (a chain
	// verification reads the whole trail), or is a part of a page (live
	// updates).
	optOwnPages
)

// guard is the one place where every console request is authenticated and
// authorized: it finds the session (redirecting to sign-in without one),
// checks the account's role against level, checks CSRF on every request
// that is not a GET or HEAD, and refuses GETs and HEADs that another site
// made other than by a link (fetchAllowed).
func (c *Console) guard(level access, opts routeOpt, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, c.cfg.MaxBodyBytes)
		unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
		if unsafe && !sameOrigin(r, c.cfg.Origin) {
			c.fail(w, r, errCrossOrigin)
			return
		}
		// A public POST has no session, so no session token to hold it
		// to: one that says nothing of where it comes from is taken only
		// with the token of the sign-in or registration page (signinToken).
		// Else an older browser, which sends neither header, would let any
		// site post the passkey ceremonies: finishing one the attacker
		// began signs the browser in to the attacker's account (login
		// CSRF), and whatever is entered there next is theirs to read.
		if unsafe && level == public && !fetchMarked(r) && !signinTokenOK(r) {
			c.fail(w, r, errUnmarked)
			return
		}
		if level == public {
			c.run(w, r, nil, h)
			return
		}
		// Before the session is read: a refused request must not count as
		// activity either.
		if r.Method == http.MethodHead && opts&optOwnPages != 0 {
			// These GETs do something (an audited export, a whole
			// chain walk) or stream: a HEAD, which Go serves through
			// the GET handler, would do it all and show nothing.
			w.Header().Set("Allow", "GET")
			http.Error(w, "HEAD is not served here: use GET", http.StatusMethodNotAllowed)
			return
		}
		if !unsafe && !fetchAllowed(r, opts&optOwnPages == 0) {
			c.fail(w, r, errCrossOrigin)
			return
		}
		v, err := c.viewer(r.Context(), r, opts&optPassive == 0)
		if err != nil {
			if errors.Is(err, errNoSession) {
				c.toSignin(w, r)
				return
			}
			c.fail(w, r, err)
			return
		}
		if unsafe && !v.checkCSRF(r) {
			c.fail(w, r, errCSRF)
			return
		}
		// An auditor changes nothing but its own account, whatever a
		// route's level says (routes refuses an evidence route that is
		// not a GET; this holds should a route be given a wrong level).
		if !v.may(level) || unsafe && v.auditor() && level != signedIn {
			c.fail(w, r, errForbidden)
			return
		}
		c.run(w, r, v, h)
	})
}

func (c *Console) run(w http.ResponseWriter, r *http.Request, v *viewer, h handlerFunc) {
	if err := h(w, r, v); err != nil {
		c.fail(w, r, err)
	}
}

// sameOrigin refuses requests a browser marks as coming from another site.
// Browsers send Origin on every POST and Sec-Fetch-Site on every request;
// requests that carry neither (curl, tests, older browsers) are held to a
// CSRF token alone: the session's (checkCSRF), or on public routes, which
// have no session, the sign-in page's (signinTokenOK).
func sameOrigin(r *http.Request, origin string) bool {
	if o := r.Header.Get("Origin"); o != "" && o != origin {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin":
		return true
	}
	return false
}

// fetchMarked reports whether r says where it comes from, as browsers'
// requests do (Origin or Sec-Fetch-Site). sameOrigin decides what it says.
func fetchMarked(r *http.Request) bool {
	return r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != ""
}

// fetchAllowed decides a GET or HEAD by its Fetch Metadata headers, which
// browsers send with every request. The session cookie is
// SameSite=Strict, so a browser attaches it only to requests that its
// site starts; but a site is a registrable domain, and every host under
// example.org is the same site as hub.example.org. Such a host, or any
// other site, may link to a console page (a top-level navigation) when
// navigable is set, and nothing else: no image, script, style, fetch or
// frame of a console URL, which could run an export, have the hub read the
// whole audit trail, or keep an idle session alive. Requests without the
// headers (curl, scripts, older browsers) are let through, as sameOrigin
// lets them, and so is a request naming its site without its mode and
// destination, which browsers always send along.
func fetchAllowed(r *http.Request, navigable bool) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none": // "none": the address bar, a bookmark
		return true
	}
	if !navigable {
		return false
	}
	mode, dest := r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest")
	return (mode == "" || mode == "navigate") && (dest == "" || dest == "document")
}

// clearCache asks the browser to drop what it keeps of the console's
// pages on sign-out: they are no-store, but a back/forward cache may
// still show one to the next person at the machine.
func clearCache(w http.ResponseWriter) {
	w.Header().Set("Clear-Site-Data", `"cache"`)
}

// toSignin answers a request without a valid session: pages are
// redirected to the sign-in page, scripts get 401. The cookie is cleared
// only when the request carried one (ended, expired or forged): a browser
// leaves the SameSite=Strict cookie off a navigation from another site,
// and clearing it then would let any site sign a user out with a link.
func (c *Console) toSignin(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(CookieName); err == nil {
		clearCookie(w)
	}
	if r.Method == http.MethodGet && !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		next := r.URL.Path
		if r.URL.RawQuery != "" {
			next += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	c.fail(w, r, errNoSession)
}

// viewer resolves the session cookie. A session that is ended, past its
// absolute timeout or idle for too long is errNoSession, as is an account
// that was disabled or whose hub user has left (hubUserGone). touch
// records the request as activity.
func (c *Console) viewer(ctx context.Context, r *http.Request, touch bool) (*viewer, error) {
	secret, ok := cookieSecret(r)
	if !ok {
		return nil, errNoSession
	}
	hash := hashSecret(secret)
	s, err := c.st.GetConsoleSession(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	// The lookup is by hash; the comparison is repeated in constant time
	// so that no code path compares secret material any other way.
	if subtle.ConstantTimeCompare(s.Hash, hash) != 1 || !c.usable(s, now) {
		return nil, errNoSession
	}
	a, err := c.st.GetConsoleAccount(ctx, s.AccountID)
	if err != nil {
		return nil, err
	}
	if !a.Disabled.IsZero() {
		return nil, errNoSession
	}
	if gone, err := hubUserGone(ctx, c.st, a); err != nil {
		return nil, err
	} else if gone {
		c.cfg.Logger.Warn("console request refused: the account's hub user is disabled or deleted, but the account is enabled",
			"account", a.Name, "role", a.Role)
		return nil, errNoSession
	}
	if touch && now.Sub(s.LastSeen) >= touchEvery {
		if err := c.st.TouchConsoleSession(ctx, hash, now.UTC()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return &viewer{account: a, hash: hash, csrf: csrfToken(secret), signedIn: s.Created}, nil
}

// usable reports whether session s may still be used at now: not ended,
// nor past its absolute or idle timeout.
func (c *Console) usable(s store.ConsoleSession, now time.Time) bool {
	return s.Ended.IsZero() && now.Before(s.Expires) && now.Sub(s.LastSeen) < c.cfg.IdleTimeout
}

// checkCSRF compares the request's synchronizer token, from the form or
// the header, with the session's in constant time.
func (v *viewer) checkCSRF(r *http.Request) bool {
	got := r.Header.Get(CSRFHeader)
	if got == "" && isForm(r) {
		// ParseForm reads the body within the MaxBytesReader limit; an
		// oversized body leaves the field empty and fails here.
		if err := r.ParseForm(); err == nil {
			got = r.PostForm.Get(CSRFField)
		}
	}
	return v.csrfIs(got)
}

// checkCSRFHeader is checkCSRF for the JSON API, which reads no forms:
// only the header carries the token.
func (v *viewer) checkCSRFHeader(r *http.Request) bool { return v.csrfIs(r.Header.Get(CSRFHeader)) }

func (v *viewer) csrfIs(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(v.csrf)) == 1
}

func isForm(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data")
}

// secretBytes is the size of session and invite secrets: 256 bits.
const secretBytes = 32

func newSecret() ([]byte, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random secret: %w", err)
	}
	return b, nil
}

func hashSecret(secret []byte) []byte {
	sum := sha256.Sum256(secret)
	return sum[:]
}

// csrfToken derives the session's synchronizer token from its secret: it
// is fixed for the session, never stored, and useless without the cookie
// (which scripts cannot read: HttpOnly).
func csrfToken(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("shiftgate console csrf v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// startSession signs account a in: a session, its audit record and the
// cookie. first, if not nil, runs in the session's transaction before it
// is made (the passkey's use, or its registration): a revocation of the
// passkey or the account then commits either before it, and the sign-in
// fails, or after it, and ends the session with the others. An account
// whose hub user has left (hubUserGone) is refused with errSignin, read
// in the same transaction.
//
// A session the browser still holds (its cookie, which the new one
// replaces) is ended in the same transaction: unreachable from this
// browser from now on, it must not stay valid for whoever copied the
// cookie.
func (c *Console) startSession(r *http.Request, w http.ResponseWriter, a store.ConsoleAccount, how string, first func(tx store.Ops) error) error {
	ctx := r.Context()
	secret, err := newSecret()
	if err != nil {
		return err
	}
	now := c.cfg.Now().UTC()
	s := store.ConsoleSession{Hash: hashSecret(secret), AccountID: a.ID, Created: now, LastSeen: now, Expires: now.Add(c.cfg.AbsoluteTimeout)}
	err = c.st.InTx(ctx, func(tx store.Ops) error {
		if first != nil {
			if err := first(tx); err != nil {
				return err
			}
		}
		// Read again: a may have been linked to its hub user since.
		acct, err := tx.GetConsoleAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		if gone, err := hubUserGone(ctx, tx, acct); err != nil {
			return err
		} else if gone {
			c.cfg.Logger.Warn("console sign-in refused: the account's hub user is disabled or deleted", "account", a.Name, "role", a.Role, "how", how)
			return errSignin
		}
		if old, ok := cookieSecret(r); ok {
			if err := tx.EndConsoleSession(ctx, hashSecret(old), now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := tx.CreateConsoleSession(ctx, s); err != nil {
			return err
		}
		_, err = c.cfg.Audit.Append(ctx, tx, audit.Entry{Actor: "console:" + a.Name, System: "console", Action: "console.signin",
			Subject: "console:" + a.ID, Detail: map[string]any{"how": how, "role": a.Role}})
		return err
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: base64.RawURLEncoding.EncodeToString(secret),
		Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	return nil
}

// cookieSecret returns the session secret r's cookie carries; ok is
// false without a well-formed one.
func cookieSecret(r *http.Request) (secret []byte, ok bool) { return secretCookie(r, CookieName) }

// secretCookie returns the secret r's cookie name carries; ok is false
// without a well-formed one.
func secretCookie(r *http.Request, name string) (secret []byte, ok bool) {
	ck, err := r.Cookie(name)
	if err != nil || ck.Value == "" {
		return nil, false
	}
	secret, err = base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(secret) != secretBytes {
		return nil, false
	}
	return secret, true
}

// SigninCookieName holds the secret of a browser that is not signed in,
// from which the sign-in and registration pages derive their CSRF token
// (signinToken), as a session's pages derive theirs from the session's.
// __Host- and Secure, like the session cookie: no other host can plant
// it. SameSite=Lax, not Strict: a browser arriving from another site (an
// email's link) sends it, so that the sign-in pages it has open keep
// their token; no other site's POST or fetch carries it, and the token
// goes in a header no other site can set.
const SigninCookieName = "__Host-shiftgate-signin"

// signinToken returns the CSRF token for the sign-in and registration
// pages, derived from the browser's sign-in cookie, which it sets first
// when the browser has none. Once the browser has the cookie it keeps it,
// so the token stays the same for every tab until the browser ends: one
// page does not void another's. Pages loaded at once by a browser that
// has no cookie yet each set a cookie of their own, and the one stored
// last wins: the other pages' tokens no longer match until they are
// reloaded. That only matters where the browser marks none of its
// requests (fetchMarked), whose unmarked POSTs from such a page are
// refused (errUnmarked).
func signinToken(w http.ResponseWriter, r *http.Request) (string, error) {
	secret, ok := secretCookie(r, SigninCookieName)
	if !ok {
		var err error
		if secret, err = newSecret(); err != nil {
			return "", err
		}
		http.SetCookie(w, &http.Cookie{
			Name: SigninCookieName, Value: base64.RawURLEncoding.EncodeToString(secret),
			Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		})
	}
	return csrfToken(secret), nil
}

// signinTokenOK reports whether r carries, in the CSRF header, the token
// of its own sign-in cookie (signinToken), compared in constant time.
// Another site can neither read the token from the page nor set the
// header on a request it makes the browser send; the ceremonies read JSON,
// never forms, so only the header carries it.
func signinTokenOK(r *http.Request) bool {
	secret, ok := secretCookie(r, SigninCookieName)
	got := r.Header.Get(CSRFHeader)
	return ok && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(secret))) == 1
}

func clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// signout ends this browser's session.
func (c *Console) signout(w http.ResponseWriter, r *http.Request, v *viewer) error {
	now := c.cfg.Now().UTC()
	err := c.st.InTx(r.Context(), func(tx store.Ops) error {
		if err := tx.EndConsoleSession(r.Context(), v.hash, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return c.auditIn(r.Context(), tx, v, "console.signout", "console:"+v.account.ID, nil)
	})
	if err != nil {
		return err
	}
	clearCookie(w)
	clearCache(w)
	http.Redirect(w, r, "/console/signin?ok=signed-out", http.StatusSeeOther)
	return nil
}

// signoutEverywhere ends every session of the account, this one included.
func (c *Console) signoutEverywhere(w http.ResponseWriter, r *http.Request, v *viewer) error {
	now := c.cfg.Now().UTC()
	err := c.st.InTx(r.Context(), func(tx store.Ops) error {
		n, err := tx.EndConsoleSessions(r.Context(), v.account.ID, now)
		if err != nil {
			return err
		}
		return c.auditIn(r.Context(), tx, v, "console.signout_everywhere", "console:"+v.account.ID, map[string]any{"sessionsEnded": n})
	})
	if err != nil {
		return err
	}
	clearCookie(w)
	clearCache(w)
	http.Redirect(w, r, "/console/signin?ok=signed-out-everywhere", http.StatusSeeOther)
	return nil
}

// auditIn appends a console audit record inside tx.
func (c *Console) auditIn(ctx context.Context, tx store.Ops, v *viewer, action, subject string, detail any) error {
	a := v.actor()
	_, err := c.cfg.Audit.Append(ctx, tx, audit.Entry{Actor: a.Name, System: a.System, Action: action, Subject: subject, Detail: detail})
	return err
}

// auditNow appends a console audit record in a transaction of its own.
func (c *Console) auditNow(ctx context.Context, v *viewer, action, subject string, detail any) error {
	return c.st.InTx(ctx, func(tx store.Ops) error { return c.auditIn(ctx, tx, v, action, subject, detail) })
}
