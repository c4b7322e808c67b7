//go:build unix

package authenticator

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// ownedBy is a FileInfo whose owner is uid.
type ownedBy struct {
	fs.FileInfo
	uid uint32
}

func (o ownedBy) Sys() any { return &syscall.Stat_t{Uid: o.uid} }

// TestCheckOwner: a badge file or directory must belong to the agent's user or to root; its
// owner may chmod it whatever its mode, so another user's is refused with the chown that fixes
// it.
func TestCheckOwner(t *testing.T) {
	fi, err := os.Stat(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		owner     uint32
		euid      int
		wantError bool
	}{
		{name: "own", owner: 1000, euid: 1000},
		{name: "root's", owner: 0, euid: 1000},
		{name: "root's for root", owner: 0, euid: 0},
		{name: "another user's", owner: 4242, euid: 1000, wantError: true},
		{name: "a worker's for root", owner: 4242, euid: 0, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkOwnerOf("/badges/ana.json", ownedBy{fi, tc.owner}, tc.euid)
			if !tc.wantError {
				if err != nil {
					t.Errorf("checkOwnerOf: %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "chown ") || !strings.Contains(err.Error(), "uid 4242") {
				t.Errorf("checkOwnerOf: %v, want an error naming uid 4242 and the chown that fixes it", err)
			}
		})
	}
}

// TestBadgeOwnedByAnotherUserIsRefused: with the agent running as root (to run session apps as
// a session user), a badge file or directory handed to another user (the session user, say) is
// refused on NewSoft and on a tap, until it is chowned back. Only root can give a file away, so
// the test runs its checks only as root; TestCheckOwner covers the rule for everyone.
func TestBadgeOwnedByAnotherUserIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root (CI runs as root); TestCheckOwner covers the rule")
	}
	ctx := t.Context()
	hash := make([]byte, 32)
	dir := filepath.Join(t.TempDir(), "badges")
	badge, err := NewSoft(dir, "ana", SoftOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := badge.MakeCredential(ctx, CreateRequest{RPID: testRPID, ClientDataHash: hash, UserHandle: []byte("u"), ResidentKey: true}); err != nil {
		t.Fatal(err)
	}
	tap := func() error {
		_, err := badge.GetAssertion(ctx, GetRequest{RPID: testRPID, ClientDataHash: hash})
		return err
	}
	for _, path := range []string{badge.Path(), dir} {
		if err := os.Chown(path, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if _, err := NewSoft(dir, "ana", SoftOptions{NoSync: true}); !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), "chown 0 "+path) {
			t.Errorf("NewSoft with %s owned by uid 4242: %v, want ErrInvalidBadge saying chown 0 %s", path, err, path)
		}
		if err := tap(); !errors.Is(err, ErrInvalidBadge) {
			t.Errorf("tap with %s owned by uid 4242: %v, want ErrInvalidBadge", path, err)
		}
		if err := os.Chown(path, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := tap(); err != nil {
			t.Errorf("tap after chown 0 %s: %v", path, err)
		}
	}
}
