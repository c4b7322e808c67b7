package authn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRememberedCopyOfRevokedCredentialSuspendsNothing: the RP remembers
// a credential after a login; an administrator then revokes it (another
// path, so the remembered copy still reads active). A copy of the key
// presenting an old counter must be refused as unknown, as it would be
// without the remembered copy: no suspension, whose Config.Suspend ends
// the owner's live sessions (perhaps opened since with a new badge), and
// no credential.suspended audit record for a credential already revoked.
func TestRememberedCopyOfRevokedCredentialSuspendsNothing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	ana := e.user("ana")
	badge := e.badge("ana", authenticator.SoftOptions{})
	cred := e.register(ana, badge)
	raw, err := os.ReadFile(badge.Path())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.badges, "ana-copy.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	lost := e.badge("ana-copy", authenticator.SoftOptions{}) // signs counter 1 next
	if _, err := e.login(kioskA, badge); err != nil {        // counter 1, remembered
		t.Fatal(err)
	}
	if _, ok := e.rp.creds.get(cred.ID); !ok {
		t.Fatal("the credential is not remembered after a login: the test would prove nothing")
	}
	if _, err := e.st.UpdateCredential(ctx, cred.ID, func(c store.Credential) (store.Credential, error) {
		c.State, c.Reason = store.CredentialRevoked, "badge reported lost"
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	var suspended [][]byte
	e.rp.suspend = func(_ context.Context, _ string, id []byte, _ string, _ map[string]any) error {
		suspended = append(suspended, id)
		return nil
	}

	_, err = e.login(kioskB, lost)
	if !errors.Is(err, ErrUnknownCredential) || RefusalCode(err) != wire.RefusedNotRecognised {
		t.Fatalf("copy of a revoked credential: %v; want ErrUnknownCredential", err)
	}
	if len(suspended) != 0 {
		t.Errorf("Config.Suspend was called for a revoked credential (it ends the owner's sessions)")
	}
	recs, err := e.st.ListAudit(ctx, store.AuditQuery{Action: ActionCredentialSuspended})
	if err != nil || len(recs) != 0 {
		t.Errorf("credential.suspended records: %d, %v; want none", len(recs), err)
	}
	if got, err := e.st.GetCredential(ctx, cred.ID); err != nil || got.State != store.CredentialRevoked || got.SignCount != 1 {
		t.Errorf("credential = %+v, %v; want it revoked with counter 1", got, err)
	}

	// The same without Config.Suspend: the RP's own transaction audits
	// nothing either.
	e.rp.suspend = nil
	if _, err := e.st.UpdateCredential(ctx, cred.ID, func(c store.Credential) (store.Credential, error) {
		c.State, c.Reason = store.CredentialActive, ""
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login(kioskA, badge); err != nil { // counter 2, remembered
		t.Fatal(err)
	}
	if _, err := e.st.UpdateCredential(ctx, cred.ID, func(c store.Credential) (store.Credential, error) {
		c.State, c.Reason = store.CredentialSuspended, "test"
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.login(kioskB, lost); !errors.Is(err, ErrUnknownCredential) { // counter 2 again
		t.Fatalf("copy of a suspended credential: %v; want ErrUnknownCredential", err)
	}
	if recs, err := e.st.ListAudit(ctx, store.AuditQuery{Action: ActionCredentialSuspended}); err != nil || len(recs) != 0 {
		t.Errorf("credential.suspended records: %d, %v; want none", len(recs), err)
	}
}

// TestOverlongCredentialIDNotEchoed: a login naming a credential ID longer
// than WebAuthn allows is refused as unknown, with an error text (which
// goes into the hub log and the audit trail) that does not carry the ID.
func TestOverlongCredentialIDNotEchoed(t *testing.T) {
	e := newEnv(t)
	for _, n := range []int{MaxCredentialIDLength + 1, 20000} {
		ch := mustChallenge(t, e, kioskA)
		var ca protocol.CredentialAssertion
		if err := json.Unmarshal(ch.Options, &ca); err != nil {
			t.Fatal(err)
		}
		id := b64(bytes.Repeat([]byte{0xA5}, n))
		cdj := `{"type":"webauthn.get","challenge":"` + b64(ca.Response.Challenge) + `","origin":"` + testOrigin + `"}`
		body, err := json.Marshal(map[string]any{"id": id, "rawId": id, "type": "public-key",
			"response": map[string]any{"clientDataJSON": b64([]byte(cdj)), "authenticatorData": b64(make([]byte, 37)), "signature": b64([]byte{1}), "userHandle": b64([]byte("u"))}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.rp.FinishLogin(t.Context(), kioskA, body)
		if !errors.Is(err, ErrUnknownCredential) {
			t.Fatalf("ID of %d bytes: %v; want ErrUnknownCredential", n, err)
		}
		if len(err.Error()) > 300 || strings.Contains(err.Error(), id[:64]) {
			t.Errorf("ID of %d bytes: error text of %d bytes echoes the ID: %.200s…", n, len(err.Error()), err)
		}
		// The challenge was used up all the same.
		if _, err := e.rp.takeLogin(kioskA, b64(ca.Response.Challenge)); !errors.Is(err, ErrChallenge) {
			t.Errorf("challenge after the refusal: %v; want ErrChallenge", err)
		}
	}
}

// TestClientDataEchoBounded: go-webauthn's detail quotes the clientData
// type or origin the kiosk sent; the error text, which goes into the hub
// log and the audit trail, is cut so that a kiosk cannot write a frame's
// worth into them with each refused login. What failed is still said.
func TestClientDataEchoBounded(t *testing.T) {
	big := "https://" + strings.Repeat("x", 30000) + ".example"
	tests := []struct {
		name string
		f    forged
		says string
	}{
		{"origin", forged{extra: `,"origin":"` + big + `"`, flags: flagUP, counter: 1}, "Received: https://xxx"},
		{"type", forged{typ: strings.Repeat("webauthn.get", 2500), flags: flagUP, counter: 1}, "Received: webauthn.get"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			badge := e.badge("ana", authenticator.SoftOptions{})
			e.register(e.user("ana"), badge)
			_, err := e.rp.FinishLogin(t.Context(), kioskA, e.forge(t, kioskA, badge, tt.f))
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %.300v; want ErrInvalid", err)
			}
			if n := len(err.Error()); n > 1024 {
				t.Errorf("error text is %d bytes; want at most 1 KiB", n)
			}
			if !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "…(cut)") {
				t.Errorf("error text %.600q does not say %q, cut", err, tt.says)
			}
		})
	}
}

// TestRegistrationRefusesBackupFlags: a badge whose attestation says its
// credential is backup eligible (a synced passkey, whose counter cannot
// reveal a copy), or backed up without being eligible (invalid, §6.1), is
// refused at registration and nothing is stored. The attestation is a
// soft badge's "none" one with the flags changed: nothing signs the
// authenticator data in that format.
func TestRegistrationRefusesBackupFlags(t *testing.T) {
	tests := []struct {
		name  string
		flags byte
		want  error // nil: registered
	}{
		{"device bound", 0, nil},
		{"backup eligible", flagBE, ErrInvalid},
		{"backed up", flagBE | flagBS, ErrInvalid},
		{"backup state without eligibility", flagBS, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ana := e.user("ana")
			body := e.attestNoneEdited(t, ana, func(authData []byte) []byte {
				authData[32] |= tt.flags // the flags byte follows the rpIdHash
				return authData
			})
			_, err := e.rp.FinishRegistration(t.Context(), kioskA, body)
			if !errors.Is(err, tt.want) && (tt.want != nil || err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			creds, lerr := e.st.ListCredentials(t.Context(), ana.ID)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.want == nil]; len(creds) != want {
				t.Errorf("%d credentials stored, want %d", len(creds), want)
			}
			if tt.want != nil {
				if code, _, ok := RegistrationRefusal(err); !ok || code != wire.ErrInvalidAttestation {
					t.Errorf("refusal code %q, %v; want %q", code, ok, wire.ErrInvalidAttestation)
				}
			}
		})
	}
}
