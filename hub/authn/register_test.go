package authn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRegistrationRefusal: each refused registration maps to the wire code
// that tells the kiosk what to do; a failure that is no refusal maps to
// none (the hub answers internal).
func TestRegistrationRefusal(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code string
	}{
		{fmt.Errorf("x: %w", ErrChallenge), wire.ErrEnrollmentExpired},
		{fmt.Errorf("x: %w", ErrUserNotEligible), wire.ErrEnrollmentExpired},
		{fmt.Errorf("x: %w", ErrAAGUIDNotAllowed), wire.ErrModelNotAllowed},
		{fmt.Errorf("x: %w: y", ErrAttestationUntrusted), wire.ErrAttestationUntrusted},
		{fmt.Errorf("x: %w", ErrAlreadyRegistered), wire.ErrAlreadyRegistered},
		{verifyError("verify attestation", errors.New("bad signature")), wire.ErrInvalidAttestation},
		{fmt.Errorf("x: %w", ErrDeviceNotActive), wire.ErrState},
		{errors.New("disk on fire"), ""},
		{nil, ""},
	} {
		code, msg, ok := RegistrationRefusal(tc.err)
		if code != tc.code || ok != (tc.code != "") || (ok && !strings.Contains(msg, "this kiosk") && !strings.Contains(msg, "key")) {
			t.Errorf("RegistrationRefusal(%v) = %q, %q, %v; want %q", tc.err, code, msg, ok, tc.code)
		}
		if ok && tc.code != wire.ErrState && !wire.RegistrationRefusal(code) {
			t.Errorf("%q is not a wire registration refusal", code)
		}
	}
}

// TestRegistrationOfAKnownCredential: an attestation whose credential ID is
// already registered is refused. When the credential is the enrollment's
// user's own, the kiosk may be told so (already_registered); when it is
// another user's, it is told no more than for any bad attestation.
func TestRegistrationOfAKnownCredential(t *testing.T) {
	for _, tc := range []struct {
		name     string
		owner    string // whose the credential already is
		sentinel error
		code     string
	}{
		{"the user's own", "ana", ErrAlreadyRegistered, wire.ErrAlreadyRegistered},
		{"another user's", "bo", ErrInvalid, wire.ErrInvalidAttestation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			users := map[string]store.User{"ana": e.user("ana"), "bo": e.user("bo")}
			body, err := e.attest(kioskA, users["ana"], e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
			if err != nil {
				t.Fatal(err)
			}
			// The credential ID taken already, as by a key that answers
			// with a credential it made before.
			if _, err := e.st.CreateCredential(t.Context(), store.Credential{
				ID: parsed.RawID, UserID: users[tc.owner].ID, PublicKey: []byte{1}, State: store.CredentialActive, Created: e.clock.Now(),
			}); err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("FinishRegistration: %v, want %v", err, tc.sentinel)
			}
			code, msg, ok := RegistrationRefusal(err)
			if !ok || code != tc.code {
				t.Errorf("RegistrationRefusal = %q (%v), want %q", code, ok, tc.code)
			}
			if strings.Contains(msg, "bo") || strings.Contains(msg, users["bo"].ID) || strings.Contains(msg, "another user") {
				t.Errorf("the kiosk's message %q speaks of another user", msg)
			}
		})
	}
}
