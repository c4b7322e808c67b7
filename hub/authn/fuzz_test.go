package authn

import (
	"context"
	"errors"
	"testing"

	"github.com/shiftgate/shiftgate/agent/authenticator"
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
