package profiles

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileSizeLimit: a profile file larger than maxFileBytes is refused by
// Load and LoadDir with a *ValidationError naming it, before it is read
// whole; LoadDir reports it with the other files' problems.
func TestFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("generic-x86.json")
	if err != nil {
		t.Fatal(err)
	}
	// The built-in profile, indented past the limit: valid but for its size.
	big := append([]byte("{"+strings.Repeat(" ", maxFileBytes)), bytes.TrimPrefix(bytes.TrimSpace(good), []byte("{"))...)
	for name, data := range map[string][]byte{"generic-x86.json": big, "dock-2.json": []byte(`{"version": 1, "name": "dock-3"}`)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "generic-x86.json")
	tooLarge := func(err error) bool {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return false
		}
		for _, p := range ve.Problems {
			if p.File == path && strings.Contains(p.Message, "larger than") {
				return true
			}
		}
		return false
	}
	if p, err := Load(path); p != nil || !tooLarge(err) {
		t.Errorf("Load of a %d-byte profile: %v, want a *ValidationError saying it is too large", len(big), err)
	}
	got, err := LoadDir(dir)
	if got != nil || !tooLarge(err) || !strings.Contains(err.Error(), "dock-2.json") {
		t.Errorf("LoadDir: %v, want the size problem and dock-2.json's", err)
	}
	// The same profile at its size loads.
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Errorf("Load of the built-in profile: %v", err)
	}
}
