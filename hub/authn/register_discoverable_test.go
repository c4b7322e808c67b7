package authn

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestRegistrationAsksForADiscoverableCredential: kiosk logins name no
// user, so the options require a discoverable credential and ask the client
// to say (credProps) whether it got one.
func TestRegistrationAsksForADiscoverableCredential(t *testing.T) {
	e := newEnv(t)
	start, err := e.rp.BeginRegistration(t.Context(), kioskA, e.user("ana"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		PublicKey struct {
			AuthenticatorSelection struct {
				ResidentKey        string `json:"residentKey"`
				RequireResidentKey *bool  `json:"requireResidentKey"`
			} `json:"authenticatorSelection"`
			Extensions map[string]any `json:"extensions"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(start.Options, &opts); err != nil {
		t.Fatal(err)
	}
	sel := opts.PublicKey.AuthenticatorSelection
	if sel.ResidentKey != "required" || sel.RequireResidentKey == nil || !*sel.RequireResidentKey {
		t.Errorf("authenticatorSelection = %+v, want residentKey required", sel)
	}
	if opts.PublicKey.Extensions["credProps"] != true {
		t.Errorf("extensions = %v, want credProps true", opts.PublicKey.Extensions)
	}
}

// withResidentKey rewrites the hub's creation options as a client (or a
// key) that does not honour "required" would act on them: residentKey set
// to rk, and credProps asked for or not.
func withResidentKey(t *testing.T, options []byte, rk string, credProps bool) []byte {
	t.Helper()
	var o map[string]map[string]any
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	pk := o["publicKey"]
	sel, _ := pk["authenticatorSelection"].(map[string]any)
	sel["residentKey"], sel["requireResidentKey"] = rk, false
	if !credProps {
		delete(pk, "extensions")
	}
	out, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNonDiscoverableRegistrationRefused: a registration whose client
// reports (credProps rk false) that the key did not store the credential is
// refused with ErrNotDiscoverable, which the kiosk gets as not_discoverable
// with a message saying what to do, and nothing is stored: the credential
// could never sign in at a kiosk. A client that does not report credProps
// is taken at its word.
func TestNonDiscoverableRegistrationRefused(t *testing.T) {
	for _, tc := range []struct {
		name      string
		credProps bool
		refused   bool
	}{
		{"credProps says rk false", true, true},
		{"credProps not reported", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ana := e.user("ana")
			badge := e.badge("ana", authenticator.SoftOptions{})
			start, err := e.rp.BeginRegistration(t.Context(), kioskA, ana, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, err := authenticator.Register(t.Context(), badge, start.Origin, withResidentKey(t, start.Options, "discouraged", tc.credProps))
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			creds, lerr := e.st.ListCredentials(t.Context(), ana.ID)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if !tc.refused {
				if err != nil || len(creds) != 1 {
					t.Errorf("FinishRegistration: %v, %d credentials stored; want it taken", err, len(creds))
				}
				return
			}
			if !errors.Is(err, ErrNotDiscoverable) {
				t.Fatalf("FinishRegistration: %v, want ErrNotDiscoverable", err)
			}
			if len(creds) != 0 {
				t.Errorf("%d credentials stored for a refused registration", len(creds))
			}
			code, msg, ok := RegistrationRefusal(err)
			if !ok || code != wire.ErrNotDiscoverable || !wire.RegistrationRefusal(code) {
				t.Errorf("RegistrationRefusal = %q (%v), want %q", code, ok, wire.ErrNotDiscoverable)
			}
			if !strings.Contains(msg, "could never sign in without a user name") || !strings.Contains(msg, "start the enrollment again") {
				t.Errorf("the kiosk's message %q does not say why and what to do", msg)
			}
			// And indeed: the badge finds nothing to sign a kiosk login with.
			ch, err := e.rp.BeginLogin(kioskA)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := authenticator.Authenticate(t.Context(), badge, ch.Origin, ch.Options); !errors.Is(err, authenticator.ErrNoCredentials) {
				t.Errorf("kiosk login with the badge: %v, want ErrNoCredentials", err)
			}
		})
	}
}
