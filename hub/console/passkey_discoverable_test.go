package console_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// withResidentKey rewrites the console's creation options as a browser or
// passkey provider that does not honour "required" would act on them:
// residentKey "discouraged", and credProps asked for or not.
func withResidentKey(t *testing.T, options json.RawMessage, credProps bool) json.RawMessage {
	t.Helper()
	var o map[string]map[string]any
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	pk := o["publicKey"]
	sel, _ := pk["authenticatorSelection"].(map[string]any)
	if sel == nil {
		t.Fatalf("no authenticatorSelection in %s", options)
	}
	sel["residentKey"], sel["requireResidentKey"] = "discouraged", false
	if !credProps {
		delete(pk, "extensions")
	}
	out, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConsolePasskeyAsksForDiscoverable: console sign-in names no account,
// so a registration requires a discoverable passkey and asks the browser
// to say (credProps) whether it made one.
func TestConsolePasskeyAsksForDiscoverable(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	begin := newClient(t, h, nil).jsonCall("/console/auth/register/begin", map[string]string{"token": tok}, http.StatusOK)
	var opts struct {
		PublicKey struct {
			AuthenticatorSelection struct {
				ResidentKey        string `json:"residentKey"`
				RequireResidentKey *bool  `json:"requireResidentKey"`
			} `json:"authenticatorSelection"`
			Extensions map[string]any `json:"extensions"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(begin["options"], &opts); err != nil {
		t.Fatal(err)
	}
	if sel := opts.PublicKey.AuthenticatorSelection; sel.ResidentKey != "required" || sel.RequireResidentKey == nil || !*sel.RequireResidentKey {
		t.Errorf("authenticatorSelection = %+v, want residentKey required", sel)
	}
	if opts.PublicKey.Extensions["credProps"] != true {
		t.Errorf("extensions = %v, want credProps true", opts.PublicKey.Extensions)
	}
}

// TestConsoleNonDiscoverablePasskeyRefused: a passkey the browser reports
// (credProps rk false) it did not store is refused through the real
// register handlers, with a message the register page shows that says why
// and what to do; nothing is stored or audited, the invitation link is
// not used up, and the same link then registers a passkey that is stored,
// which signs in. A browser that reports nothing is taken at its word.
func TestConsoleNonDiscoverablePasskeyRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		credProps bool
		refused   bool
	}{
		{"credProps says rk false", true, true},
		{"credProps not reported", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hubtest.Start(t, hubtest.Options{})
			tok, err := console.Bootstrap(t.Context(), h.Store(), auditLog(t, h), "ada@example.org", false, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			ada := account(t, h, "ada@example.org")
			c := newClient(t, h, nil)
			begin := c.jsonCall("/console/auth/register/begin", map[string]string{"token": tok}, http.StatusOK)
			cred, err := authenticator.Register(t.Context(), c.badge, h.URL, withResidentKey(t, begin["options"], tc.credProps))
			if err != nil {
				t.Fatal(err)
			}
			r := c.do("POST", "/console/auth/register/finish", map[string]any{"token": tok, "ceremony": json.RawMessage(begin["ceremony"]), "credential": json.RawMessage(cred)})
			creds, err := h.Store().ListConsoleCredentials(t.Context(), ada.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.refused {
				if r.Status != http.StatusOK || len(creds) != 1 {
					t.Errorf("finish: %d %s, %d passkeys stored; want it taken", r.Status, r.Body, len(creds))
				}
				return
			}

			var body struct{ Error string }
			json.Unmarshal([]byte(r.Body), &body)
			if r.Status != http.StatusBadRequest || !strings.Contains(body.Error, "could never sign you in") || !strings.Contains(body.Error, "your invitation link still works") {
				t.Fatalf("finish: %d %s; want 400 saying why and what to do", r.Status, r.Body)
			}
			if len(creds) != 0 {
				t.Errorf("%d passkeys stored for a refused registration", len(creds))
			}
			if got := actionsOf(t, h, "console.passkey_registered"); got != "" {
				t.Errorf("audit actions %q for a refused registration", got)
			}
			if r := c.get("/console/me"); r.Status != http.StatusSeeOther {
				t.Errorf("/console/me after a refused registration: %d, want a redirect to sign-in", r.Status)
			}
			// And indeed: the passkey finds nothing to answer the sign-in with.
			lb := newClient(t, h, c.badge).jsonCall("/console/auth/login/begin", map[string]string{}, http.StatusOK)
			if _, err := authenticator.Authenticate(t.Context(), c.badge, h.URL, lb["options"]); !errors.Is(err, authenticator.ErrNoCredentials) {
				t.Errorf("sign-in with the refused passkey: %v, want ErrNoCredentials", err)
			}

			// The page tries again with the same link, and a passkey that
			// is stored: registered, signed in.
			again := newClient(t, h, nil)
			if r := again.register(tok); r.Status != http.StatusOK {
				t.Fatalf("the same link after the refusal: %d %s", r.Status, r.Body)
			}
			if r := newClient(t, h, again.badge).signin(); r.Status != http.StatusOK {
				t.Errorf("sign-in with the passkey registered after the refusal: %d %s", r.Status, r.Body)
			}
			if creds, err := h.Store().ListConsoleCredentials(t.Context(), ada.ID); err != nil || len(creds) != 1 {
				t.Errorf("%d passkeys stored (%v), want 1", len(creds), err)
			}
		})
	}
}
