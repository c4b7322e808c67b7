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
	"math/big"
	"os"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
)

// forged is an assertion a test signs by hand with a soft badge's key, to
// present what no well-behaved authenticator or client would.
type forged struct {
	typ        string // clientData type; "webauthn.get" if empty
	extra      string // more clientDataJSON members, e.g. `,"crossOrigin":true`
	flags      byte
	counter    uint32
	userHandle []byte // the badge's if nil
	noHandle   bool
}

// forge fetches a challenge for device and signs f with the key of the
// badge's newest credential.
func (e *env) forge(t *testing.T, device string, badge *authenticator.Soft, f forged) []byte {
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
	dec := func(s string) []byte {
		out, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var ca protocol.CredentialAssertion
	if err := json.Unmarshal(mustChallenge(t, e, device).Options, &ca); err != nil {
		t.Fatal(err)
	}
	if f.typ == "" {
		f.typ = string(protocol.AssertCeremony)
	}
	cdj := []byte(`{"type":"` + f.typ + `","challenge":"` + b64(ca.Response.Challenge) + `","origin":"` + testOrigin + `"` + f.extra + `}`)
	rpHash := sha256.Sum256([]byte(testRPID))
	ad := binary.BigEndian.AppendUint32(append(rpHash[:], f.flags), f.counter)
	cdh := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte{}, ad...), cdh[:]...))
	key := &ecdsa.PrivateKey{D: new(big.Int).SetBytes(dec(bc.PrivateKey))}
	key.Curve = elliptic.P256()
	key.X, key.Y = key.Curve.ScalarBaseMult(dec(bc.PrivateKey))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	resp := map[string]any{"clientDataJSON": b64(cdj), "authenticatorData": b64(ad), "signature": b64(sig)}
	switch {
	case f.noHandle:
	case f.userHandle != nil:
		resp["userHandle"] = b64(f.userHandle)
	default:
		resp["userHandle"] = bc.UserHandle
	}
	body, err := json.Marshal(map[string]any{"id": bc.ID, "rawId": bc.ID, "type": "public-key", "response": resp, "clientExtensionResults": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestAssertionChecks: with a valid signature by the registered key, an
// assertion is still refused when a flag, the client data or the user
// handle is wrong; UV is reported as the authenticator set it, and not
// required (user verification "preferred": policy decides).
func TestAssertionChecks(t *testing.T) {
	tests := []struct {
		name   string
		f      forged
		want   error // nil: accepted
		wantUV bool
	}{
		{"valid", forged{flags: flagUP, counter: 1}, nil, false},
		{"valid with UV", forged{flags: flagUP | flagUV, counter: 1}, nil, true},
		{"no user presence", forged{flags: 0, counter: 1}, ErrInvalid, false},
		{"UV without UP", forged{flags: flagUV, counter: 1}, ErrInvalid, false},
		{"backup eligible", forged{flags: flagUP | flagBE, counter: 1}, ErrInvalid, false},
		{"backed up", forged{flags: flagUP | flagBE | flagBS, counter: 1}, ErrInvalid, false},
		{"backup state without eligibility", forged{flags: flagUP | flagBS, counter: 1}, ErrInvalid, false},
		{"registration client data", forged{typ: string(protocol.CreateCeremony), flags: flagUP, counter: 1}, ErrInvalid, false},
		{"cross origin", forged{extra: `,"crossOrigin":true`, flags: flagUP, counter: 1}, ErrInvalid, false},
		{"another user's handle", forged{userHandle: []byte("00000000-0000-4000-8000-0000000000bo"), flags: flagUP, counter: 1}, ErrInvalid, false},
		{"no user handle", forged{noHandle: true, flags: flagUP, counter: 1}, ErrInvalid, false},
		{"counter 0 on a new credential", forged{flags: flagUP, counter: 0}, ErrNoCounter, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			badge := e.badge("ana", authenticator.SoftOptions{})
			cred := e.register(e.user("ana"), badge)
			e.user("bo")
			res, err := e.rp.FinishLogin(t.Context(), kioskA, e.forge(t, kioskA, badge, tt.f))
			if tt.want == nil {
				if err != nil || res.UserVerified != tt.wantUV {
					t.Fatalf("login: uv %v, %v; want uv %v, no error", res.UserVerified, err, tt.wantUV)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got, err := e.st.GetCredential(t.Context(), cred.ID); err != nil || got.SignCount != 0 || !got.LastUsed.IsZero() {
				t.Errorf("refused login changed the credential: %+v, %v", got, err)
			}
		})
	}
}

// TestConcurrentCopies: copies of a key that sign the same counter and
// reach the hub at once: exactly one signs in, every other is refused as
// a clone (or, once the credential is suspended, as unknown).
func TestConcurrentCopies(t *testing.T) {
	e := newEnv(t)
	badge := e.badge("ana", authenticator.SoftOptions{})
	e.register(e.user("ana"), badge)
	if _, err := e.login(kioskA, badge); err != nil { // counter 1, remembered
		t.Fatal(err)
	}
	// As many as the kiosks may hold challenges for.
	const n = 2 * MaxOutstandingChallenges
	type attempt struct {
		device string
		body   []byte
	}
	attempts := make([]attempt, n)
	for i := range attempts {
		d := []string{kioskA, kioskB}[i%2]
		attempts[i] = attempt{d, e.forge(t, d, badge, forged{flags: flagUP, counter: 5})}
	}
	errs := make(chan error, n)
	for _, a := range attempts {
		go func() {
			_, err := e.rp.FinishLogin(t.Context(), a.device, a.body)
			errs <- err
		}()
	}
	ok := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case !errors.Is(err, ErrCloned) && !errors.Is(err, ErrUnknownCredential):
			t.Errorf("copy: %v, want ErrCloned or ErrUnknownCredential", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d copies signed in with counter 5, want 1", ok)
	}
}
