package certs_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// servingFiles is a certificate chain and its key as PEM, padded (PEM
// readers skip what is around the blocks) to at least n bytes each.
func servingFiles(t *testing.T, tc *tls.Certificate, n int) (certPEM, keyPEM []byte) {
	t.Helper()
	for _, der := range tc.Certificate {
		certPEM = append(certPEM, certs.EncodeCertPEM(der)...)
	}
	keyPEM, err := certs.EncodeKeyPEM(tc.PrivateKey.(crypto.Signer))
	if err != nil {
		t.Fatal(err)
	}
	pad := func(b []byte) []byte { return append(b, bytes.Repeat([]byte("\n"), max(0, n-len(b)))...) }
	return pad(certPEM), pad(keyPEM)
}

// writeWithTime writes data to path with mode, its modification time set
// to mtime, as cp -p, rsync -t or tar leave it.
func writeWithTime(t *testing.T, path string, data []byte, mode os.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// TestExternalCertReloadSameSizeAndTime: a renewal is told by what the
// files hold. One copied over the old files keeping their size and
// modification time (cp -p, rsync -t, tar of files made in the same
// second), or one that certbot's live/ links now point to (archive/
// files whose size and time match), is served at the next reload.
func TestExternalCertReloadSameSizeAndTime(t *testing.T) {
	now := time.Now()
	op := operatorCA(t, now)
	first := craftServing(t, op, now, func(*x509.Certificate) {})
	second := craftServing(t, op, now, func(c *x509.Certificate) { c.NotAfter = now.Add(120 * 24 * time.Hour) })
	cert1, key1 := servingFiles(t, first, 2048)
	cert2, key2 := servingFiles(t, second, 2048)
	if len(cert1) != len(cert2) || len(key1) != len(key2) {
		t.Fatalf("precondition: the files differ in size: %d/%d, %d/%d", len(cert1), len(cert2), len(key1), len(key2))
	}
	mtime := now.Add(-time.Hour).Truncate(time.Second)

	t.Run("copied in place", func(t *testing.T) {
		h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		certPath, keyPath := filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
		writeWithTime(t, certPath, cert1, 0o644, mtime)
		writeWithTime(t, keyPath, key1, 0o600, mtime)
		if _, err := h.UseExternalCert(certPath, keyPath, "hub.example.org", now); err != nil {
			t.Fatal(err)
		}
		writeWithTime(t, certPath, cert2, 0o644, mtime)
		writeWithTime(t, keyPath, key2, 0o600, mtime)
		if renewed, err := h.RenewServerCert(now); err != nil || !renewed {
			t.Fatalf("reload of a renewal of the same size and time: %v, %v; want it taken", renewed, err)
		}
		if !h.Certificate().Leaf.Equal(second.Leaf) {
			t.Error("the renewal is not served")
		}
	})

	t.Run("certbot's links", func(t *testing.T) {
		h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		archive, live := filepath.Join(dir, "archive"), filepath.Join(dir, "live")
		for _, d := range []string{archive, live} {
			if err := os.Mkdir(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		writeWithTime(t, filepath.Join(archive, "fullchain1.pem"), cert1, 0o644, mtime)
		writeWithTime(t, filepath.Join(archive, "privkey1.pem"), key1, 0o600, mtime)
		writeWithTime(t, filepath.Join(archive, "fullchain2.pem"), cert2, 0o644, mtime)
		writeWithTime(t, filepath.Join(archive, "privkey2.pem"), key2, 0o600, mtime)
		link := func(name, target string) {
			t.Helper()
			tmp := filepath.Join(live, name+".new")
			if err := os.Symlink(filepath.Join("..", "archive", target), tmp); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(live, name)); err != nil {
				t.Fatal(err)
			}
		}
		link("fullchain.pem", "fullchain1.pem")
		link("privkey.pem", "privkey1.pem")
		certPath, keyPath := filepath.Join(live, "fullchain.pem"), filepath.Join(live, "privkey.pem")
		if _, err := h.UseExternalCert(certPath, keyPath, "hub.example.org", now); err != nil {
			t.Fatal(err)
		}
		if renewed, err := h.RenewServerCert(now); err != nil || renewed {
			t.Fatalf("reload with nothing changed: %v, %v", renewed, err)
		}
		link("fullchain.pem", "fullchain2.pem")
		link("privkey.pem", "privkey2.pem")
		if renewed, err := h.RenewServerCert(now); err != nil || !renewed {
			t.Fatalf("reload after the links moved to the renewal: %v, %v; want it taken", renewed, err)
		}
		if !h.Certificate().Leaf.Equal(second.Leaf) {
			t.Error("the renewal is not served")
		}
	})
}

// TestExternalCertReloadHalfWritten: an ACME client writes the
// certificate, then the key. A reload in between does not serve the
// mismatched pair, keeps the current one, and does not take the files as
// seen: once the key is there, the next reload serves the renewal. The
// same goes for a renewal written before its start (the hub's clock
// behind the CA's).
func TestExternalCertReloadHalfWritten(t *testing.T) {
	now := time.Now()
	h, op, first, certPath, keyPath := servingHub(t, now)
	dir := filepath.Dir(certPath)

	second := craftServing(t, op, now, func(c *x509.Certificate) { c.NotAfter = now.Add(120 * 24 * time.Hour) })
	if err := certs.WriteCertFile(certPath, second.Certificate...); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		renewed, err := h.RenewServerCert(now)
		if renewed || err == nil || !strings.Contains(err.Error(), "does not match") || !strings.Contains(err.Error(), "still serving") {
			t.Fatalf("reload with the new certificate and the old key: %v, %v; want an error, the current one kept", renewed, err)
		}
		if !h.Certificate().Leaf.Equal(first.Leaf) {
			t.Fatal("a mismatched pair replaced the certificate")
		}
	}
	if err := certs.WriteKeyFile(keyPath, second.PrivateKey.(crypto.Signer)); err != nil {
		t.Fatal(err)
	}
	if renewed, err := h.RenewServerCert(now); err != nil || !renewed || !h.Certificate().Leaf.Equal(second.Leaf) {
		t.Fatalf("reload once the key is there: %v, %v; want the renewal served", renewed, err)
	}

	third := craftServing(t, op, now, func(c *x509.Certificate) { c.NotBefore = now.Add(time.Minute) })
	certstest.WriteServing(t, dir, third)
	if renewed, err := h.RenewServerCert(now); renewed || err == nil || !strings.Contains(err.Error(), "not valid before") {
		t.Fatalf("reload of a certificate valid from a minute on: %v, %v; want it refused for now", renewed, err)
	}
	if renewed, err := h.RenewServerCert(now.Add(2 * time.Minute)); err != nil || !renewed || !h.Certificate().Leaf.Equal(third.Leaf) {
		t.Fatalf("reload two minutes on: %v, %v; want it served", renewed, err)
	}
}

// TestExternalCertReloadWarning: the warning of the certificate served
// follows the reloads: a renewal copied without what makes clients take
// it is reported (the hub logs it), one that has it is not.
func TestExternalCertReloadWarning(t *testing.T) {
	now := time.Now()
	h, err := certs.LoadOrCreateHub(t.TempDir(), []string{"hub.example.org"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if w := h.ExternalCertWarning(); w != "" {
		t.Errorf("warning of the hub's own certificate: %q", w)
	}
	op := operatorCA(t, now)
	dir := t.TempDir()
	certPath, keyPath := certstest.WriteServing(t, dir, craftServing(t, op, now, func(*x509.Certificate) {}))
	warning, err := h.UseExternalCert(certPath, keyPath, "hub.example.org", now)
	if err != nil {
		t.Fatal(err)
	}
	// The test's operator CA is in no trust store.
	if !strings.Contains(warning, "does not chain to this machine's trusted roots") || h.ExternalCertWarning() != warning {
		t.Errorf("warning %q, ExternalCertWarning %q; want both to say it does not chain", warning, h.ExternalCertWarning())
	}
	ed := edServing(t, op, now)
	certstest.WriteServing(t, dir, ed)
	if renewed, err := h.RenewServerCert(now); err != nil || !renewed {
		t.Fatal(renewed, err)
	}
	if w := h.ExternalCertWarning(); !strings.Contains(w, "Ed25519") {
		t.Errorf("warning after reloading an Ed25519 certificate: %q", w)
	}
}

// TestExternalCertReloadBesideHandshakes: handshakes beside reloads
// swapping between two certificates each get a whole pair (run with
// -race).
func TestExternalCertReloadBesideHandshakes(t *testing.T) {
	now := time.Now()
	h, op, first, certPath, _ := servingHub(t, now)
	second := craftServing(t, op, now, func(c *x509.Certificate) { c.NotAfter = now.Add(120 * 24 * time.Hour) })
	dir := filepath.Dir(certPath)

	// Concurrent handshakes and reloads of alternating files.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := h.GetCertificate(nil)
				if err != nil {
					t.Error(err)
					return
				}
				if !c.Leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(c.PrivateKey.(crypto.Signer).Public()) {
					t.Error("GetCertificate returned a certificate with another's key")
					return
				}
			}
		})
	}
	for i := range 20 {
		tc := []*tls.Certificate{first, second}[i%2]
		certstest.WriteServing(t, dir, tc)
		if _, err := h.RenewServerCert(now); err != nil {
			t.Errorf("reload %d: %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
}

// edServing is a server certificate for hub.example.org with an Ed25519
// key, which ca issues.
func edServing(t *testing.T, ca *certs.CA, now time.Time) *tls.Certificate {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := issueFor(t, ca, pub, now, func(*x509.Certificate) {})
	return &tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
}
