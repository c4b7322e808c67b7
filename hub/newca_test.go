package hub_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestLostCARefused: a hub whose CA files are gone (a restore without
// them) while kiosks are enrolled with that CA does not quietly make a
// new one, which would cut every kiosk off; it says what to do, and makes
// one when told to (--new-ca). Without enrolled kiosks a new CA is no
// loss and is made.
func TestLostCARefused(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	h.EnrollKiosk(t, "north-1", "north")
	h.Stop()
	dir := h.DataDir
	removeCA(t, dir)
	cfg := hub.Config{DataDir: dir, Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"}
	s, err := hub.New(t.Context(), cfg)
	if err == nil {
		s.Close()
		t.Fatal("the hub started with a new CA while a kiosk is enrolled with the lost one")
	}
	for _, want := range []string{"kiosks are enrolled with it (1 active)", "restore both files", "--new-ca"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, certs.CACertFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a refused start left a CA behind: %v", err)
	}

	cfg.NewCA = true
	s, err = hub.New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("with NewCA: %v", err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, certs.CACertFile)); err != nil {
		t.Errorf("no new CA with NewCA: %v", err)
	}
}

// TestLostCAWithoutKiosks: a hub that never enrolled a kiosk makes a new
// CA without asking.
func TestLostCAWithoutKiosks(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	h.Stop()
	removeCA(t, h.DataDir)
	s, err := hub.New(t.Context(), hub.Config{DataDir: h.DataDir, Listen: "127.0.0.1:0", PublicURL: "https://localhost:8443"})
	if err != nil {
		t.Fatalf("a hub without kiosks refused a new CA: %v", err)
	}
	s.Close()
}

// removeCA removes the hub CA's files from a stopped hub's data
// directory, as a restore without them leaves it.
func removeCA(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{certs.CACertFile, certs.CAKeyFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
}
