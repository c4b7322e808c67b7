package agent

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// renewingPair is a state directory with kiosk-1's key pair, first,
// installed, and second, the pair a renewal replaces it with, from the same
// CA: the test writes the files of second that the crash it plays left.
func renewingPair(t *testing.T) (dir string, first, second *tls.Certificate) {
	t.Helper()
	pki := certstest.New(t)
	first, second = pki.Device(t, "kiosk-1"), pki.Device(t, "kiosk-1")
	dir = t.TempDir()
	mustNoErr(t, writeKeyPair(dir, signer(first), first.Certificate[0]))
	return dir, first, second
}

// TestLoadKeyPairStartsOnInstalledPairBeforeRename: after a crash before
// the renames, both pending files are there and the installed key and
// certificate still match: a pending certificate that cannot be read then
// costs only the renewal (the agent renews again; the hub takes the
// certificate it replaced for a while), and must not keep the kiosk from
// starting, as an unreadable one must when the key was already renamed.
func TestLoadKeyPairStartsOnInstalledPairBeforeRename(t *testing.T) {
	dir, first, second := renewingPair(t)
	// The crash: both pending files written, neither renamed; the
	// certificate reads as EISDIR, as EIO or EMFILE would fail.
	mustNoErr(t, certs.WriteKeyFile(filepath.Join(dir, KeyFile+nextSuffix), signer(second)))
	mustNoErr(t, os.Mkdir(filepath.Join(dir, CertFile+nextSuffix), 0o700))

	got, err := loadKeyPair(dir)
	if err != nil {
		t.Fatalf("an unreadable pending certificate beside an installed pair that matches: %v; want the installed pair", err)
	}
	if !got.Leaf.Equal(first.Leaf) {
		t.Error("not the installed certificate")
	}
}
