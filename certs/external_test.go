package certs_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// operatorCA is a CA that is not the hub's: the one whose certificate an
// operator gives the hub to serve (a public CA, a company CA).
func operatorCA(t *testing.T, now time.Time) *certs.CA {
	t.Helper()
	ca, err := certs.NewCA("Operator Test Root", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// craftServing issues, with ca, a certificate for a fresh key shaped by
// mod (from a valid server certificate for hub.example.org).
func craftServing(t *testing.T, ca *certs.CA, now time.Time, mod func(*x509.Certificate)) *tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := issueFor(t, ca, key.Public(), now, mod)
	return &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
}

// TestExternalCertServed: with an operator's certificate the hub serves it
// to every client (a browser or an identity provider trusting only the
// operator's CA connects), and still takes kiosks' device certificates
// from its own CA; it never writes its own server files over it.
func TestExternalCertServed(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	h, err := certs.LoadOrCreateHub(dir, []string{"hub.example.org"}, now)
	if err != nil {
		t.Fatal(err)
	}
	own := h.Certificate()
	o := certstest.NewOperator(t, now, "hub.example.org")
	op, served := o.CA, o.Served
	warning, err := h.UseExternalCert(o.CertFile, o.KeyFile, "hub.example.org", now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(warning, "does not chain to this machine's trusted roots") {
		t.Errorf("warning for a certificate of a CA this machine does not trust: %q", warning)
	}
	if !h.ExternalCert() || !h.Certificate().Leaf.Equal(served.Leaf) {
		t.Fatal("the hub does not serve the operator's certificate")
	}

	var verifiedDevice string
	addr, results := startTLSServer(t, certs.ServerTLSConfig(h, func(id string, _ *x509.Certificate) error { verifiedDevice = id; return nil }))
	browser := &tls.Config{RootCAs: op.Pool(), ServerName: "hub.example.org"}
	if err := dialErr(t, addr, browser); err != nil {
		t.Fatalf("a client trusting the operator's CA: %v", err)
	}
	<-results
	if err := dialErr(t, addr, &tls.Config{RootCAs: h.CA.Pool(), ServerName: "hub.example.org"}); err == nil {
		t.Error("a client trusting only the hub CA took the operator's certificate")
	}
	<-results
	pki := &certstest.PKI{Hub: h, CA: h.CA, Now: now, Dir: dir}
	kiosk := pki.ClientConfig(t, "kiosk-1")
	kiosk.RootCAs, kiosk.ServerName = op.Pool(), "hub.example.org"
	if err := dialErr(t, addr, kiosk); err != nil {
		t.Fatalf("a kiosk with a device certificate of the hub CA: %v", err)
	}
	if r := <-results; r.err != nil || verifiedDevice != "kiosk-1" {
		t.Errorf("the hub did not verify the kiosk's device certificate: %v, device %q", r.err, verifiedDevice)
	}

	before, err := os.ReadFile(filepath.Join(dir, certs.ServerCertFile))
	if err != nil {
		t.Fatal(err)
	}
	// Past the point where the hub would re-issue its own certificate.
	if renewed, err := h.RenewServerCert(own.Leaf.NotAfter.Add(-time.Hour)); err != nil || renewed {
		t.Errorf("RenewServerCert with unchanged files: %v, %v; want nothing done", renewed, err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, certs.ServerCertFile)); string(after) != string(before) {
		t.Error("the hub issued its own server certificate while serving the operator's")
	}
}

// TestExternalCertRefused: a certificate that cannot serve the public URL
// is refused at start, saying why.
func TestExternalCertRefused(t *testing.T) {
	now := time.Now()
	op := operatorCA(t, now)
	good := craftServing(t, op, now, func(*x509.Certificate) {})
	other := craftServing(t, op, now, func(*x509.Certificate) {})
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		key  crypto.Signer
		mode os.FileMode
		want string
	}{
		{"another host", craftServing(t, op, now, func(c *x509.Certificate) { c.DNSNames = []string{"intranet.example.org"} }), nil, 0, "does not cover the public URL's host hub.example.org"},
		{"expired", craftServing(t, op, now, func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(-48*time.Hour), now.Add(-time.Hour) }), nil, 0, "it expired"},
		{"not yet valid", craftServing(t, op, now, func(c *x509.Certificate) { c.NotBefore = now.Add(time.Hour) }), nil, 0, "not valid before"},
		{"client only", craftServing(t, op, now, func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} }), nil, 0, "does not allow server authentication"},
		{"a CA certificate", craftServing(t, op, now, func(c *x509.Certificate) { c.IsCA, c.KeyUsage = true, x509.KeyUsageCertSign }), nil, 0, "CA certificate"},
		{"another key", good, other.PrivateKey.(crypto.Signer), 0, "does not match"},
		{"key readable by others", good, nil, 0o644, "chmod 600"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
			if err != nil {
				t.Fatal(err)
			}
			certPath, keyPath := certstest.WriteServing(t, t.TempDir(), tc.cert)
			if tc.key != nil {
				if err := certs.WriteKeyFile(keyPath, tc.key); err != nil {
					t.Fatal(err)
				}
			}
			if tc.mode != 0 {
				if err := os.Chmod(keyPath, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			_, err = h.UseExternalCert(certPath, keyPath, "hub.example.org", now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("UseExternalCert: %v, want an error saying %q", err, tc.want)
			}
			if h.ExternalCert() {
				t.Error("the refused certificate is in use")
			}
		})
	}
}

// servingHub is a hub serving a certificate for hub.example.org that op
// issued (first), from certPath and keyPath, as of now.
func servingHub(t *testing.T, now time.Time) (h *certs.Hub, op *certs.CA, first *tls.Certificate, certPath, keyPath string) {
	t.Helper()
	h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
	if err != nil {
		t.Fatal(err)
	}
	op = operatorCA(t, now)
	first = craftServing(t, op, now, func(*x509.Certificate) {})
	certPath, keyPath = certstest.WriteServing(t, t.TempDir(), first)
	if _, err := h.UseExternalCert(certPath, keyPath, "hub.example.org", now); err != nil {
		t.Fatal(err)
	}
	return h, op, first, certPath, keyPath
}

// TestExternalCertReloaded: a renewal written over the files (as certbot's
// deploy hook does) is served from the next RenewServerCert; files that do
// not pass the checks leave the current certificate in place.
func TestExternalCertReloaded(t *testing.T) {
	now := time.Now()
	h, op, first, certPath, keyPath := servingHub(t, now)
	dir := filepath.Dir(certPath)

	// A broken renewal: a certificate for another host.
	wrong := craftServing(t, op, now, func(c *x509.Certificate) { c.DNSNames = []string{"other.example.org"} })
	certstest.WriteServing(t, dir, wrong)
	renewed, err := h.RenewServerCert(now)
	if err == nil || renewed || !strings.Contains(err.Error(), "still serving the one that expires") {
		t.Errorf("reload of a certificate for another host: %v, %v; want an error, the old one kept", renewed, err)
	}
	if !h.Certificate().Leaf.Equal(first.Leaf) {
		t.Error("a refused renewal replaced the certificate")
	}

	second := craftServing(t, op, now, func(c *x509.Certificate) { c.NotAfter = now.Add(180 * 24 * time.Hour) })
	certstest.WriteServing(t, dir, second)
	if renewed, err := h.RenewServerCert(now); err != nil || !renewed {
		t.Fatalf("reload of the renewal: %v, %v", renewed, err)
	}
	if !h.Certificate().Leaf.Equal(second.Leaf) {
		t.Error("the renewal is not served")
	}
	if renewed, err := h.RenewServerCert(now); err != nil || renewed {
		t.Errorf("reload with nothing changed: %v, %v", renewed, err)
	}

	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	if _, err := h.RenewServerCert(now); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reload with the key gone: %v, want not exist", err)
	}
	if !h.Certificate().Leaf.Equal(second.Leaf) {
		t.Error("a missing key file dropped the certificate")
	}
}

// dialErr is dial's verdict alone.
func dialErr(t *testing.T, addr string, cfg *tls.Config) error {
	_, err := dial(t.Context(), addr, cfg)
	return err
}
