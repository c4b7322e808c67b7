package authn

import (
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRegistrationChecksTheUserAsCommitted: a leaver (SCIM
// active=false: the user disabled, its credentials revoked) that commits
// while the badge's attestation is being checked must not be followed by
// the badge's credential, active, for the user who left: the leaver's
// revocation pass could not see it, and a re-hire would sign in with it
// without enrolling a new badge. The user is checked in the transaction
// that stores the credential, as the kiosk is.
func TestRegistrationChecksTheUserAsCommitted(t *testing.T) {
	for _, tt := range []struct {
		name  string
		state store.UserState
	}{
		{"disabled", store.UserDisabled},
		{"deleted", store.UserDeleted},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			ana := e.user("ana")
			body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			// The leaver commits after FinishRegistration read the user
			// and before its own transaction.
			ms := &movingStore{Store: e.st, move: func() {
				if _, err := e.st.UpdateUser(ctx, ana.ID, func(u store.User) (store.User, error) {
					u.Active, u.State = false, tt.state
					if tt.state == store.UserDeleted {
						u.Deleted = e.clock.Now()
					}
					return u, nil
				}); err != nil {
					t.Errorf("leaver: %v", err)
				}
				if _, err := e.st.RevokeCredentials(ctx, ana.ID, "deprovisioned"); err != nil {
					t.Errorf("leaver: %v", err)
				}
			}}
			e.rp.st = ms

			_, err = e.rp.FinishRegistration(ctx, kioskA, body)
			if ms.move != nil {
				t.Fatal("the registration ran no transaction: the leaver never happened")
			}
			if !errors.Is(err, ErrUserNotEligible) {
				t.Errorf("registration for a user who left during it: %v; want ErrUserNotEligible", err)
			}
			code, _, ok := RegistrationRefusal(err)
			if !ok || code != wire.ErrEnrollmentExpired {
				t.Errorf("refusal code %q (%v); want %q", code, ok, wire.ErrEnrollmentExpired)
			}
			creds, err := e.st.ListCredentials(ctx, ana.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range creds {
				if c.State == store.CredentialActive {
					t.Errorf("credential %s is active for a user who left", b64(c.ID))
				}
			}
		})
	}
}
