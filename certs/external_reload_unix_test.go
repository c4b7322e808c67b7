package certs_test

import (
	"crypto"
	"crypto/x509"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// TestExternalCertReloadDoesNotHoldHandshakes: a reload reads the files
// without holding up the handshakes: while it waits on a file (a hung
// network file system; here a hook that holds the reload before it reads)
// GetCertificate answers at once with the current certificate, and the
// reload serves the renewal once the file can be read. (It was a named
// pipe nobody writes to yet; those are now refused without waiting.)
func TestExternalCertReloadDoesNotHoldHandshakes(t *testing.T) {
	now := time.Now()
	h, op, first, certPath, keyPath := servingHub(t, now)
	second := craftServing(t, op, now, func(c *x509.Certificate) { c.NotAfter = now.Add(120 * 24 * time.Hour) })
	// The renewal in place, the reload held before it reads it.
	if err := certs.WriteKeyFile(keyPath, second.PrivateKey.(crypto.Signer)); err != nil {
		t.Fatal(err)
	}
	if err := certs.WriteCertFile(certPath, second.Certificate...); err != nil {
		t.Fatal(err)
	}
	reading, release := make(chan struct{}), make(chan struct{})
	certs.SetExternalReadHook(h, func() {
		close(reading)
		<-release
	})

	type result struct {
		renewed bool
		err     error
	}
	reloaded := make(chan result, 1)
	go func() {
		renewed, err := h.RenewServerCert(now)
		reloaded <- result{renewed, err}
	}()
	<-reading
	got := make(chan *x509.Certificate, 1)
	go func() {
		c, _ := h.GetCertificate(nil)
		got <- c.Leaf
	}()
	held := false
	select {
	case leaf := <-got:
		if !leaf.Equal(first.Leaf) {
			t.Error("GetCertificate during the reload: not the current certificate")
		}
	case <-time.After(2 * time.Second):
		held = true
		t.Error("GetCertificate waited for the reload's file read: handshakes are held up")
	}

	// Let the read go on: the reload ends, and serves the renewal.
	close(release)
	select {
	case r := <-reloaded:
		if r.err != nil || !r.renewed {
			t.Fatalf("reload: %v, %v", r.renewed, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reload did not end")
	}
	if !h.Certificate().Leaf.Equal(second.Leaf) {
		t.Error("the renewal is not served")
	}
	if held {
		<-got // freed by the reload's end
	}
}
