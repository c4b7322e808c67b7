package authn

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestLoginRefusesOversizedStoredKey: a credential stored before
// registration bounded public keys (checkPublicKey) may hold one longer
// than MaxPublicKeyLength, whose signature check (a huge RSA modulus)
// would cost the hub seconds at every tap. A login with it is refused
// before any check, and says to register the badge again.
func TestLoginRefusesOversizedStoredKey(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	badge := e.badge("ana", authenticator.SoftOptions{})
	cred := e.register(e.user("ana"), badge)
	if _, err := e.st.UpdateCredential(ctx, cred.ID, func(c store.Credential) (store.Credential, error) {
		c.PublicKey = append(bytes.Clone(c.PublicKey), make([]byte, MaxPublicKeyLength)...)
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.rp.creds.forget(cred.ID)
	_, err := e.login(kioskA, badge)
	if !errors.Is(err, ErrUnknownCredential) || !strings.Contains(err.Error(), "register the badge again") {
		t.Fatalf("login with a stored key of %d bytes: %v; want ErrUnknownCredential saying to register again", len(cred.PublicKey)+MaxPublicKeyLength, err)
	}
}
