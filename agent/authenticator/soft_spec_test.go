package authenticator

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/uuid"
)

// These tests read a soft badge's output byte by byte against the specifications (WebAuthn
// Level 3 §6.1 authenticator data, §6.5.1 attested credential data, §8.2 packed, §8.7 none;
// CTAP 2.1 §8 canonical CBOR; RFC 9053 §7.1.1 EC2 keys), with their own parser and
// fxamacker/cbor's generic decoder, not with go-webauthn or this package's parseAttestation: a
// relying party less lenient than go-webauthn must not be able to tell a soft badge from a key.

// specAuthData is authenticator data split by hand (WebAuthn §6.1).
type specAuthData struct {
	rpIDHash  []byte
	flags     byte
	signCount uint32
	aaguid    []byte // attested credential data, when AT is set
	credID    []byte
	coseKey   []byte
}

func parseSpecAuthData(t *testing.T, ad []byte) specAuthData {
	t.Helper()
	if len(ad) < 37 {
		t.Fatalf("authenticator data is %d bytes, want at least 37", len(ad))
	}
	out := specAuthData{rpIDHash: ad[:32], flags: ad[32], signCount: binary.BigEndian.Uint32(ad[33:37])}
	rest := ad[37:]
	if out.flags&flagAT == 0 {
		if len(rest) != 0 {
			t.Fatalf("%d bytes after signCount without AT or ED", len(rest))
		}
		return out
	}
	if len(rest) < 18 {
		t.Fatalf("attested credential data is %d bytes", len(rest))
	}
	out.aaguid = rest[:16]
	n := int(binary.BigEndian.Uint16(rest[16:18]))
	if len(rest) < 18+n {
		t.Fatalf("credentialIdLength %d, only %d bytes follow", n, len(rest)-18)
	}
	out.credID = rest[18 : 18+n]
	// The COSE key is the last item: without ED nothing may follow it.
	var key cbor.RawMessage
	tail, err := cbor.UnmarshalFirst(rest[18+n:], &key)
	if err != nil {
		t.Fatalf("credentialPublicKey: %v", err)
	}
	if len(tail) != 0 {
		t.Fatalf("%d bytes after credentialPublicKey without ED", len(tail))
	}
	out.coseKey = key
	return out
}

// requireCanonical fails unless data is exactly the CTAP2 canonical encoding of what it decodes
// to: re-encoding the generic value sorts map keys length-first and uses the shortest heads.
func requireCanonical(t *testing.T, what string, data []byte) {
	t.Helper()
	var v any
	if err := cbor.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	enc, err := cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		t.Fatal(err)
	}
	again, err := enc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, data) {
		t.Fatalf("%s is not CTAP2 canonical CBOR:\n got %x\nwant %x", what, data, again)
	}
}

// specCOSEKey checks an ES256 COSE_Key member by member and returns the public key.
func specCOSEKey(t *testing.T, data []byte) *ecdsa.PublicKey {
	t.Helper()
	requireCanonical(t, "credentialPublicKey", data)
	var m map[int]cbor.RawMessage
	if err := cbor.Unmarshal(data, &m); err != nil {
		t.Fatalf("credentialPublicKey: %v", err)
	}
	want := map[int][]byte{
		1:  {0x02}, // kty: EC2
		3:  {0x26}, // alg: -7 (ES256)
		-1: {0x01}, // crv: P-256
	}
	if len(m) != 5 {
		t.Fatalf("COSE key has %d members, want kty, alg, crv, x, y", len(m))
	}
	for k, v := range want {
		if !bytes.Equal(m[k], v) {
			t.Errorf("COSE key member %d = %x, want %x", k, []byte(m[k]), v)
		}
	}
	var x, y []byte
	for k, dst := range map[int]*[]byte{-2: &x, -3: &y} {
		// RFC 9053 §7.1.1: the coordinate's full field length, leading zeros kept.
		if raw := m[k]; len(raw) != 34 || raw[0] != 0x58 || raw[1] != 32 {
			t.Fatalf("COSE key member %d = %x, want a 32-byte string", k, []byte(raw))
		}
		*dst = m[k][2:]
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		t.Fatalf("COSE key is not a P-256 point: %v", err)
	}
	return pub
}

// requireDERSignature checks that sig is one DER ECDSA-Sig-Value (SEQUENCE of two minimal
// positive INTEGERs, nothing after) and that it verifies over authData ‖ clientDataHash.
func requireDERSignature(t *testing.T, what string, pub *ecdsa.PublicKey, sig, authData, cdh []byte) {
	t.Helper()
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &rs)
	if err != nil || len(rest) != 0 {
		t.Fatalf("%s: not one DER SEQUENCE: %v (%d trailing bytes)", what, err, len(rest))
	}
	if der, _ := asn1.Marshal(rs); !bytes.Equal(der, sig) {
		t.Fatalf("%s: not in DER (minimal) form: %x", what, sig)
	}
	n := elliptic.P256().Params().N
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.Cmp(n) >= 0 || rs.S.Cmp(n) >= 0 {
		t.Fatalf("%s: r or s out of range", what)
	}
	h := sha256.Sum256(append(append([]byte{}, authData...), cdh...))
	if !ecdsa.VerifyASN1(pub, h[:], sig) {
		t.Fatalf("%s does not verify over authData ‖ clientDataHash", what)
	}
}

func TestSoftOutputMatchesSpecs(t *testing.T) {
	rpHash := sha256.Sum256([]byte(testRPID))
	userHandle := bytes.Repeat([]byte{0xa5}, maxUserHandle)
	aaguid := uuid.MustParse(DefaultAAGUID)
	tests := []struct {
		name        string
		opts        SoftOptions
		uv          UserVerification
		residentKey bool
		wantFlags   byte // of the registration; assertions have the same without AT
	}{
		{"packed, presence only", SoftOptions{}, UVPreferred, true, flagUP | flagAT},
		{"packed, verifying badge", SoftOptions{UserVerification: true}, UVRequired, true, flagUP | flagUV | flagAT},
		{"packed, verification discouraged", SoftOptions{UserVerification: true}, UVDiscouraged, true, flagUP | flagAT},
		{"none", SoftOptions{Attestation: AttestationNone}, UVPreferred, true, flagUP | flagAT},
		{"server-side credential", SoftOptions{}, UVPreferred, false, flagUP | flagAT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			badge := newTestSoft(t, t.TempDir(), "ana", tt.opts)
			cdh := sha256.Sum256([]byte("registration client data"))
			res, err := badge.MakeCredential(ctx, CreateRequest{
				RPID: testRPID, ClientDataHash: cdh[:], UserHandle: userHandle,
				UserName: "ana", ResidentKey: tt.residentKey, UserVerification: tt.uv,
			})
			if err != nil {
				t.Fatal(err)
			}

			// The attestation object: {fmt, attStmt, authData}, canonical, nothing else.
			requireCanonical(t, "attestation object", res.AttestationObject)
			var obj map[string]cbor.RawMessage
			if err := cbor.Unmarshal(res.AttestationObject, &obj); err != nil {
				t.Fatal(err)
			}
			if len(obj) != 3 {
				t.Fatalf("attestation object has %d members, want fmt, attStmt, authData", len(obj))
			}
			var fmtName string
			var authData []byte
			if err := cbor.Unmarshal(obj["fmt"], &fmtName); err != nil {
				t.Fatalf("fmt: %v", err)
			}
			if err := cbor.Unmarshal(obj["authData"], &authData); err != nil {
				t.Fatalf("authData: %v", err)
			}

			wantFmt := tt.opts.Attestation
			if wantFmt == "" {
				wantFmt = AttestationPacked
			}
			if AttestationFormat(fmtName) != wantFmt {
				t.Fatalf("fmt %q, want %q", fmtName, wantFmt)
			}

			ad := parseSpecAuthData(t, authData)
			if !bytes.Equal(ad.rpIDHash, rpHash[:]) {
				t.Errorf("rpIdHash = %x, want SHA-256(%q)", ad.rpIDHash, testRPID)
			}
			if ad.flags != tt.wantFlags {
				t.Errorf("registration flags = %08b, want %08b (BE, BS, ED and the RFU bits clear)", ad.flags, tt.wantFlags)
			}
			if ad.signCount != 0 {
				t.Errorf("registration signCount = %d, want 0", ad.signCount)
			}
			if !bytes.Equal(ad.aaguid, aaguid[:]) {
				t.Errorf("AAGUID = %x, want %x", ad.aaguid, aaguid[:])
			}
			if !bytes.Equal(ad.credID, res.CredentialID) || len(ad.credID) != credentialIDLen {
				t.Errorf("credentialId = %x (%d bytes), returned %x", ad.credID, len(ad.credID), res.CredentialID)
			}
			pub := specCOSEKey(t, ad.coseKey)

			switch wantFmt {
			case AttestationPacked:
				// §8.2 self attestation: exactly {alg, sig}, alg the credential's, sig by the
				// credential key; no x5c, no ecdaaKeyId.
				requireCanonical(t, "attStmt", obj["attStmt"])
				var stmt map[string]cbor.RawMessage
				if err := cbor.Unmarshal(obj["attStmt"], &stmt); err != nil {
					t.Fatal(err)
				}
				if len(stmt) != 2 || !bytes.Equal(stmt["alg"], []byte{0x26}) {
					t.Fatalf("packed attStmt = %x, want exactly {alg: -7, sig}", []byte(obj["attStmt"]))
				}
				var sig []byte
				if err := cbor.Unmarshal(stmt["sig"], &sig); err != nil {
					t.Fatalf("sig: %v", err)
				}
				requireDERSignature(t, "attestation signature", pub, sig, authData, cdh[:])
			case AttestationNone:
				// §8.7: attStmt is the empty map.
				if !bytes.Equal(obj["attStmt"], []byte{0xa0}) {
					t.Fatalf("none attStmt = %x, want a0", []byte(obj["attStmt"]))
				}
			}

			// Two assertions: 37 bytes, the same flags without AT, counters 1 and 2 big-endian,
			// DER signatures by the credential key, the user handle of a discoverable one.
			for want := uint32(1); want <= 2; want++ {
				cdh := sha256.Sum256([]byte{byte(want)})
				req := GetRequest{RPID: testRPID, ClientDataHash: cdh[:], UserVerification: tt.uv}
				if !tt.residentKey {
					req.AllowCredentialIDs = [][]byte{res.CredentialID}
				}
				got, err := badge.GetAssertion(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.AuthenticatorData) != 37 {
					t.Fatalf("assertion authenticator data is %d bytes, want 37", len(got.AuthenticatorData))
				}
				ad := parseSpecAuthData(t, got.AuthenticatorData)
				if !bytes.Equal(ad.rpIDHash, rpHash[:]) || ad.flags != tt.wantFlags&^flagAT {
					t.Errorf("assertion %d: rpIdHash %x flags %08b, want %x %08b", want, ad.rpIDHash, ad.flags, rpHash, tt.wantFlags&^flagAT)
				}
				if !bytes.Equal(got.AuthenticatorData[33:37], []byte{0, 0, 0, byte(want)}) {
					t.Errorf("assertion signCount bytes = %x, want %d big-endian", got.AuthenticatorData[33:37], want)
				}
				requireDERSignature(t, "assertion signature", pub, got.Signature, got.AuthenticatorData, cdh[:])
				if !bytes.Equal(got.CredentialID, res.CredentialID) {
					t.Errorf("assertion credential %x, want %x", got.CredentialID, res.CredentialID)
				}
				wantHandle := userHandle
				if !tt.residentKey {
					wantHandle = nil // CTAP2: no user entity for a server-side credential
				}
				if !bytes.Equal(got.UserHandle, wantHandle) {
					t.Errorf("assertion user handle = %x, want %x", got.UserHandle, wantHandle)
				}
			}
		})
	}
}
