//go:build unix

package certs_test

import (
	"crypto"
	"crypto/x509"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// TestExternalCertReloadDoesNotHoldHandshakes: a reload reads the files
// without holding up the handshakes: while it waits on a file (a hung
// network file system; here a pipe nobody writes yet) GetCertificate
// answers at once with the current certificate, and the reload serves the
// renewal once the file can be read.
func TestExternalCertReloadDoesNotHoldHandshakes(t *testing.T) {
	now := time.Now()
	h, op, first, certPath, keyPath := servingHub(t, now)
	second := craftServing(t, op, now, func(c *x509.Certificate) { c.NotAfter = now.Add(120 * 24 * time.Hour) })
	var chainPEM []byte
	for _, der := range second.Certificate {
		chainPEM = append(chainPEM, certs.EncodeCertPEM(der)...)
	}
	// The renewal's key in place, its chain behind a pipe.
	if err := certs.WriteKeyFile(keyPath, second.PrivateKey.(crypto.Signer)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(certPath); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(certPath, 0o644); err != nil {
		t.Fatal(err)
	}

	type result struct {
		renewed bool
		err     error
	}
	reloaded := make(chan result, 1)
	go func() {
		renewed, err := h.RenewServerCert(now)
		reloaded <- result{renewed, err}
	}()
	// Let the reload reach the pipe; it cannot get past it.
	time.Sleep(50 * time.Millisecond)
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

	// Feed the pipe: the reload ends, and serves the renewal.
	w, err := os.OpenFile(certPath, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(chainPEM); err != nil {
		t.Fatal(err)
	}
	w.Close()
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
