package audit_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// noRecords is a trail without records, for making the key files as a
// new hub makes them.
type noRecords struct{}

func (noRecords) ListAudit(context.Context, store.AuditQuery) ([]store.AuditRecord, error) {
	return nil, nil
}

// realKeyFiles are audit.key and audit-sign.key as a new hub makes them.
func realKeyFiles(f *testing.F) (key, signKey []byte) {
	dir := f.TempDir()
	if _, err := audit.LoadOrCreateKey(context.Background(), dir, noRecords{}); err != nil {
		f.Fatal(err)
	}
	if _, err := audit.LoadOrCreateSigner(context.Background(), dir, noRecords{}, nil); err != nil {
		f.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dir, audit.KeyFile))
	if err != nil {
		f.Fatal(err)
	}
	signKey, err = os.ReadFile(filepath.Join(dir, audit.SignKeyFile))
	if err != nil {
		f.Fatal(err)
	}
	return key, signKey
}

// writeKeyFile puts data at dir/name with mode perm (chmod, so that the
// umask does not change it).
func writeKeyFile(t *testing.T, dir, name string, data []byte, perm fs.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

// keyFilePerm is the mode a fuzzed key file is written with: mostly the
// 0600 the hub makes, sometimes one a careless copy gives.
func keyFilePerm(loose bool) fs.FileMode {
	if loose {
		return 0o640
	}
	return 0o600
}

// FuzzLoadKey: audit.key comes back from outside the hub when an operator
// restores or copies it, or a crash leaves it short. Whatever the file
// holds, LoadKey takes exactly its 32 bytes, never a key of zeros (which
// anyone could seal records with) and never a file others can read; what
// it refuses is refused with an error that names the file and says what to
// do, never a panic.
func FuzzLoadKey(f *testing.F) {
	key, signKey := realKeyFiles(f)
	f.Add(key, false)
	f.Add(key, true)
	f.Add(key[:16], false)
	f.Add(append(bytes.Clone(key), '\n'), false)
	f.Add(make([]byte, 32), false)
	f.Add([]byte{}, false)
	f.Add(signKey, false)
	f.Fuzz(func(t *testing.T, data []byte, loose bool) {
		dir := t.TempDir()
		path := writeKeyFile(t, dir, audit.KeyFile, data, keyFilePerm(loose))
		got, err := audit.LoadKey(dir)
		if err != nil {
			if got != nil {
				t.Fatalf("LoadKey returned a key with error %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || (!strings.Contains(msg, "restore it") && !strings.Contains(msg, "chmod 600")) {
				t.Fatalf("LoadKey(%q) error does not name the file and say what to do: %v", data, err)
			}
			return
		}
		switch {
		case loose:
			t.Fatalf("LoadKey took a key file of mode %v", keyFilePerm(loose))
		case !bytes.Equal(got, data) || len(got) != 32:
			t.Fatalf("LoadKey = %x, want the file's 32 bytes %x", got, data)
		case bytes.Count(got, []byte{0}) == len(got):
			t.Fatalf("LoadKey took a key of zeros")
		}
	})
}

// FuzzLoadSigner: audit-sign.key, like audit.key, may be restored, copied
// or edited by hand. LoadSigner takes only one PEM PRIVATE KEY block
// holding a PKCS #8 Ed25519 key, not the well-known one of a zero seed,
// from a file only its owner can read, and the key it takes written back
// as the hub writes it loads as the same key; anything else is an error
// that names the file and says what to do, never a panic.
func FuzzLoadSigner(f *testing.F) {
	key, signKey := realKeyFiles(f)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			f.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signKey, false)
	f.Add(signKey, true)
	f.Add(bytes.ReplaceAll(signKey, []byte("\n"), []byte("\r\n")), false)
	f.Add(signKey[:len(signKey)/2], false)
	f.Add(append(bytes.Clone(signKey), signKey...), false)
	f.Add(append(bytes.Clone(signKey), "# restored 2026-03-01\n"...), false)
	f.Add(bytes.Replace(signKey, []byte("PRIVATE KEY"), []byte("PUBLIC KEY"), 2), false)
	f.Add(pkcs8(ec), false)
	f.Add(pkcs8(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))), false)
	f.Add(key, false)
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, loose bool) {
		dir := t.TempDir()
		path := writeKeyFile(t, dir, audit.SignKeyFile, data, keyFilePerm(loose))
		s, err := audit.LoadSigner(dir)
		if err != nil {
			if s != nil {
				t.Fatalf("LoadSigner returned a signer with error %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || (!strings.Contains(msg, "restore it") && !strings.Contains(msg, "chmod 600")) {
				t.Fatalf("LoadSigner(%q) error does not name the file and say what to do: %v", data, err)
			}
			return
		}
		if loose {
			t.Fatalf("LoadSigner took a key file of mode %v", keyFilePerm(loose))
		}
		block, _ := pem.Decode(data)
		if block == nil || block.Type != "PRIVATE KEY" {
			t.Fatalf("LoadSigner took a file that is not a PEM PRIVATE KEY: %q", data)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			t.Fatalf("LoadSigner took a key that is not PKCS #8: %v", err)
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok || !priv.Public().(ed25519.PublicKey).Equal(s.PublicKey()) {
			t.Fatalf("LoadSigner = key %s, not the file's Ed25519 key (%T)", s.KeyID(), k)
		}
		if bytes.Equal(priv.Seed(), make([]byte, ed25519.SeedSize)) {
			t.Fatalf("LoadSigner took the key of a zero seed")
		}
		again := t.TempDir()
		writeKeyFile(t, again, audit.SignKeyFile, pkcs8Of(t, priv), 0o600)
		back, err := audit.LoadSigner(again)
		if err != nil || back.KeyID() != s.KeyID() {
			t.Fatalf("key %s written back loads as %v, %v", s.KeyID(), back, err)
		}
	})
}

// pkcs8Of is priv as the hub writes audit-sign.key.
func pkcs8Of(t *testing.T, priv ed25519.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TestKeyFilesRefused: a damaged or hand-made key file is refused with
// what to do, and a key of zeros is never taken: records sealed under a
// zero audit key, or exports signed with the key of a zero seed, could be
// made by anyone.
func TestKeyFilesRefused(t *testing.T) {
	zeroSeed, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		data []byte
		want string
	}{
		{"audit key of zeros", audit.KeyFile, make([]byte, 32), "all zero bytes"},
		{"audit key cut short", audit.KeyFile, []byte("0123456789"), "10 bytes, want 32"},
		{"signing key of a zero seed", audit.SignKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: zeroSeed}), "zero seed"},
		{"signing key cut short", audit.SignKeyFile, []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2Vw"), "not one PEM PRIVATE KEY block"},
		{"signing key of garbage", audit.SignKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")}), "audit signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeKeyFile(t, dir, tt.file, tt.data, 0o600)
			var err error
			if tt.file == audit.KeyFile {
				_, err = audit.LoadKey(dir)
			} else {
				_, err = audit.LoadSigner(dir)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "restore it") {
				t.Fatalf("error %v; want one naming %s, saying %q and what to do", err, path, tt.want)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("error %v reads as a missing key", err)
			}
		})
	}
}
