package certs_test

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// forger "signs" with an Ed25519 public key of small order, for which it
// holds no private key: R = identity, S = 0. ed25519.Verify accepts that
// signature for every message under the identity key and for one message
// in two, four or eight under the other small-order keys.
type forger struct{ pub ed25519.PublicKey }

func (f forger) Public() crypto.PublicKey { return f.pub }

func (f forger) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	sig := make([]byte, ed25519.SignatureSize)
	sig[0] = 1 // the identity point, encoded
	return sig, nil
}

// forgedCSR returns a CSR for pub whose self-signature verifies although
// nobody holds pub's private key. It fails the test if none is found.
func forgedCSR(t *testing.T, pub ed25519.PublicKey) []byte {
	t.Helper()
	for i := range 256 {
		der, err := x509.CreateCertificateRequest(rand.Reader,
			&x509.CertificateRequest{Subject: pkix.Name{CommonName: fmt.Sprintf("forged-%d", i)}}, forger{pub})
		if err != nil {
			// CreateCertificateRequest checks the signature too: this
			// message is not one the forgery works for.
			continue
		}
		csr, err := x509.ParseCertificateRequest(der)
		if err != nil {
			t.Fatal(err)
		}
		if csr.CheckSignature() == nil {
			return der
		}
	}
	t.Fatalf("no forged CSR verifies for key %x", []byte(pub))
	return nil
}

// TestSignDeviceCSRRefusesWeakProof checks that a CSR whose self-signature
// proves nothing gets no certificate: one signed with SHA-1, which
// CertificateRequest.CheckSignature still accepts, and one for an Ed25519
// key of small order, whose "signature" anyone can make. Such a certificate
// would be a device credential usable by whoever has seen it (TLS 1.2 sends
// client certificates in the clear).
func TestSignDeviceCSRRefusesWeakProof(t *testing.T) {
	ca := mustCA(t, t0)
	sha1CSR := rawCSR(t, p256Key(t), &x509.CertificateRequest{SignatureAlgorithm: x509.ECDSAWithSHA1})

	type tc struct {
		name    string
		csr     []byte
		wantErr string
	}
	tests := []tc{{name: "ECDSA with SHA-1", csr: sha1CSR, wantErr: "signature algorithm ECDSA-SHA1 not accepted"}}
	for _, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		for _, signBit := range []byte{0, 0x80} {
			pub, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			pub[31] |= signBit
			tests = append(tests, tc{
				name:    fmt.Sprintf("Ed25519 small order %x", pub),
				csr:     forgedCSR(t, pub),
				wantErr: "small order",
			})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := ca.SignDeviceCSR(tt.csr, "kiosk-1", time.Hour, t0)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("SignDeviceCSR = %d bytes, %v; want error containing %q", len(der), err, tt.wantErr)
			}
		})
	}

	// A genuine Ed25519 key still enrolls.
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.SignDeviceCSR(rawCSR(t, key, &x509.CertificateRequest{}), "kiosk-1", time.Hour, t0); err != nil {
		t.Errorf("genuine Ed25519 CSR refused: %v", err)
	}
}
