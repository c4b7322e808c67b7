package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// FuzzDecodeServingKeyPEM: the HTTPS key an operator gives the hub
// (serve --tls-key) is a file from outside. decodeServingKeyPEM takes
// only an unencrypted key of the policy public CAs issue for (RSA of 2048
// bits or more, ECDSA on P-256, P-384 or P-521, Ed25519), and what it
// takes, written again as PKCS #8, reads back as the same key.
func FuzzDecodeServingKeyPEM(f *testing.F) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ecP224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			f.Fatal(err)
		}
		return der
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		f.Fatal(err)
	}
	p224, err := x509.MarshalECPrivateKey(ecP224)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{
		block("PRIVATE KEY", pkcs8(rsaKey)),
		block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)),
		append(block("EC PARAMETERS", []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}), block("EC PRIVATE KEY", sec1)...),
		block("PRIVATE KEY", pkcs8(edKey)),
		block("EC PRIVATE KEY", p224),
		block("ENCRYPTED PRIVATE KEY", []byte{0x30, 0x00}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}),
		block("CERTIFICATE", []byte{0x30, 0x00}),
		[]byte("not PEM"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := decodeServingKeyPEM(data)
		if err != nil {
			if key != nil {
				t.Fatalf("decodeServingKeyPEM returned a %T with error %v", key, err)
			}
			return
		}
		switch k := key.Public().(type) {
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				t.Fatalf("took an RSA key of %d bits", k.N.BitLen())
			}
		case *ecdsa.PublicKey:
			if c := k.Curve; c != elliptic.P256() && c != elliptic.P384() && c != elliptic.P521() {
				t.Fatalf("took an ECDSA key on %s", c.Params().Name)
			}
		case ed25519.PublicKey:
		default:
			t.Fatalf("took a %T key", k)
		}
		// The key's block is the first that is not EC PARAMETERS.
		b, rest := pem.Decode(data)
		for b != nil && b.Type == "EC PARAMETERS" {
			b, rest = pem.Decode(rest)
		}
		if b == nil || b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
			t.Fatalf("took a key from %v: not an unencrypted key block", b)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("accepted key does not marshal: %v", err)
		}
		back, err := decodeServingKeyPEM(block("PRIVATE KEY", der))
		if err != nil || !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Fatalf("accepted key written as PKCS #8 reads back as %v, %v", back, err)
		}
	})
}
