package hub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/scim"
	"github.com/shiftgate/shiftgate/hub/token"
)

// authorize returns a check that the request carries a valid bearer token
// of scope, and names the token as the actor. The token itself is never
// logged.
func (s *Server) authorize(scope string) func(*http.Request) (lifecycle.Actor, error) {
	return func(r *http.Request) (lifecycle.Actor, error) {
		h := r.Header.Get("Authorization")
		bearer, ok := cutPrefixFold(h, "Bearer ")
		if !ok || bearer == "" {
			return lifecycle.Actor{}, scim.ErrUnauthorized("send the token from `shiftgate-hub token create --scope " + scope + "` as 'Authorization: Bearer <token>'")
		}
		t, err := s.verifier.Verify(r.Context(), strings.TrimSpace(bearer), scope)
		if errors.Is(err, token.ErrInvalid) {
			return lifecycle.Actor{}, scim.ErrUnauthorized("the bearer token is not valid for " + scope + ": it is unknown, revoked, expired or of another scope")
		}
		if err != nil {
			return lifecycle.Actor{}, err
		}
		return lifecycle.Actor{Name: token.Actor(t), System: scope}, nil
	}
}

// decider is the person behind admin API actor a, for the checks that
// keep a person from deciding on their own access (a grant, a shift
// extension, an access-review item): a console admin's session is the
// hub user(s) its account stands for (console.Console.Decider), and so is
// an API token made by that account on the console (store.Token.CreatedBy,
// console.Console.AccountDecider): otherwise an admin refused a
// self-grant could mint a token and grant it with that. A token the CLI
// operator made, or one made before tokens recorded their maker, is no
// person and decides as itself. The maker is read from the store, not
// from a's name, which holds the token's name too: only the token's ID is
// taken from it. The account's hub users are read again inside the
// deciding transaction (Decider.Self), as for the console session.
func (s *Server) decider(ctx context.Context, a lifecycle.Actor) (governance.Decider, error) {
	id, ok := token.ActorID(a.Name)
	if !ok || a.System != "api" {
		return s.console.Decider(ctx, a)
	}
	t, err := s.st.GetToken(ctx, id)
	if err != nil {
		return governance.Decider{}, fmt.Errorf("maker of %s: %w", a.Name, err)
	}
	if t.CreatedBy == "" {
		return governance.Decider{Actor: a}, nil
	}
	return s.console.AccountDecider(ctx, a, t.CreatedBy)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// statusWriter remembers the status code for the access log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack lets the device channel take the connection over (gorilla's
// upgrader asserts http.Hijacker directly).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// logRequests logs each request at debug level, and server errors at error
// level (503 and 507 at warning level: see below). Query strings are left
// out: they may hold filters with personal data.
//
// A handler that panics is logged at error level with its stack, and the
// client gets a 500 JSON error if nothing was written yet; otherwise the
// connection is cut, so a half-written answer is never taken for a whole
// one. (net/http would log the panic only through ErrorLog, at debug
// level, and close the connection without an answer.)
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				s.cfg.Logger.Error("http handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					writeAPIJSON(sw, http.StatusInternalServerError, apiError{"internal error; the hub log has the details"})
					p = nil
				}
			}
			level := s.cfg.Logger.Debug
			switch {
			case sw.status == http.StatusServiceUnavailable || sw.status == http.StatusInsufficientStorage:
				// A database locked by another process or a full disk:
				// the handler logged it at error level with what to do
				// (writeStoreUnavailable); one such line per request is
				// enough. (A 503 of a hub shutting down is no error.)
				level = s.cfg.Logger.Warn
			case sw.status >= 500:
				level = s.cfg.Logger.Error
			}
			level("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "dur", time.Since(start))
			if p != nil {
				panic(http.ErrAbortHandler) // already logged: net/http closes the connection quietly
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// bodyReadTimeout is how long a client has to send a request's body once
// its headers are in (ReadHeaderTimeout bounds those): a 1 MiB SCIM body
// needs 17 KiB/s, which any identity provider or browser exceeds.
const bodyReadTimeout = time.Minute

// bodyDeadline bounds the time a request's body may take to arrive
// (Server.bodyTimeout). Without it a client could send headers and then
// hold the body back, or trickle it, keeping the connection, its
// goroutine and its file descriptor for as long as it liked, on
// endpoints that need no token (kiosk enrollment, the console's sign-in):
// a few thousand such connections use up the descriptors the kiosks
// need. http.Server.ReadTimeout cannot be used instead: it also bounds
// requests without a body, so it would end the console's live-update
// streams. So the deadline is set only on requests with a body; net/http
// lifts it once the body has been read to its end (HTTP/1.1 clears it
// for its check that the client is still there, and HTTP/2's deadline
// only closes the stream's body), so a handler that works on after
// reading its body is not cut short. A body that does not come in time
// is a read error to the handler (a 400).
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ContentLength is 0 for a request without a body (a GET, the
		// device channel's upgrade), -1 for one of unknown length.
		if r.ContentLength != 0 && s.bodyTimeout > 0 {
			http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyTimeout))
		}
		next.ServeHTTP(w, r)
	})
}
