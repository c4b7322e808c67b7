package authn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"os"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Authenticator data flags beyond assertion_checks_test.go's.
const (
	flagAT = 0x40
	flagED = 0x80
)

// signAssertion signs authenticatorData ad and clientDataJSON cdj with the
// key of the badge's newest credential, as a modified authenticator and
// client would, and returns the assertion JSON with the badge's user
// handle.
func signAssertion(t *testing.T, badge *authenticator.Soft, cdj, ad []byte) []byte {
	t.Helper()
	raw, err := os.ReadFile(badge.Path())
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Credentials []struct{ ID, UserHandle, PrivateKey string }
	}
	if err := json.Unmarshal(raw, &b); err != nil || len(b.Credentials) == 0 {
		t.Fatalf("badge file: %v", err)
	}
	bc := b.Credentials[len(b.Credentials)-1]
	d, err := base64.RawURLEncoding.DecodeString(bc.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	key := &ecdsa.PrivateKey{PublicKey: ecdsa.PublicKey{Curve: elliptic.P256()}}
	key.D = new(big.Int).SetBytes(d)
	key.X, key.Y = key.Curve.ScalarBaseMult(d)
	cdh := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(map[string]any{"id": bc.ID, "rawId": bc.ID, "type": "public-key", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64(cdj), "authenticatorData": b64(ad), "signature": b64(sig), "userHandle": bc.UserHandle}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// authData is authenticator data for the test RP ID.
func authData(flags byte, counter uint32, tail ...byte) []byte {
	h := sha256.Sum256([]byte(testRPID))
	return append(binary.BigEndian.AppendUint32(append(h[:], flags), counter), tail...)
}

// clientData is the clientDataJSON of a login answering challenge (the
// options' base64url) from origin, with more members appended.
func clientData(challenge, origin, extra string) []byte {
	return []byte(`{"type":"webauthn.get","challenge":"` + challenge + `","origin":"` + origin + `"` + extra + `}`)
}

// TestAssertionAttacks: a key holder's modified authenticator or client
// presents, with a valid signature by the registered key, what a
// conforming one never would; each is refused and changes nothing. (The
// flags, client data type, crossOrigin and user handle cases are in
// TestAssertionChecks.)
func TestAssertionAttacks(t *testing.T) {
	cbor := []byte{0xa1, 0x63, 'e', 'x', 't', 0xf5} // {"ext": true}
	tests := []struct {
		name   string
		origin string
		extra  string // clientDataJSON members
		ad     []byte
		want   error
	}{
		{"control", testOrigin, "", authData(flagUP, 1), nil},
		{"origin of another scheme", "http://hub.shiftgate.test:8443", "", authData(flagUP, 1), ErrInvalid},
		{"origin of another port", "https://hub.shiftgate.test", "", authData(flagUP, 1), ErrInvalid},
		{"origin of another host under the RP ID", "https://kiosk.shiftgate.test:8443", "", authData(flagUP, 1), ErrInvalid},
		{"topOrigin without crossOrigin", testOrigin, `,"topOrigin":"https://evil.example"`, authData(flagUP, 1), ErrInvalid},
		{"crossOrigin with our own topOrigin", testOrigin, `,"crossOrigin":true,"topOrigin":"` + testOrigin + `"`, authData(flagUP, 1), ErrInvalid},
		{"tokenBinding of an unknown status", testOrigin, `,"tokenBinding":{"status":"bound"}`, authData(flagUP, 1), ErrInvalid},
		{"trailing bytes without ED", testOrigin, "", authData(flagUP, 1, 0x00), ErrInvalid},
		{"ED without extensions", testOrigin, "", authData(flagUP|flagED, 1), ErrInvalid},
		{"ED with bytes after the extensions", testOrigin, "", authData(flagUP|flagED, 1, append(cbor, 0x00)...), ErrInvalid},
		{"AT without attested data", testOrigin, "", authData(flagUP|flagAT, 1), ErrInvalid},
		{"AT with a short attested data", testOrigin, "", authData(flagUP|flagAT, 1, make([]byte, 20)...), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			badge := e.badge("ana", authenticator.SoftOptions{})
			cred := e.register(e.user("ana"), badge)
			var ca protocol.CredentialAssertion
			if err := json.Unmarshal(mustChallenge(t, e, kioskA).Options, &ca); err != nil {
				t.Fatal(err)
			}
			body := signAssertion(t, badge, clientData(b64(ca.Response.Challenge), tt.origin, tt.extra), tt.ad)
			_, err := e.rp.FinishLogin(t.Context(), kioskA, body)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("control: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got, err := e.st.GetCredential(t.Context(), cred.ID); err != nil || got.SignCount != 0 || !got.LastUsed.IsZero() || got.State != store.CredentialActive {
				t.Errorf("refused login changed the credential: %+v, %v", got, err)
			}
		})
	}
}

// TestRegistrationChallengeIsNoLoginChallenge: the challenge of a pending
// registration (go-webauthn's, which the kiosk holds) signed in a login is
// refused as not issued, and leaves the registration pending.
func TestRegistrationChallengeIsNoLoginChallenge(t *testing.T) {
	e := newEnv(t)
	ana := e.user("ana")
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(ana, badge)
	if _, err := e.rp.BeginRegistration(t.Context(), kioskA, ana, nil); err != nil {
		t.Fatal(err)
	}
	e.rp.mu.Lock()
	challenge := e.rp.regs[kioskA].session.Challenge
	e.rp.mu.Unlock()
	_, err := e.rp.FinishLogin(t.Context(), kioskA, signAssertion(t, badge, clientData(challenge, testOrigin, ""), authData(flagUP, 1)))
	if !errors.Is(err, ErrChallenge) {
		t.Fatalf("login with a registration challenge: %v; want ErrChallenge", err)
	}
	if _, ok := e.rp.PendingEnrollment(kioskA); !ok {
		t.Error("the pending registration is gone")
	}
}

// TestCounterEdges: a counter that wraps around (stored 2³²−1, presented
// 0 or 1) or drops to 0 after counting is a regression (WebAuthn §7.2
// step 21): suspended, with a credential.suspended record. A badge that
// has never counted is refused as counterless, and not suspended.
func TestCounterEdges(t *testing.T) {
	tests := []struct {
		name      string
		stored    uint32 // after a first login presenting it (0: none)
		presented uint32
		want      error
	}{
		{"wrap around to 0", math.MaxUint32, 0, ErrCloned},
		{"wrap around to 1", math.MaxUint32, 1, ErrCloned},
		{"drops to 0 after counting", 7, 0, ErrCloned},
		{"never counted", 0, 0, ErrNoCounter},
		{"counts up to the last value", math.MaxUint32 - 1, math.MaxUint32, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			badge := e.badge("ana", authenticator.SoftOptions{})
			cred := e.register(e.user("ana"), badge)
			if tt.stored != 0 {
				if _, err := e.rp.FinishLogin(t.Context(), kioskA, e.forge(t, kioskA, badge, forged{flags: flagUP, counter: tt.stored})); err != nil {
					t.Fatal(err)
				}
			}
			_, err := e.rp.FinishLogin(t.Context(), kioskA, e.forge(t, kioskA, badge, forged{flags: flagUP, counter: tt.presented}))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			got, err := e.st.GetCredential(t.Context(), cred.ID)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := e.st.ListAudit(t.Context(), store.AuditQuery{Action: ActionCredentialSuspended})
			if err != nil {
				t.Fatal(err)
			}
			wantSuspended := errors.Is(tt.want, ErrCloned)
			if (got.State == store.CredentialSuspended) != wantSuspended || (len(recs) == 1) != wantSuspended {
				t.Errorf("credential %s with %d credential.suspended records; want suspended: %v", got.State, len(recs), wantSuspended)
			}
		})
	}
}
