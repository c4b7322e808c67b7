package authenticator

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// credPropsRK registers ana's badge a with the given options (and credProps) and returns the
// credProps rk the client reported, or the client's error.
func credPropsRK(t *testing.T, rp *testRP, a Authenticator, opts ...webauthn.RegistrationOption) (*bool, error) {
	t.Helper()
	opts = append(opts, webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	j, session := rp.beginRegistration(rp.user("ana"), opts...)
	body, err := Register(t.Context(), a, testOrigin, j)
	if err != nil {
		return nil, err
	}
	var resp struct {
		ClientExtensionResults struct {
			CredProps *struct {
				RK *bool `json:"rk"`
			} `json:"credProps"`
		} `json:"clientExtensionResults"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.ClientExtensionResults.CredProps == nil {
		t.Fatalf("credProps asked for, not in the response: %s", body)
	}
	if _, err := rp.finishRegistration(rp.user("ana"), session, body); err != nil {
		t.Fatal(err)
	}
	return resp.ClientExtensionResults.CredProps.RK, nil
}

// TestSoftHonoursResidentKeyRequirement: a soft badge does with the relying party's
// residentKey what a security key does with the rk option the client derives from it:
// "required" and "preferred" make a discoverable credential, which a login without a user
// name finds; "discouraged" (or no preference) a non-discoverable one, which it does not
// find. credProps tells the relying party which.
func TestSoftHonoursResidentKeyRequirement(t *testing.T) {
	for _, tt := range []struct {
		name string
		rk   protocol.ResidentKeyRequirement
		want bool
	}{
		{"required", protocol.ResidentKeyRequirementRequired, true},
		{"preferred", protocol.ResidentKeyRequirementPreferred, true},
		{"discouraged", protocol.ResidentKeyRequirementDiscouraged, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rp := newTestRP(t)
			badge := newTestSoft(t, t.TempDir(), "ana", SoftOptions{NoSync: true})
			rk, err := credPropsRK(t, rp, badge, webauthn.WithResidentKeyRequirement(tt.rk))
			if err != nil {
				t.Fatal(err)
			}
			if rk == nil || *rk != tt.want {
				t.Errorf("credProps rk = %v, want %v", rk, tt.want)
			}
			_, _, err = rp.login(badge)
			if tt.want && err != nil {
				t.Errorf("usernameless login with a discoverable credential: %v", err)
			}
			if !tt.want && !errors.Is(err, ErrNoCredentials) {
				t.Errorf("usernameless login with a non-discoverable credential: %v, want ErrNoCredentials", err)
			}
		})
	}
}

// forgetfulKey is a key that ignores the rk option: it makes non-discoverable credentials
// only, and says so.
type forgetfulKey struct{ *Soft }

func (k forgetfulKey) MakeCredential(ctx context.Context, req CreateRequest) (CreateResult, error) {
	req.ResidentKey = false
	return k.Soft.MakeCredential(ctx, req)
}

// TestRegisterRefusesANonDiscoverableCredentialWhenRequired: when the relying party requires
// a discoverable credential and the authenticator makes one it does not store, the client
// fails (ErrResidentKeyUnsupported), as a browser does, rather than hand the relying party a
// credential that can never sign in without a user name. With "preferred" the credential is
// the relying party's to take, and credProps says rk false.
func TestRegisterRefusesANonDiscoverableCredentialWhenRequired(t *testing.T) {
	rp := newTestRP(t)
	key := forgetfulKey{newTestSoft(t, t.TempDir(), "ana", SoftOptions{NoSync: true})}
	_, err := credPropsRK(t, rp, key, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
	if !errors.Is(err, ErrResidentKeyUnsupported) {
		t.Errorf("required: %v, want ErrResidentKeyUnsupported", err)
	}
	rk, err := credPropsRK(t, rp, key, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred))
	if err != nil || rk == nil || *rk {
		t.Errorf("preferred: credProps rk = %v, %v; want false", rk, err)
	}
}
