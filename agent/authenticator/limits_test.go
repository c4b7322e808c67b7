package authenticator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadgeFileSizeLimit: a badge file larger than maxBadgeBytes is refused
// as an invalid badge when it is opened, before it is read whole.
func TestBadgeFileSizeLimit(t *testing.T) {
	dir := t.TempDir()
	// Valid JSON but for its size: the indentation a hand edit might leave.
	big := strings.Replace(validBadge, `"version": 1`, `"version":`+strings.Repeat(" ", maxBadgeBytes)+`1`, 1)
	if err := os.WriteFile(filepath.Join(dir, "ana.json"), []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewSoft(dir, "ana", SoftOptions{})
	if !errors.Is(err, ErrInvalidBadge) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("NewSoft on a %d-byte badge: %v, want ErrInvalidBadge saying it is too large", len(big), err)
	}
	// The same badge at its normal size loads.
	if err := os.WriteFile(filepath.Join(dir, "ana.json"), []byte(validBadge), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSoft(dir, "ana", SoftOptions{}); err != nil {
		t.Errorf("NewSoft on the valid badge: %v", err)
	}
}

// TestFullBadgeRefusesRegistration: a registration that would write a
// badge file larger than maxBadgeBytes (one it could not read back) fails
// as an invalid badge and leaves the file as it was.
func TestFullBadgeRefusesRegistration(t *testing.T) {
	b, err := parseBadge([]byte(validBadge))
	if err != nil {
		t.Fatal(err)
	}
	proto := b.Credentials[0]
	withCreds := func(n int) *badge {
		out := *b
		out.Credentials = make([]credential, n)
		for i := range out.Credentials {
			c := proto
			c.ID = bytes.Clone(proto.ID)
			binary.BigEndian.PutUint32(c.ID, uint32(i))
			out.Credentials[i] = c
		}
		return &out
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ana.json")
	size := func(n int) int {
		if err := writeBadge(path, withCreds(n), nil); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return int(fi.Size())
	}
	one, two := size(1), size(2)
	per := two - one
	n := 1 + (maxBadgeBytes-one)/per // the most credentials that fit
	if got := size(n); got > maxBadgeBytes || got+per <= maxBadgeBytes {
		t.Fatalf("%d credentials take %d bytes: not the fullest badge (%d per credential)", n, got, per)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeBadge(path, withCreds(n+1), nil); !errors.Is(err, ErrInvalidBadge) || !errors.Is(err, ErrKeyStoreFull) {
		t.Errorf("writing %d credentials: %v, want ErrInvalidBadge and ErrKeyStoreFull", n+1, err)
	}

	// Through Soft: the full badge loads, and a registration on it is
	// refused without touching the file.
	s, err := NewSoft(dir, "ana", SoftOptions{})
	if err != nil {
		t.Fatalf("the fullest badge does not load: %v", err)
	}
	_, err = s.MakeCredential(t.Context(), CreateRequest{RPID: testRPID, ClientDataHash: make([]byte, 32), UserHandle: []byte("new"), UserName: "new", ResidentKey: true})
	if !errors.Is(err, ErrInvalidBadge) || !errors.Is(err, ErrKeyStoreFull) {
		t.Errorf("registration on a full badge: %v, want ErrInvalidBadge and ErrKeyStoreFull", err)
	}
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the full badge file changed (%v)", err)
	}
}
