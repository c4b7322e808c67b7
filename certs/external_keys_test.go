package certs_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// issueFor issues, with ca, a server certificate for hub.example.org (as
// craftServing, shaped by mod) to pub, whatever its type.
func issueFor(t *testing.T, ca *certs.CA, pub crypto.PublicKey, now time.Time, mod func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "hub.example.org"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"hub.example.org"},
	}
	mod(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rootCA is a root that may issue intermediates (NewCA's may not).
func rootCA(t *testing.T, name string, now time.Time) *certs.CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLen: 1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &certs.CA{Cert: cert, Key: key}
}

// intermediateCA is a CA that root issued.
func intermediateCA(t *testing.T, root *certs.CA, name string, now time.Time) *certs.CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := issueFor(t, root, key.Public(), now, func(c *x509.Certificate) {
		c.Subject = pkix.Name{CommonName: name}
		c.DNSNames, c.ExtKeyUsage = nil, nil
		c.IsCA, c.KeyUsage, c.MaxPathLenZero = true, x509.KeyUsageCertSign, true
		c.SerialNumber = big.NewInt(now.UnixNano() + 1)
	})
	return &certs.CA{Cert: cert, Key: key}
}

// writePEM writes blocks to path with mode.
func writePEM(t *testing.T, path string, mode os.FileMode, blocks ...*pem.Block) {
	t.Helper()
	var b []byte
	for _, blk := range blocks {
		b = append(b, pem.EncodeToMemory(blk)...)
	}
	if err := os.WriteFile(path, b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func certBlocks(chain ...*x509.Certificate) []*pem.Block {
	var out []*pem.Block
	for _, c := range chain {
		out = append(out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return out
}

func pkcs8Block(t *testing.T, key crypto.Signer) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

// TestExternalCertKeyTypes: the operator's key is what public CAs issue
// for and OpenSSL, certbot and the others write: RSA (most certificates
// are RSA), in PKCS #8 and PKCS #1; ECDSA P-384 in SEC 1 after the "EC
// PARAMETERS" block openssl ecparam -genkey writes; Ed25519 too, with a
// warning that browsers and Entra refuse it. Each is served (a client
// trusting the operator's CA connects). A short RSA key, a curve no
// client offers, an encrypted key are refused, saying why.
func TestExternalCertKeyTypes(t *testing.T) {
	now := time.Now()
	op := operatorCA(t, now)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384DER, err := x509.MarshalECPrivateKey(p384)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p224DER, err := x509.MarshalECPrivateKey(p224)
	if err != nil {
		t.Fatal(err)
	}
	shortRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := &pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22}} // OID secp384r1
	for _, tc := range []struct {
		name    string
		pub     crypto.PublicKey
		key     []*pem.Block
		want    string // "" for served
		warning string
	}{
		{"RSA, PKCS #8", rsaKey.Public(), []*pem.Block{pkcs8Block(t, rsaKey)}, "", ""},
		{"RSA, PKCS #1", rsaKey.Public(), []*pem.Block{{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}}, "", ""},
		{"ECDSA P-384, SEC 1 after EC PARAMETERS", p384.Public(), []*pem.Block{ecParams, {Type: "EC PRIVATE KEY", Bytes: p384DER}}, "", ""},
		{"Ed25519", edKey.Public(), []*pem.Block{pkcs8Block(t, edKey)}, "", "Ed25519 key, which browsers and Microsoft Entra ID do not accept"},
		{"RSA of 1024 bits", shortRSA.Public(), []*pem.Block{pkcs8Block(t, shortRSA)}, "RSA key of 1024 bits; want 2048 or more", ""},
		{"ECDSA P-224", p224.Public(), []*pem.Block{{Type: "EC PRIVATE KEY", Bytes: p224DER}}, "ECDSA key on P-224", ""},
		{"encrypted", rsaKey.Public(), []*pem.Block{{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}}, "the key is encrypted", ""},
		{"encrypted, OpenSSL's old way", rsaKey.Public(), []*pem.Block{{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}}, "the key is encrypted", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
			leaf := issueFor(t, op, tc.pub, now, func(*x509.Certificate) {})
			writePEM(t, certPath, 0o644, certBlocks(leaf)...)
			writePEM(t, keyPath, 0o600, tc.key...)
			warning, err := h.UseExternalCert(certPath, keyPath, "hub.example.org", now)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("UseExternalCert: %v, want an error saying %q", err, tc.want)
				}
				if h.ExternalCert() {
					t.Error("the refused key is in use")
				}
				return
			}
			if err != nil {
				t.Fatalf("UseExternalCert: %v", err)
			}
			if !strings.Contains(warning, tc.warning) || (tc.warning != "") != strings.Contains(warning, "Ed25519") {
				t.Errorf("warning %q, want it to say %q", warning, tc.warning)
			}
			addr, results := startTLSServer(t, certs.ServerTLSConfig(h, nil))
			if err := dialErr(t, addr, &tls.Config{RootCAs: op.Pool(), ServerName: "hub.example.org"}); err != nil {
				t.Fatalf("a client trusting the operator's CA: %v", err)
			}
			if r := <-results; r.err != nil {
				t.Fatalf("server: %v", r.err)
			}
		})
	}
}

// TestExternalCertChain: the chain file must be the server's certificate,
// then the intermediates each followed by its issuer (a root at the end
// is fine): a file in another order, or with a certificate that belongs
// to no chain of it, is refused saying what is wrong, and the right one is
// served with its intermediate.
func TestExternalCertChain(t *testing.T) {
	now := time.Now()
	root := rootCA(t, "Operator Test Root", now)
	inter := intermediateCA(t, root, "Operator Issuing CA", now)
	other := rootCA(t, "Another Root", now)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := issueFor(t, inter, key.Public(), now, func(*x509.Certificate) {})
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
		want  string
	}{
		{"leaf, intermediate", []*x509.Certificate{leaf, inter.Cert}, ""},
		{"leaf, intermediate, root", []*x509.Certificate{leaf, inter.Cert, root.Cert}, ""},
		{"intermediate first", []*x509.Certificate{inter.Cert, leaf}, "is for certificate 2 in the file (CN=hub.example.org), not the first"},
		{"root before the intermediate", []*x509.Certificate{leaf, root.Cert, inter.Cert}, "certificate 2 in the file (CN=Operator Test Root) did not issue certificate 1 (CN=hub.example.org)"},
		{"an unrelated CA after it", []*x509.Certificate{leaf, inter.Cert, other.Cert}, "certificate 3 in the file (CN=Another Root) did not issue certificate 2 (CN=Operator Issuing CA)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			certPath, keyPath := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
			writePEM(t, certPath, 0o644, certBlocks(tc.chain...)...)
			writePEM(t, keyPath, 0o600, pkcs8Block(t, key))
			_, err = h.UseExternalCert(certPath, keyPath, "hub.example.org", now)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("UseExternalCert: %v, want an error saying %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("UseExternalCert: %v", err)
			}
			addr, results := startTLSServer(t, certs.ServerTLSConfig(h, nil))
			// The client knows the root only: the intermediate must come
			// from the hub.
			if err := dialErr(t, addr, &tls.Config{RootCAs: root.Pool(), ServerName: "hub.example.org"}); err != nil {
				t.Fatalf("a client trusting the operator's root: %v", err)
			}
			<-results
		})
	}
}

// TestExternalCertNames: the certificate is matched against the public
// URL's host by its subject alternative names, as clients match it: a
// wildcard covers one label; a certificate naming the host in its common
// name only is refused, saying that clients ignore the common name.
func TestExternalCertNames(t *testing.T) {
	now := time.Now()
	op := operatorCA(t, now)
	for _, tc := range []struct {
		name, host string
		mod        func(*x509.Certificate)
		want       string
	}{
		{"wildcard", "hub.example.org", func(c *x509.Certificate) { c.DNSNames = []string{"*.example.org"} }, ""},
		{"upper-case host", "HUB.Example.org", func(*x509.Certificate) {}, ""},
		{"wildcard, two labels down", "a.hub.example.org", func(c *x509.Certificate) { c.DNSNames = []string{"*.example.org"} }, "does not cover the public URL's host a.hub.example.org"},
		{"wildcard, the bare domain", "example.org", func(c *x509.Certificate) { c.DNSNames = []string{"*.example.org"} }, "does not cover the public URL's host example.org"},
		{"common name only", "hub.example.org", func(c *x509.Certificate) { c.DNSNames = nil }, `names no host in its subject alternative names (only its common name "hub.example.org", which clients ignore)`},
		{"IDN in its ASCII form", "xn--bcher-kva.example", func(c *x509.Certificate) { c.DNSNames = []string{"xn--bcher-kva.example"} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
			if err != nil {
				t.Fatal(err)
			}
			certPath, keyPath := certstest.WriteServing(t, t.TempDir(), craftServing(t, op, now, tc.mod))
			_, err = h.UseExternalCert(certPath, keyPath, tc.host, now)
			if tc.want == "" && err != nil {
				t.Fatalf("UseExternalCert: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("UseExternalCert: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}

// TestHubIDNHost: a public URL with an internationalised host is refused
// in its Unicode form, saying to give the ASCII form that certificates
// (the operator's too) and WebAuthn origins carry.
func TestHubIDNHost(t *testing.T) {
	_, err := certs.LoadOrCreateHub(t.TempDir(), []string{"bücher.example"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "give its ASCII form (xn--") {
		t.Fatalf("LoadOrCreateHub for bücher.example: %v, want it to ask for the ASCII form", err)
	}
	if _, err := certs.LoadOrCreateHub(t.TempDir(), []string{"xn--bcher-kva.example"}, time.Now()); err != nil {
		t.Fatalf("LoadOrCreateHub for xn--bcher-kva.example: %v", err)
	}
}
