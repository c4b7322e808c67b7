//go:build unix

package authenticator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadgeFileSymlinkIsRefused: a badge file that is a symbolic link is refused like any other
// file that is not a regular file. Followed, it would let the badge live in a directory nobody
// checks (one that others may write, who could then rename their own file over it), and the
// first tap's write would replace the link with a regular file, leaving the target behind as a
// second copy of the private keys with an older counter: a clone nobody made on purpose. A
// dangling link is refused too, rather than replaced by a new badge on a registration.
func TestBadgeFileSymlinkIsRefused(t *testing.T) {
	ctx := t.Context()
	hash := make([]byte, 32)
	elsewhere := t.TempDir()
	target := newTestSoft(t, elsewhere, "ana", SoftOptions{NoSync: true})
	if _, err := target.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(target.Path())
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	link := filepath.Join(dir, "ana.json")
	if err := os.Symlink(target.Path(), link); err != nil {
		t.Fatal(err)
	}
	_, err = NewSoft(dir, "ana", SoftOptions{NoSync: true})
	if !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("NewSoft on a symlinked badge file: %v, want ErrInvalidBadge naming the symbolic link", err)
	}
	linked := &Soft{path: link, opts: target.opts, cbor: target.cbor}
	if _, err := linked.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash}); !errors.Is(err, ErrInvalidBadge) {
		t.Errorf("tap of a symlinked badge file: %v, want ErrInvalidBadge", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v, %v)", fi.Mode(), err)
	}
	if after, err := os.ReadFile(target.Path()); err != nil || string(after) != string(before) {
		t.Errorf("the link's target changed (%v)", err)
	}

	// A dangling link is not a missing badge: a registration must not replace it.
	dangling := filepath.Join(dir, "bo.json")
	if err := os.Symlink(filepath.Join(elsewhere, "gone.json"), dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSoft(dir, "bo", SoftOptions{NoSync: true}); !errors.Is(err, ErrInvalidBadge) {
		t.Errorf("NewSoft on a dangling symlink: %v, want ErrInvalidBadge", err)
	}
	bo := &Soft{path: dangling, opts: target.opts, cbor: target.cbor}
	if _, err := bo.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("b"), ResidentKey: true}); !errors.Is(err, ErrInvalidBadge) {
		t.Errorf("registration on a dangling symlink: %v, want ErrInvalidBadge", err)
	}
	if fi, err := os.Lstat(dangling); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the dangling link was replaced (%v, %v)", fi.Mode(), err)
	}
}
