package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// TestLoadKeyPairKeepsUnreadablePending: after a crash between the key's
// rename and the certificate's, device.pem.next is the only certificate for
// the key in place. A failure to read it (here a directory in its place,
// which reads as EISDIR, as EIO or EMFILE would fail) must not delete it:
// start-up fails and says why, and the next start after the cause is gone
// finishes the renewal. Only a pending file that was read and is unusable
// is discarded.
func TestLoadKeyPairKeepsUnreadablePending(t *testing.T) {
	dir, _, second := renewingPair(t)
	// The crash: the new key renamed into place, its certificate not.
	mustNoErr(t, certs.WriteKeyFile(filepath.Join(dir, KeyFile), signer(second)))
	nextCert := filepath.Join(dir, CertFile+nextSuffix)
	mustNoErr(t, os.Mkdir(nextCert, 0o700))

	_, err := loadKeyPair(dir)
	if err == nil {
		t.Fatal("loaded a key pair, want the unreadable pending certificate reported")
	}
	t.Log(err)
	for _, want := range []string{"interrupted device certificate renewal", CertFile + nextSuffix, "kept"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if fi, err := os.Stat(nextCert); err != nil || !fi.IsDir() {
		t.Fatalf("the pending certificate was removed (%v)", err)
	}

	// The cause gone (the read works again), the renewal is finished.
	mustNoErr(t, os.Remove(nextCert))
	mustNoErr(t, certs.WriteCertFile(nextCert, second.Certificate[0]))
	got, err := loadKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Leaf.Equal(second.Leaf) {
		t.Error("wrong certificate after recovery")
	}
	if exists(nextCert) {
		t.Error(".next certificate left")
	}
}

// TestLoadKeyPairDiscardsGarbledPending: a pending pair that was read and
// does not decode, or whose certificate is not the key's, is discarded and
// the installed pair kept.
func TestLoadKeyPairDiscardsGarbledPending(t *testing.T) {
	pki := certstest.New(t)
	first := pki.Device(t, "kiosk-1")
	second := pki.Device(t, "kiosk-1")
	third := pki.Device(t, "kiosk-1")
	for _, tc := range []struct {
		name string
		cert func(path string) error // writes the pending certificate
	}{
		{name: "does not decode", cert: func(path string) error {
			return os.WriteFile(path, []byte("-----BEGIN CERTIFICATE-----\ngarbled"), 0o644)
		}},
		{name: "another key's certificate", cert: func(path string) error {
			return certs.WriteCertFile(path, third.Certificate[0])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustNoErr(t, writeKeyPair(dir, signer(first), first.Certificate[0]))
			mustNoErr(t, certs.WriteKeyFile(filepath.Join(dir, KeyFile+nextSuffix), signer(second)))
			mustNoErr(t, tc.cert(filepath.Join(dir, CertFile+nextSuffix)))
			got, err := loadKeyPair(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Leaf.Equal(first.Leaf) {
				t.Error("the installed certificate was not kept")
			}
			if exists(filepath.Join(dir, KeyFile+nextSuffix)) || exists(filepath.Join(dir, CertFile+nextSuffix)) {
				t.Error(".next files left")
			}
		})
	}
}
