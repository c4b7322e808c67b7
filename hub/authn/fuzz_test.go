package authn

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/authn/mdstest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// FuzzFinishLogin feeds arbitrary bytes to FinishLogin with a challenge
// outstanding for the device and a registered credential. The seed is a
// genuine assertion over that challenge, already redeemed once, so every
// input, however close to it, must fail: no panic, always an error.
func FuzzFinishLogin(f *testing.F) {
	e := newEnv(f)
	badge := e.badge("ana", authenticator.SoftOptions{})
	cred := e.register(e.user("ana"), badge)
	body := e.assert(kioskA, badge)
	e.rp.mu.Lock()
	var pending pendingLogin
	for _, p := range e.rp.logins {
		pending = *p
	}
	e.rp.mu.Unlock()
	if _, err := e.rp.FinishLogin(context.Background(), kioskA, body); err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{}}`))
	f.Add([]byte{0xff, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		p := pending
		e.rp.mu.Lock()
		e.rp.logins[p.session.Challenge] = &p
		e.rp.byDevice[kioskA] = []string{p.session.Challenge}
		e.rp.mu.Unlock()
		_, err := e.rp.FinishLogin(ctx, kioskA, data)
		if err == nil {
			t.Fatalf("FinishLogin accepted %q", data)
		}
		if errors.Is(err, ErrCloned) { // a re-encoding of the seed: reactivate for the next input
			_, err := e.st.UpdateCredential(ctx, cred.ID, func(c store.Credential) (store.Credential, error) {
				c.State, c.Reason = store.CredentialActive, ""
				return c, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// FuzzFinishRegistration feeds arbitrary bytes to FinishRegistration with a
// registration pending on the device. The seed is a genuine attestation for
// that registration, already stored once, so every input must fail.
func FuzzFinishRegistration(f *testing.F) {
	e := newEnv(f)
	ana := e.user("ana")
	body, err := e.attest(kioskA, ana, e.badge("ana", authenticator.SoftOptions{}))
	if err != nil {
		f.Fatal(err)
	}
	e.rp.mu.Lock()
	pending := *e.rp.regs[kioskA]
	e.rp.mu.Unlock()
	if _, err := e.rp.FinishRegistration(context.Background(), kioskA, body); err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"attestationObject":"oA","clientDataJSON":"e30"}}`))
	f.Add([]byte(""))

	f.Fuzz(func(t *testing.T, data []byte) {
		p := pending
		e.rp.mu.Lock()
		e.rp.regs[kioskA] = &p
		e.rp.mu.Unlock()
		if _, err := e.rp.FinishRegistration(context.Background(), kioskA, data); err == nil {
			t.Fatalf("FinishRegistration accepted %q", data)
		}
	})
}

// FuzzParseAssertion holds parseAssertion to go-webauthn's
// ParseCredentialRequestResponseBytes: both refuse an input, or both
// accept it with the same result.
func FuzzParseAssertion(f *testing.F) {
	e := newEnv(f)
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(e.user("ana"), badge)
	f.Add(e.assert(kioskA, badge))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":null,"signature":"","userHandle":"AA=="}}`))
	f.Add([]byte(`{"ID":"AA","RAWID":"\u0041A","rawId":null,"type":"public-key","response":{"clientDataJSON":"e30=","signature":1}}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","clientExtensionResults":{"appid":true},"response":{"clientDataJSON":"e30"}} x`))
	f.Add([]byte{0xff, 0x00})

	f.Fuzz(func(t *testing.T, data []byte) {
		got, gotErr := parseAssertion(data)
		want, wantErr := protocol.ParseCredentialRequestResponseBytes(data)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("parseAssertion(%q): err %v, go-webauthn: err %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("parseAssertion(%q) =\n%+v\ngo-webauthn:\n%+v", data, got, want)
		}
	})
}

// FuzzVerifyModel holds verifyModel, the check that an attestation's
// certificate chain proves the model, to refusing every chain but the
// genuine one, whatever bytes stand in for the certificates.
func FuzzVerifyModel(f *testing.F) {
	const model = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	batch, root, err := authenticator.NewModelAttestation(model, "Acme")
	if err != nil {
		f.Fatal(err)
	}
	e := newEnv(f)
	e.trust(root)
	aaguid := mustAAGUID(f, model)
	genuine := batch.Chain[0]
	f.Add(genuine, []byte(nil))
	f.Add(genuine, genuine)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, []byte(nil))
	f.Fuzz(func(t *testing.T, leaf, intermediate []byte) {
		x5c := []any{leaf}
		if intermediate != nil {
			x5c = append(x5c, intermediate)
		}
		att := &protocol.AttestationObject{Format: string(protocol.AttestationFormatPacked), AttStatement: map[string]any{"x5c": x5c}}
		proof, err := e.rp.verifyModel(att, aaguid, e.clock.Now())
		if err == nil && !bytes.Equal(proof.cert.Raw, genuine) {
			t.Fatalf("verifyModel accepted a certificate that is not the batch's: %x", leaf)
		}
	})
}

// FuzzParseMetadata: whatever bytes stand in for a BLOB, ParseMetadata
// returns an error or a verified BLOB, never panics, and takes no BLOB
// but the genuine one under the test root.
func FuzzParseMetadata(f *testing.F) {
	const acme = "0bb4d5a0-3c8e-4f2e-9d61-2f7f6b1c8a11"
	_, root := model(f, acme, "Acme Keys")
	s := signer(f)
	genuine := blob(f, s, 3, mdstest.Model{AAGUID: acme, RootPEM: root})
	f.Add(genuine)
	f.Add([]byte("e30.e30.e30"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseMetadata(data, s.RootPEM)
		if err == nil && !bytes.Equal(data, genuine) {
			t.Fatalf("ParseMetadata took a BLOB that is not the one signed (no %d): %q", md.Number, data)
		}
	})
}
