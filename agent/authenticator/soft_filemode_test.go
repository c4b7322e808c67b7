//go:build unix

package authenticator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestBadgeFileReadableByOthersIsRefused: a badge file holds private keys, so one that group or
// others may read (or write: a rolled-back counter or a planted key) is refused, as ssh refuses
// such an identity file, both when the badge is opened and on a later tap; so is a path that is
// not a regular file. chmod 600 makes it usable again.
func TestBadgeFileReadableByOthersIsRefused(t *testing.T) {
	ctx := t.Context()
	hash := make([]byte, 32)
	dir := t.TempDir()
	badge := newTestSoft(t, dir, "ana", SoftOptions{})
	if _, err := badge.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	get := func(s *Soft) error {
		_, err := s.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash})
		return err
	}

	for _, mode := range []os.FileMode{0o640, 0o604, 0o620, 0o602, 0o644} {
		if err := os.Chmod(badge.Path(), mode); err != nil {
			t.Fatal(err)
		}
		_, err := NewSoft(dir, "ana", SoftOptions{})
		if !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("NewSoft with mode %04o: %v, want ErrInvalidBadge telling to chmod 600", mode, err)
		}
		if err := get(badge); !errors.Is(err, ErrInvalidBadge) {
			t.Errorf("tap with mode %04o: %v, want ErrInvalidBadge", mode, err)
		}
	}
	if err := os.Chmod(badge.Path(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := get(newTestSoft(t, dir, "ana", SoftOptions{})); err != nil {
		t.Errorf("after chmod 600: %v", err)
	}

	// A FIFO is not read (it would block the tap until someone writes to it).
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSoft(dir, "pipe", SoftOptions{}); !errors.Is(err, ErrInvalidBadge) {
		t.Errorf("NewSoft on a FIFO: %v, want ErrInvalidBadge", err)
	}
}
