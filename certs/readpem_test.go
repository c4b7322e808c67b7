package certs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/certs"
)

// TestReadPEMFile: operator-given PEM files (a CA bundle, attestation or
// metadata roots) are read up to 1 MiB; a bigger file, a path given by
// mistake, is refused naming it, and a missing one is fs.ErrNotExist.
func TestReadPEMFile(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "disk.img")
	if err := os.WriteFile(small, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, make([]byte, 1<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := certs.ReadPEMFile(small); err != nil || len(b) == 0 {
		t.Errorf("small file: %d bytes, %v", len(b), err)
	}
	if _, err := certs.ReadPEMFile(big); err == nil || !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), big) {
		t.Errorf("1 MiB + 1 file: %v, want refused naming it", err)
	}
	if _, err := certs.ReadPEMFile(filepath.Join(dir, "none.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
}
