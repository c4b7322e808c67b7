package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
)

// Stray files as a crash leaves them beside audit-sign.key and
// audit-sign.pub: the names writeAside gives them (os.CreateTemp's
// ".audit-sign.key.*" and ".audit-sign.pub.*").
const (
	straySignTemp = ".audit-sign.key.123"
	strayPubTemp  = ".audit-sign.pub.4567"
)

// signKeyPEM is seed's signing key as audit-sign.key holds it.
func signKeyPEM(t *testing.T, seed byte) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// keyIDOf names s in a failure without printing its private key ("none"
// for nil).
func keyIDOf(s *audit.Signer) string {
	if s == nil {
		return "none"
	}
	return s.KeyID()
}

// TestStraySignKeyTempRemoved: a hub or CLI command that crashed while it
// made audit-sign.key left the private key it wrote beside it
// (".audit-sign.key.NNN", 0600) in the data directory for good, where
// every backup took it along; one that crashed while it wrote
// audit-sign.pub left a copy of that. The next start removes both, and
// says so by name, without the key's contents; audit-sign.key is kept as
// it was, also when the stray is a hard link to it (a crash after the key
// was linked into place). What only looks like one is left alone: other
// names, a symlink (its target not touched) and a directory, and the
// temporaries of audit.head, which the hub's watcher writes without the
// lock under which these are removed.
func TestStraySignKeyTempRemoved(t *testing.T) {
	for _, tt := range []struct {
		name    string
		withKey bool // a signing key in place before the start
		stray   func(t *testing.T, dir, key string)
	}{
		{"beside the key", true, func(t *testing.T, dir, _ string) {
			writeKeyFile(t, dir, straySignTemp, signKeyPEM(t, 7), 0o600)
		}},
		{"linked to the key", true, func(t *testing.T, dir, key string) {
			if err := os.Link(key, filepath.Join(dir, straySignTemp)); err != nil {
				t.Fatal(err)
			}
		}},
		{"no key yet", false, func(t *testing.T, dir, _ string) {
			writeKeyFile(t, dir, straySignTemp, signKeyPEM(t, 7), 0o600)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			dir := t.TempDir()
			path := filepath.Join(dir, audit.SignKeyFile)
			var want []byte
			if tt.withKey {
				if _, err := audit.LoadOrCreateSigner(ctx, dir, noRecords{}, nil); err != nil {
					t.Fatal(err)
				}
				var err error
				if want, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
			}
			tt.stray(t, dir, path)
			writeKeyFile(t, dir, strayPubTemp, []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644)
			// Not the names this code removes: kept.
			othersKept := notOurs(t, dir, ".audit-sign.key.", ".audit-sign.key.12x", ".audit-sign.pub.12.bak", "audit-sign.key.123", ".audit.head.123", ".audit-sign.key")
			lookalikesKept := lookalikes(t, dir, ".audit-sign.key.111", ".audit-sign.pub.222")

			var logged bytes.Buffer
			s, err := audit.LoadOrCreateSigner(ctx, dir, noRecords{}, slog.New(slog.NewTextHandler(&logged, nil)))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{straySignTemp, strayPubTemp} {
				if _, err := os.Lstat(filepath.Join(dir, name)); !os.IsNotExist(err) {
					t.Errorf("stray %s after the start: %v, want it removed", name, err)
				}
				if !strings.Contains(logged.String(), name) {
					t.Errorf("log %q: want it to name %s", logged.String(), name)
				}
			}
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want != nil && !bytes.Equal(onDisk, want) {
				t.Errorf("signing key file %q, want the one in place %q", onDisk, want)
			}
			if loaded, err := audit.LoadSigner(dir); err != nil || loaded.KeyID() != s.KeyID() {
				t.Fatalf("signing key on disk: key %s, %v: want the signer's, %s", keyIDOf(loaded), err, s.KeyID())
			}
			if pub, err := audit.ReadPublicKey(filepath.Join(dir, audit.PublicKeyFile)); err != nil || !pub.Equal(s.PublicKey()) {
				t.Errorf("public key file: %x, %v: want the signer's", pub, err)
			}
			othersKept()
			lookalikesKept()
			if strings.Contains(logged.String(), "PRIVATE KEY") {
				t.Errorf("log %q holds a key's contents", logged.String())
			}
		})
	}
}

// TestStraySignKeyTempOfARunningProcessKept: the signing key another
// process is writing beside audit-sign.key at this moment is not a
// stray. That process holds the data directory's flock while it writes
// and places the key, so a start beside it waits for the lock instead of
// removing the file half-written (and making a second key, which the
// first would then sign exports with no auditor's public key checks), and
// then reads the key put in place.
func TestStraySignKeyTempOfARunningProcessKept(t *testing.T) {
	keyID, err := keyPlacedWhileWaiting(t, "start beside a signing key being written", audit.SignKeyFile, straySignTemp, signKeyPEM(t, 9),
		func(ctx context.Context, dir string) (string, error) {
			s, err := audit.LoadOrCreateSigner(ctx, dir, noRecords{}, nil)
			return keyIDOf(s), err
		})
	if want := signerFrom(t, 9).KeyID(); err != nil || keyID != want {
		t.Fatalf("start beside a signing key being written: key %s, %v: want the key the other put in place, %s", keyID, err, want)
	}
}
