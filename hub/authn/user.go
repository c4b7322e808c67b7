package authn

import (
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/shiftgate/shiftgate/hub/store"
)

// user adapts a store.User and the credentials relevant to one ceremony to
// go-webauthn's User interface. The user handle is the user's ID bytes.
type user struct {
	u     *store.User
	creds []webauthn.Credential
}

var _ webauthn.User = (*user)(nil)

func (w *user) WebAuthnID() []byte   { return []byte(w.u.ID) }
func (w *user) WebAuthnName() string { return w.u.UserName }

func (w *user) WebAuthnDisplayName() string {
	if w.u.DisplayName != "" {
		return w.u.DisplayName
	}
	return w.u.UserName
}

func (w *user) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// toWebAuthn is the go-webauthn view of a stored credential. The store keeps
// no flags: kiosk credentials are registered only when not backup eligible
// (see New), so BackupEligible is false, and go-webauthn refuses an
// assertion claiming otherwise.
func toWebAuthn(c *store.Credential) webauthn.Credential {
	return webauthn.Credential{
		ID:        c.ID,
		PublicKey: c.PublicKey,
		Flags:     webauthn.CredentialFlags{UserPresent: true},
		Authenticator: webauthn.Authenticator{
			AAGUID:    c.AAGUID,
			SignCount: c.SignCount,
		},
	}
}

// descriptor is the exclude-list entry for a stored credential.
func descriptor(c *store.Credential) protocol.CredentialDescriptor {
	return protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: c.ID}
}
