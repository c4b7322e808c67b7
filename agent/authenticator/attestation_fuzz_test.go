package authenticator

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// FuzzParseAttestation: the attestation object comes from the
// authenticator (a USB key or NFC card, or a soft badge file). What
// parseAttestation accepts has attested credential data whose credential
// ID and P-256 ES256 key are the ones the authenticator data holds, with
// nothing after the key unless extensions are flagged; and that
// credential, written again as a CTAP2 authenticator writes it, reads
// back the same.
func FuzzParseAttestation(f *testing.F) {
	enc, err := newEncoder()
	if err != nil {
		f.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	cose, err := enc.coseKey(&key.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	credID := bytes.Repeat([]byte{0xc1}, 32)
	ad := authenticatorData(testRPID, flagUP|flagUV|flagAT, 0, attestedCredentialData([16]byte{1, 2, 3}, credID, cose))
	for _, format := range []AttestationFormat{AttestationNone, AttestationPacked} {
		obj, err := enc.attest(format, ad, bytes.Repeat([]byte{7}, 32), key, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(obj)
	}
	obj, _ := enc.attest(AttestationNone, append(append([]byte{}, ad...), 0xa0), nil, key, nil) // trailing bytes
	f.Add(obj)
	obj, _ = enc.attest(AttestationNone, ad[:40], nil, key, nil) // truncated
	f.Add(obj)
	f.Fuzz(func(t *testing.T, obj []byte) {
		p, err := enc.parseAttestation(obj)
		if err != nil {
			if p != nil {
				t.Fatalf("parseAttestation returned %+v with error %v", p, err)
			}
			return
		}
		ad := p.authData
		if len(ad) < 55 || ad[32]&flagAT == 0 {
			t.Fatalf("accepted authenticator data without attested credential data: %x", ad)
		}
		n := int(ad[53])<<8 | int(ad[54])
		if !bytes.Equal(p.credentialID, ad[55:55+n]) || p.alg != ES256 || p.publicKey.Curve != elliptic.P256() {
			t.Fatalf("parseAttestation = credential %x alg %d; authenticator data %x", p.credentialID, p.alg, ad)
		}
		cose, err := enc.coseKey(p.publicKey)
		if err != nil {
			t.Fatalf("accepted public key does not encode: %v", err)
		}
		again := authenticatorData(testRPID, flagUP|flagAT, 0, attestedCredentialData([16]byte{}, p.credentialID, cose))
		reobj, err := enc.attest(AttestationNone, again, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := enc.parseAttestation(reobj)
		if err != nil || !bytes.Equal(back.credentialID, p.credentialID) || !back.publicKey.Equal(p.publicKey) {
			t.Fatalf("credential %x written again reads back as %+v, %v", p.credentialID, back, err)
		}
	})
}
