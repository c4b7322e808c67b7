//go:build unix

package authenticator

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestBadgeDirWritableByOthersIsRefused: whoever may write the badge directory may rename a
// file of their own over a badge file, whatever the badge file's mode. A directory group or
// others may write (sticky or not) is refused, when a badge is opened, on a tap and on a
// first registration (which then leaves no file behind), with an error saying chmod 700 DIR;
// a directory others may only read is fine, and chmod 700 makes a refused one usable again.
func TestBadgeDirWritableByOthersIsRefused(t *testing.T) {
	ctx := t.Context()
	hash := make([]byte, 32)
	dir := t.TempDir()
	badge := newTestSoft(t, dir, "ana", SoftOptions{NoSync: true})
	if _, err := badge.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	wantFix := "chmod 700 " + dir

	for _, mode := range []os.FileMode{0o777, 0o770, 0o702, 0o720, 0o777 | os.ModeSticky} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		_, err := NewSoft(dir, "ana", SoftOptions{})
		if !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), wantFix) {
			t.Errorf("NewSoft in a %v directory: %v, want ErrInvalidBadge saying %q", mode, err, wantFix)
		}
		if _, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash}); !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), wantFix) {
			t.Errorf("tap in a %v directory: %v, want ErrInvalidBadge saying %q", mode, err, wantFix)
		}
		// A badge not yet created: NewSoft cannot tell, its first registration must.
		_, err = NewSoft(dir, "bo", SoftOptions{})
		if !errors.Is(err, ErrInvalidBadge) {
			t.Errorf("NewSoft of a new badge in a %v directory: %v, want ErrInvalidBadge", mode, err)
		}
		bo := &Soft{path: filepath.Join(dir, "bo.json"), opts: badge.opts, cbor: badge.cbor}
		_, err = bo.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("b"), ResidentKey: true})
		if !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), wantFix) {
			t.Errorf("first registration in a %v directory: %v, want ErrInvalidBadge saying %q", mode, err, wantFix)
		}
		if _, err := os.Stat(bo.Path()); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("first registration in a %v directory left a badge file (%v)", mode, err)
		}
	}

	for _, mode := range []os.FileMode{0o755, 0o750, 0o700} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := newTestSoft(t, dir, "ana", SoftOptions{NoSync: true}).GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash}); err != nil {
			t.Errorf("tap in a %v directory: %v", mode, err)
		}
	}
}

// TestNewBadgeDirIsSyncedIntoItsParent: the first registration of a badge creates its
// directory (and any missing parents); each new directory's entry is fsynced into its parent,
// or a crash could lose the directory, and with it the badge just registered, although the
// badge file itself was fsynced. An existing directory's parent is not fsynced again, and
// NoSync fsyncs nothing.
func TestNewBadgeDirIsSyncedIntoItsParent(t *testing.T) {
	ctx := t.Context()
	hash := make([]byte, 32)
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "badges")

	var (
		mu     sync.Mutex
		synced []string
	)
	record := func(s *Soft) {
		s.dirSync = func(d string) error {
			mu.Lock()
			synced = append(synced, d)
			mu.Unlock()
			return syncDir(d)
		}
	}
	ana := newTestSoft(t, dir, "ana", SoftOptions{})
	record(ana)
	if _, err := ana.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	for _, parent := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b")} {
		if !slices.Contains(synced, parent) {
			t.Errorf("fsynced %q, not %q, the parent of a directory the registration created", synced, parent)
		}
	}
	if !slices.Contains(synced, dir) {
		t.Errorf("fsynced %q, not the badge directory %q after the rename", synced, dir)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("badge directory: %v, %v; want mode 0700", fi, err)
	}

	// The directory exists now: a second badge syncs the directory, not its parent.
	synced = nil
	bo := newTestSoft(t, dir, "bo", SoftOptions{})
	record(bo)
	if _, err := bo.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("b"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(synced, filepath.Join(root, "a", "b")) {
		t.Errorf("fsynced %q: the parent of a directory that already existed", synced)
	}

	// NoSync (load tests) leaves dirSync nil: nothing to record, and nothing fails.
	cy := newTestSoft(t, filepath.Join(root, "c"), "cy", SoftOptions{NoSync: true})
	if cy.dirSync != nil {
		t.Error("NoSync badge fsyncs directories")
	}
	if _, err := cy.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("c"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
}
