//go:build fido2

package authenticator

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/go-cmp/cmp"
	"github.com/keys-pub/go-libfido2"
	pkgerrors "github.com/pkg/errors"
)

// fullKey is a key whose resident-key storage is full: makeCredential with rk=true fails with
// CTAP2_ERR_KEY_STORE_FULL, as libfido2 reports it.
type fullKey struct{ *fakeKey }

func (k fullKey) MakeCredential(cdh []byte, rp libfido2.RelyingParty, user libfido2.User, typ libfido2.CredentialType, pin string, opts *libfido2.MakeCredentialOpts) (*libfido2.Attestation, error) {
	if opts.RK == libfido2.True {
		k.mu.Lock()
		k.mopts = append(k.mopts, *opts)
		k.mu.Unlock()
		return nil, pkgerrors.Wrap(libfido2.Error{Code: 0x28}, "failed to make credential")
	}
	return k.fakeKey.MakeCredential(cdh, rp, user, typ, pin, opts)
}

// TestFIDO2ResidentKeys: the hub's residentKey "required" reaches the key as rk=true; a key
// that cannot store a discoverable credential fails before it is touched
// (ErrResidentKeyUnsupported), one whose storage is full fails with ErrKeyStoreFull, and
// either error says so. "preferred" on a key without rk makes a non-discoverable credential,
// as a browser does, and credProps says rk false.
func TestFIDO2ResidentKeys(t *testing.T) {
	rk := libfido2.Option{Name: "rk", Value: libfido2.True}
	required := webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired)
	preferred := webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred)

	t.Run("required, key with rk: asked for rk, discoverable", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{}, rk)
		rp := newTestRP(t)
		got, err := credPropsRK(t, rp, f, required)
		if err != nil || got == nil || !*got {
			t.Fatalf("credProps rk = %v, %v; want true", got, err)
		}
		if diff := cmp.Diff([]libfido2.MakeCredentialOpts{{RK: libfido2.True}}, key.mopts); diff != "" {
			t.Errorf("makeCredential options (-want +got):\n%s", diff)
		}
		if _, _, err := rp.login(f); err != nil {
			t.Errorf("usernameless login: %v", err)
		}
	})
	t.Run("required, key without rk", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{})
		_, err := credPropsRK(t, newTestRP(t), f, required)
		if !errors.Is(err, ErrResidentKeyUnsupported) || !strings.Contains(err.Error(), "cannot store discoverable credentials") {
			t.Errorf("register: %v, want ErrResidentKeyUnsupported", err)
		}
		if len(key.mopts) != 0 {
			t.Errorf("the key was asked to make a credential: %+v", key.mopts)
		}
	})
	t.Run("required, key store full", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{}, rk)
		f.open = func(string) (fido2Device, error) { return fullKey{key}, nil }
		_, err := credPropsRK(t, newTestRP(t), f, required)
		if !errors.Is(err, ErrKeyStoreFull) || !strings.Contains(err.Error(), "no room for another discoverable credential") {
			t.Errorf("register: %v, want ErrKeyStoreFull", err)
		}
	})
	t.Run("preferred, key without rk: non-discoverable", func(t *testing.T) {
		f, key := newFakeFIDO2(t, FIDO2Options{})
		rp := newTestRP(t)
		got, err := credPropsRK(t, rp, f, preferred)
		if err != nil || got == nil || *got {
			t.Fatalf("credProps rk = %v, %v; want false", got, err)
		}
		if diff := cmp.Diff([]libfido2.MakeCredentialOpts{{}}, key.mopts); diff != "" {
			t.Errorf("makeCredential options (-want +got):\n%s", diff)
		}
		if _, _, err := rp.login(f); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("usernameless login: %v, want ErrNoCredentials", err)
		}
	})
}
