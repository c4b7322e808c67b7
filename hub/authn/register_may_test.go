package authn

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRegistrationMayCheckedInTransaction: a registration armed with a
// MayRegister (the console's supervisor, who enrolls badges only for
// workers of its site North) is asked again when the badge is tapped,
// about the user as the transaction that stores the credential reads
// them. Moved to another site after the arming, the user gets no
// credential, and the kiosk is told the enrollment was withdrawn; at
// North still, the badge registers.
func TestRegistrationMayCheckedInTransaction(t *testing.T) {
	errNotHere := errors.New("not at the supervisor's sites")
	may := func(_ context.Context, _ store.Ops, u store.User) error {
		if !slices.Contains(u.Sites, "North") {
			return errNotHere
		}
		return nil
	}
	for _, tc := range []struct {
		name  string
		sites []string // the user's sites at the tap
		want  error
	}{
		{"still at the site", []string{"North", "South"}, nil},
		{"moved off the site", []string{"South"}, errNotHere},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ana := e.user("ana")
			start, err := e.rp.BeginRegistrationIf(t.Context(), kioskA, ana, nil, may)
			if err != nil {
				t.Fatal(err)
			}
			body, err := authenticator.Register(t.Context(), e.badge("ana", authenticator.SoftOptions{}), start.Origin, start.Options)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.st.UpdateUser(t.Context(), ana.ID, func(u store.User) (store.User, error) {
				u.Sites = tc.sites
				return u, nil
			}); err != nil {
				t.Fatal(err)
			}
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			creds, lerr := e.st.ListCredentials(t.Context(), ana.ID)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.want == nil {
				if err != nil || len(creds) != 1 {
					t.Errorf("registration: %v, credentials %d; want it stored", err, len(creds))
				}
				return
			}
			if !errors.Is(err, ErrUserNotEligible) || !errors.Is(err, tc.want) {
				t.Errorf("registration: %v; want ErrUserNotEligible wrapping %v", err, tc.want)
			}
			if code, _, ok := RegistrationRefusal(err); !ok || code != wire.ErrEnrollmentExpired {
				t.Errorf("refusal to the kiosk: %q, %v; want %q", code, ok, wire.ErrEnrollmentExpired)
			}
			if len(creds) != 0 {
				t.Errorf("credentials of ana after the refused registration: %+v; want none", creds)
			}
		})
	}
}
