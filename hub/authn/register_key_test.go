package authn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestRegistrationChecksThePublicKey: with attestation "none" (the default
// without a proof source) nothing at registration uses the credential's
// public key, so go-webauthn stores whatever COSE key the attestation
// carries. A key no login could ever verify (a point off its curve) would
// be registered as a working badge and fail at its first tap; a key far
// larger than any authenticator makes (an RSA modulus of 240,000 bits, or
// an ES256 key with a 30 KB member appended) is stored, read and parsed
// at every login, and the RSA one costs the hub seconds of CPU for each
// signature check a kiosk asks for. Such keys are refused as invalid and
// nothing is stored; the keys authenticators make (ES256, EdDSA, RS256 of
// 2048 bits) are registered.
func TestRegistrationChecksThePublicKey(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec2 := func(x, y []byte) map[int]any { return map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y} }
	validEC2 := ec2(ecKey.X.FillBytes(make([]byte, 32)), ecKey.Y.FillBytes(make([]byte, 32)))
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaCOSE := func(n []byte) map[int]any {
		return map[int]any{1: 3, 3: -257, -1: n, -2: []byte{0x7f, 0xff, 0xff, 0xff}}
	}
	hugeN := make([]byte, 30000) // 240,000 bits
	if _, err := rand.Read(hugeN); err != nil {
		t.Fatal(err)
	}
	hugeN[0] |= 0x80
	hugeN[len(hugeN)-1] |= 1
	padded := ec2(validEC2[-2].([]byte), validEC2[-3].([]byte))
	padded[-70000] = bytes.Repeat([]byte{0xA5}, 30000)

	tests := []struct {
		name string
		key  map[int]any
		ok   bool
	}{
		{"ES256", validEC2, true},
		{"EdDSA", map[int]any{1: 1, 3: -8, -1: 6, -2: []byte(edPub)}, true},
		{"RS256 of 2048 bits", rsaCOSE(rsaKey.N.Bytes()), true},
		{"ES256 point off the curve", ec2(bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)), false},
		{"RS256 of 240,000 bits", rsaCOSE(hugeN), false},
		{"ES256 with a 30 KB member", padded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ana := e.user("ana")
			cose, err := webauthncbor.Marshal(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			body := withPublicKey(t, e, ana.ID, cose)
			_, err = e.rp.FinishRegistration(t.Context(), kioskA, body)
			creds, lerr := e.st.ListCredentials(t.Context(), ana.ID)
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tt.ok {
				if err != nil || len(creds) != 1 {
					t.Fatalf("registration: %v, %d credentials stored; want it registered", err, len(creds))
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("registration: %.300v; want ErrInvalid", err)
			}
			if code, _, ok := RegistrationRefusal(err); !ok || code != wire.ErrInvalidAttestation {
				t.Errorf("refusal code %q, %v; want %q", code, ok, wire.ErrInvalidAttestation)
			}
			if len(creds) != 0 {
				t.Errorf("%d credentials stored (public key of %d bytes), want none", len(creds), len(creds[0].PublicKey))
			}
			if n := len(err.Error()); n > 2048 {
				t.Errorf("error text is %d bytes: the key is echoed", n)
			}
		})
	}
}

// withPublicKey registers a soft badge for user at kioskA with attestation
// "none" and returns its attestation JSON with the credential public key
// in the authenticator data replaced by cose: in that format nothing
// signs the authenticator data.
func withPublicKey(t *testing.T, e *env, userID string, cose []byte) []byte {
	t.Helper()
	u, err := e.st.GetUser(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	return e.attestNoneEdited(t, u, func(authData []byte) []byte {
		const flagED = 0x80
		if authData[32]&flagED != 0 {
			t.Fatal("the badge's authenticator data carries extensions after the key: the test would cut them")
		}
		// rpIdHash (32) ‖ flags (1) ‖ counter (4) ‖ AAGUID (16) ‖ ID length (2) ‖ ID ‖ key
		idLen := int(binary.BigEndian.Uint16(authData[53:55]))
		return append(authData[:55+idLen:55+idLen], cose...)
	})
}
