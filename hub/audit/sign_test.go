package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// signerFrom is a Signer with a fixed key, one per seed byte.
func signerFrom(t testing.TB, seed byte) *audit.Signer {
	t.Helper()
	s, err := audit.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signedExport exports st's records after `after`, signed by s after
// checking them under key.
func signedExport(t *testing.T, st store.Store, s *audit.Signer, key []byte, after int64) string {
	t.Helper()
	var b bytes.Buffer
	if _, err := audit.Export(t.Context(), st, after, &b, audit.WithSigner(s, key)); err != nil {
		t.Fatalf("signed Export: %v", err)
	}
	return b.String()
}

// trailerOf splits an export into its record lines and its trailer's
// fields, read as any JSON reader reads them.
func trailerOf(t *testing.T, export string) ([]string, map[string]any) {
	t.Helper()
	lines := strings.SplitAfter(strings.TrimSuffix(export, "\n"), "\n")
	var m struct{ Signature map[string]any }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil || m.Signature == nil {
		t.Fatalf("last line is not a signature trailer: %q, %v", lines[len(lines)-1], err)
	}
	return lines[:len(lines)-1], m.Signature
}

// withTrailer puts a trailer with the given fields after lines, in the
// field order Export writes.
func withTrailer(lines []string, f map[string]any) string {
	line := fmt.Sprintf(`{"signature":{"alg":%q,"key_id":%q,"after":%v,"records":%v,"head":%q,"sha256":%q,"sig":%q}}`,
		f["alg"], f["key_id"], f["after"], f["records"], f["head"], f["sha256"], f["sig"])
	return strings.Join(lines, "") + line + "\n"
}

// resign signs fields f (all but sig) with priv as the documented format
// says, computed apart from the package: what a forger with a key of their
// own does, and what an auditor's own tool checks.
func resign(priv ed25519.PrivateKey, f map[string]any) {
	msg := fmt.Sprintf("shiftgate audit export v1\n"+`{"alg":%q,"key_id":%q,"after":%v,"records":%v,"head":%q,"sha256":%q}`,
		f["alg"], f["key_id"], f["after"], f["records"], f["head"], f["sha256"])
	f["sig"] = base64.StdEncoding.EncodeToString(ed25519.Sign(priv, []byte(msg)))
}

func sha(lines []string) string {
	sum := sha256.Sum256([]byte(strings.Join(lines, "")))
	return hex.EncodeToString(sum[:])
}

func clone(f map[string]any) map[string]any {
	c := map[string]any{}
	for k, v := range f {
		c[k] = v
	}
	return c
}

// TestSignedExportFormat: the trailer is what the documentation says, so
// that an auditor can check it with tools of their own (openssl, jq,
// sha256sum): the key id is the hex SHA-256 of the public key, sha256
// covers every byte before the trailer, the signature is Ed25519 over the
// prefix and the fields' JSON in a fixed order, and the head is the last
// record as anchors write it.
func TestSignedExportFormat(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{9}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 4)
	head := mustVerify(t, key, st).Anchor()
	s := signerFrom(t, 1)
	export := signedExport(t, st, s, key, 0)
	lines, f := trailerOf(t, export)
	if len(lines) != 4 {
		t.Fatalf("export has %d record lines, want 4", len(lines))
	}
	pub := s.PublicKey()
	id := sha256.Sum256(pub)
	want := map[string]any{"alg": "Ed25519", "key_id": hex.EncodeToString(id[:]), "after": 0.0, "records": 4.0, "head": head.String(), "sha256": sha(lines)}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("trailer %s = %v, want %v", k, f[k], v)
		}
	}
	if s.KeyID() != want["key_id"] || audit.KeyID(pub) != want["key_id"] {
		t.Errorf("key id %s / %s, want %s", s.KeyID(), audit.KeyID(pub), want["key_id"])
	}
	sig, err := base64.StdEncoding.DecodeString(f["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	msg := fmt.Sprintf("shiftgate audit export v1\n"+`{"alg":"Ed25519","key_id":%q,"after":0,"records":4,"head":%q,"sha256":%q}`, want["key_id"], head, want["sha256"])
	if !ed25519.Verify(pub, []byte(msg), sig) {
		t.Errorf("the signature is not Ed25519 over %q", msg)
	}
	// The trailer this test builds is byte for byte the one Export wrote.
	if got := withTrailer(lines, f); got != export {
		t.Errorf("trailer written as\n%s\nwant\n%s", export[len(export)-200:], got[len(got)-200:])
	}
}

// TestSignedExportTamper: a signed export checked with the public key
// alone (no audit.key) is reported broken for each way its holder can
// change it, including re-signing it under a key of their own; intact,
// it verifies, and so does the same export with CRLF line ends.
func TestSignedExportTamper(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{9}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 6)
	s := signerFrom(t, 1)
	pub := s.PublicKey()
	export := signedExport(t, st, s, key, 0)
	lines, f := trailerOf(t, export)

	rep, err := audit.VerifySignedExport(pub, 0, strings.NewReader(export))
	if err != nil || rep.Records != 6 || rep.HeadSeq != 6 || rep.SignedBy != s.KeyID() || rep.Trailer == nil {
		t.Fatalf("VerifySignedExport of an intact export = %+v, %v", rep, err)
	}
	if rep, err := audit.VerifySignedExport(pub, 0, strings.NewReader(strings.ReplaceAll(export, "\n", "\r\n"))); err != nil || rep.Records != 6 {
		t.Errorf("VerifySignedExport with CRLF line ends = %+v, %v", rep, err)
	}
	if rep, err := audit.VerifySignedExport(pub, 0, strings.NewReader(strings.TrimSuffix(export, "\n"))); err != nil || rep.Records != 6 {
		t.Errorf("VerifySignedExport without the last newline = %+v, %v", rep, err)
	}

	// Another trail (other records, signed by the same hub key) and a
	// partial export of this one: their trailers.
	other := openStore(t)
	ol, _ := audit.New(key, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
	appendN(t, other, ol, 6)
	_, otherF := trailerOf(t, signedExport(t, other, s, key, 0))
	_, partF := trailerOf(t, signedExport(t, st, s, key, 2))

	attacker := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{66}, ed25519.SeedSize))
	attackerID := audit.KeyID(attacker.Public().(ed25519.PublicKey))
	set := func(k string, v any) string {
		g := clone(f)
		g[k] = v
		return withTrailer(lines, g)
	}
	drop := func(i int) []string {
		return append(append([]string(nil), lines[:i]...), lines[i+1:]...)
	}
	edited := append([]string(nil), lines...)
	edited[2] = strings.Replace(edited[2], `"actor":"test"`, `"actor":"tesT"`, 1)
	detail := append([]string(nil), lines...)
	detail[3] = strings.Replace(detail[3], `{"i":3}`, `{"i":7}`, 1)
	swapped := append([]string(nil), lines...)
	swapped[2], swapped[3] = swapped[3], swapped[2]

	type want int
	const (
		broken   want = iota + 1 // *BrokenError
		badSig                   // *SignatureError
		unsigned                 // ErrUnsigned
	)
	for _, tc := range []struct {
		name   string
		export string
		want   want
	}{
		{"a byte of a record edited", withTrailer(edited, f), badSig},
		{"a detail edited", withTrailer(detail, f), badSig},
		{"a record edited, sha256 fixed", func() string {
			g := clone(f)
			g["sha256"] = sha(edited)
			return withTrailer(edited, g)
		}(), badSig},
		{"first record dropped", withTrailer(drop(0), f), broken},
		{"middle record dropped", withTrailer(drop(3), f), broken},
		{"last record dropped", withTrailer(drop(5), f), badSig},
		{"last record dropped, count, head and sha256 fixed", func() string {
			g := clone(f)
			g["records"], g["head"], g["sha256"] = 5, "5:"+strings.Repeat("0", 64), sha(drop(5))
			return withTrailer(drop(5), g)
		}(), badSig},
		{"records swapped", withTrailer(swapped, f), broken},
		{"trailer before the last record", strings.Join(lines[:5], "") + strings.SplitAfter(export, "\n")[6] + lines[5], badSig},
		{"trailer cut off", strings.Join(lines, ""), unsigned},
		{"trailer and last record cut off", strings.Join(lines[:5], ""), unsigned},
		{"trailer cut in half", export[:len(export)-40], badSig},
		{"a line after the trailer", export + lines[0], badSig},
		{"trailer twice", export + strings.SplitAfter(export, "\n")[6], badSig},
		{"after changed", set("after", 2), badSig},
		{"records changed", set("records", 5), badSig},
		{"head changed", set("head", "5:"+strings.Repeat("ab", 32)), badSig},
		{"sha256 changed", set("sha256", strings.Repeat("0", 64)), badSig},
		{"key id changed", set("key_id", attackerID), badSig},
		{"alg changed", set("alg", "HS256"), badSig},
		{"signature changed", set("sig", base64.StdEncoding.EncodeToString(make([]byte, 64))), badSig},
		{"signature of another field", set("sig", partF["sig"]), badSig},
		{"trailer with a field added", strings.Replace(export, `{"signature":{"alg"`, `{"signature":{"note":"ok","alg"`, 1), badSig},
		{"trailer with a field repeated", strings.Replace(export, `"records":6,`, `"records":6,"records":6,`, 1), badSig},
		{"trailer from another trail", withTrailer(lines, otherF), badSig},
		{"trailer from a partial export of this trail", withTrailer(lines, partF), badSig},
		{"re-signed under another key, its own id", func() string {
			g := clone(f)
			g["key_id"] = attackerID
			resign(attacker, g)
			return withTrailer(lines, g)
		}(), badSig},
		{"re-signed under another key, claiming the hub's id", func() string {
			g := clone(f)
			resign(attacker, g)
			return withTrailer(lines, g)
		}(), badSig},
		{"edited and re-signed under another key", func() string {
			g := clone(f)
			g["sha256"] = sha(edited)
			resign(attacker, g)
			return withTrailer(edited, g)
		}(), badSig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.export == export {
				t.Fatal("the case changed nothing")
			}
			rep, err := audit.VerifySignedExport(pub, 0, strings.NewReader(tc.export))
			t.Log(err)
			var (
				b *audit.BrokenError
				s *audit.SignatureError
			)
			switch {
			case err == nil:
				t.Fatalf("VerifySignedExport vouched for it: %+v", rep)
			case tc.want == broken && !errors.As(err, &b):
				t.Errorf("VerifySignedExport = %v, want a BrokenError", err)
			case tc.want == badSig && !errors.As(err, &s):
				t.Errorf("VerifySignedExport = %v, want a SignatureError", err)
			case tc.want == unsigned && !errors.Is(err, audit.ErrUnsigned):
				t.Errorf("VerifySignedExport = %v, want ErrUnsigned", err)
			}
			if rep.SignedBy != "" {
				t.Errorf("a broken export reported as signed by %s", rep.SignedBy)
			}
			// With the key too the same export is refused.
			if _, err := audit.VerifyExport(key, 0, strings.NewReader(tc.export), audit.WithPublicKey(pub)); err == nil {
				t.Error("VerifyExport with the key and the public key vouched for it")
			}
		})
	}

	// The public key of another hub vouches for nothing.
	if _, err := audit.VerifySignedExport(signerFrom(t, 2).PublicKey(), 0, strings.NewReader(export)); err == nil || !strings.Contains(err.Error(), "not by the key you gave") {
		t.Errorf("VerifySignedExport with another hub's key = %v", err)
	}
	if _, err := audit.VerifySignedExport(nil, 0, strings.NewReader(export)); err == nil {
		t.Error("VerifySignedExport without a public key vouched for the export")
	}
}

// TestSignedExportAfterAndAnchors: an export after record N is signed and
// verified the same way, from N+1; anchors are checked against the
// records' hashes with the public key alone.
func TestSignedExportAfterAndAnchors(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{6}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 3)
	at3 := mustVerify(t, key, st).Anchor()
	appendN(t, st, l, 4)
	head := mustVerify(t, key, st).Anchor()
	s := signerFrom(t, 1)
	pub := s.PublicKey()
	full, tail := signedExport(t, st, s, key, 0), signedExport(t, st, s, key, 3)

	rep, err := audit.VerifySignedExport(pub, 3, strings.NewReader(tail))
	if err != nil || rep.Records != 4 || rep.Anchor().String() != head.String() || rep.Trailer.After != 3 {
		t.Fatalf("VerifySignedExport after 3 = %+v, %v", rep, err)
	}
	var b *audit.BrokenError
	if _, err := audit.VerifySignedExport(pub, 0, strings.NewReader(tail)); !errors.As(err, &b) || b.Seq != 1 {
		t.Errorf("an export after 3 verified as a whole one: %v", err)
	}
	// The records of a whole export, with a trailer claiming after 3.
	lines, f := trailerOf(t, full)
	g := clone(f)
	g["after"] = 3
	resign(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)), g) // s's own key: only after differs from the lines
	if _, err := audit.VerifySignedExport(pub, 0, strings.NewReader(withTrailer(lines, g))); err == nil || !strings.Contains(err.Error(), "after record 3") {
		t.Errorf("a trailer for another --after = %v", err)
	}

	for _, tc := range []struct {
		name   string
		export string
		after  int64
		anchor audit.Anchor
		ok     bool
	}{
		{"whole, anchor 3", full, 0, at3, true},
		{"whole, head", full, 0, head, true},
		{"after 3, anchor 3 (what it links to)", tail, 3, at3, true},
		{"after 3, head", tail, 3, head, true},
		{"whole, anchor 3 of another trail", full, 0, audit.Anchor{Seq: 3, Hash: head.Hash}, false},
		{"after 3, anchor 3 of another trail", tail, 3, audit.Anchor{Seq: 3, Hash: head.Hash}, false},
		{"whole, anchor past its end", full, 0, audit.Anchor{Seq: 9, Hash: head.Hash}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := audit.VerifySignedExport(pub, tc.after, strings.NewReader(tc.export), audit.WithAnchor(tc.anchor))
			if tc.ok && err != nil {
				t.Errorf("VerifySignedExport = %v", err)
			}
			if !tc.ok && !errors.As(err, &b) {
				t.Errorf("VerifySignedExport = %v, want a BrokenError", err)
			}
		})
	}

	// Nothing after the head: a signed statement of that, with no head.
	empty := signedExport(t, st, s, key, 7)
	if rep, err := audit.VerifySignedExport(pub, 7, strings.NewReader(empty)); err != nil || rep.Records != 0 || rep.Trailer.Head != "" {
		t.Errorf("VerifySignedExport of an empty export = %+v, %v", rep, err)
	}
	if _, err := audit.VerifySignedExport(pub, 7, strings.NewReader(tail)); err == nil {
		t.Error("an export after 3 verified as one after 7")
	}
}

// TestSignedExportPages: the signature covers an export of more than one
// page, hashed as it is written; with the key and the public key, and
// with the key alone (the trailer's fields then checked, the signature
// not), it verifies too.
func TestSignedExportPages(t *testing.T) {
	st := openStore(t)
	key := bytes.Repeat([]byte{3}, 32)
	l, _ := audit.New(key, nil)
	err := st.InTx(t.Context(), func(tx store.Ops) error {
		es := make([]audit.Entry, 2300)
		for i := range es {
			es[i] = audit.Entry{Actor: "a", Action: "user.update", Subject: fmt.Sprintf("user:%d", i), System: "scim"}
		}
		_, err := l.AppendMany(t.Context(), tx, es)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := signerFrom(t, 1)
	var pages []int64
	var b bytes.Buffer
	n, err := audit.Export(t.Context(), st, 0, &b, audit.WithSigner(s, key), audit.WithProgress(func(r audit.Report) { pages = append(pages, r.Records) }))
	if err != nil || n != 2300 || len(pages) != 2 {
		t.Fatalf("Export = %d, %v; progress %v", n, err, pages)
	}
	export := b.String()
	if rep, err := audit.VerifySignedExport(s.PublicKey(), 0, strings.NewReader(export)); err != nil || rep.Records != 2300 {
		t.Errorf("VerifySignedExport = %+v, %v", rep, err)
	}
	if rep, err := audit.VerifyExport(key, 0, strings.NewReader(export), audit.WithPublicKey(s.PublicKey())); err != nil || rep.SignedBy != s.KeyID() {
		t.Errorf("VerifyExport with both keys = %+v, %v", rep, err)
	}
	rep, err := audit.VerifyExport(key, 0, strings.NewReader(export))
	if err != nil || rep.SignedBy != "" || rep.Trailer == nil || rep.Trailer.KeyID != s.KeyID() {
		t.Errorf("VerifyExport with the key alone = %+v, %v", rep, err)
	}
	lines, _ := trailerOf(t, export)
	var se *audit.SignatureError
	if _, err := audit.VerifyExport(key, 0, strings.NewReader(strings.Join(lines[:2299], "")+export[strings.LastIndex(strings.TrimSuffix(export, "\n"), "\n")+1:])); !errors.As(err, &se) {
		t.Errorf("VerifyExport with the key alone of a cut export with its trailer = %v, want a SignatureError", err)
	}
	// An export without a trailer (a hub before signed exports) verifies
	// with the key as before, and not with the public key.
	unsigned := strings.Join(lines, "")
	if _, err := audit.VerifyExport(key, 0, strings.NewReader(unsigned)); err != nil {
		t.Errorf("VerifyExport of an unsigned export = %v", err)
	}
	if _, err := audit.VerifyExport(key, 0, strings.NewReader(unsigned), audit.WithPublicKey(s.PublicKey())); !errors.Is(err, audit.ErrUnsigned) {
		t.Errorf("VerifyExport of an unsigned export with a public key = %v, want ErrUnsigned", err)
	}
}

// TestExportDoesNotSignABrokenChain: a row edited in the database by
// someone without the key is exported as it is, but not signed: the
// hub's signature never vouches for records its key does not.
func TestExportDoesNotSignABrokenChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key := bytes.Repeat([]byte{4}, 32)
	l, _ := audit.New(key, nil)
	appendN(t, st, l, 5)
	exec(t, tamperer(t, path), `UPDATE audit SET actor = 'nobody' WHERE seq = 3`)

	s := signerFrom(t, 1)
	var b bytes.Buffer
	n, err := audit.Export(t.Context(), st, 0, &b, audit.WithSigner(s, key))
	var broken *audit.BrokenError
	if !errors.As(err, &broken) || broken.Seq != 3 || n != 5 {
		t.Fatalf("signed Export of an edited trail = %d, %v; want the 5 records and broken at record 3", n, err)
	}
	if strings.Contains(b.String(), `"signature"`) || strings.Count(b.String(), "\n") != 5 {
		t.Errorf("the export of a broken trail was signed, or lost records:\n%s", b.String())
	}
	if _, err := audit.VerifySignedExport(s.PublicKey(), 0, &b); !errors.Is(err, audit.ErrUnsigned) {
		t.Errorf("VerifySignedExport = %v, want ErrUnsigned", err)
	}
	// Asked to sign without a signer or a key, Export writes nothing.
	for name, opt := range map[string]audit.Option{"no signer": audit.WithSigner(nil, key), "no key": audit.WithSigner(s, nil)} {
		var b bytes.Buffer
		if _, err := audit.Export(t.Context(), st, 0, &b, opt); err == nil || b.Len() != 0 {
			t.Errorf("%s: Export = %v, wrote %d bytes", name, err, b.Len())
		}
	}
}

// TestSignKeyFiles: the signing key is made once beside audit.key (0600,
// PEM PKCS #8) with its public key (0644); a missing one is made anew even
// beside sealed records, and said at warn; a key readable by others, or
// one that is not an Ed25519 key, is refused; a public key file that is
// missing or not the key's is rewritten.
func TestSignKeyFiles(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st := openStore(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	keyPath, pubPath := filepath.Join(dir, audit.SignKeyFile), filepath.Join(dir, audit.PublicKeyFile)

	if _, err := audit.LoadSigner(dir); !errors.Is(err, audit.ErrSignKeyMissing) {
		t.Errorf("LoadSigner before there is a key: %v, want ErrSignKeyMissing", err)
	}
	if _, err := os.Stat(keyPath); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadSigner made a key: %v", err)
	}
	s1, err := audit.LoadOrCreateSigner(ctx, dir, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=INFO") || !strings.Contains(logs.String(), s1.KeyID()) {
		t.Errorf("a new hub's key: log %q, want info with its key id", logs.String())
	}
	for path, mode := range map[string]fs.FileMode{keyPath: 0o600, pubPath: 0o644} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v; want mode %v", path, fi.Mode(), err, mode)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("files left in the directory: %v", ents)
	}
	if b, _ := os.ReadFile(keyPath); !strings.HasPrefix(string(b), "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("key file: %q", b)
	}
	if pub, err := audit.ReadPublicKey(pubPath); err != nil || !pub.Equal(s1.PublicKey()) {
		t.Errorf("public key file = %x, %v; want %x", pub, err, s1.PublicKey())
	}
	s2, err := audit.LoadOrCreateSigner(ctx, dir, st, log)
	if err != nil || s2.KeyID() != s1.KeyID() {
		t.Fatalf("second load = %v, %v; want the same key", s2, err)
	}
	if s3, err := audit.LoadSigner(dir); err != nil || s3.KeyID() != s1.KeyID() {
		t.Fatalf("LoadSigner = %v, %v", s3, err)
	}

	// The public key file: missing, or another key's, is rewritten.
	os.Remove(pubPath)
	if _, err := audit.LoadOrCreateSigner(ctx, dir, st, log); err != nil {
		t.Fatal(err)
	}
	if pub, err := audit.ReadPublicKey(pubPath); err != nil || !pub.Equal(s1.PublicKey()) {
		t.Errorf("public key file after removal = %v", err)
	}
	os.WriteFile(pubPath, audit.MarshalPublicKey(signerFrom(t, 5).PublicKey()), 0o644)
	logs.Reset()
	if _, err := audit.LoadOrCreateSigner(ctx, dir, st, log); err != nil {
		t.Fatal(err)
	}
	if pub, _ := audit.ReadPublicKey(pubPath); !pub.Equal(s1.PublicKey()) || !strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("another key's public key file: not rewritten, or not said (%q)", logs.String())
	}

	// Sealed records, and the key is lost: a new one, said at warn.
	l, _ := audit.New(bytes.Repeat([]byte{1}, 32), nil)
	appendN(t, st, l, 2)
	os.Remove(keyPath)
	logs.Reset()
	s4, err := audit.LoadOrCreateSigner(ctx, dir, st, log)
	if err != nil {
		t.Fatalf("a signing key missing beside sealed records: %v, want a new one", err)
	}
	if s4.KeyID() == s1.KeyID() || !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), s4.KeyID()) {
		t.Errorf("new key %s (old %s), log %q: want a new key, said at warn with its id", s4.KeyID(), s1.KeyID(), logs.String())
	}
	if pub, _ := audit.ReadPublicKey(pubPath); !pub.Equal(s4.PublicKey()) {
		t.Error("the public key file is not the new key's")
	}

	os.Chmod(keyPath, 0o640)
	for name, load := range map[string]func() error{
		"LoadSigner":         func() error { _, err := audit.LoadSigner(dir); return err },
		"LoadOrCreateSigner": func() error { _, err := audit.LoadOrCreateSigner(ctx, dir, st, log); return err },
	} {
		if err := load(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("%s of a group-readable key: %v", name, err)
		}
	}
	os.Chmod(keyPath, 0o600)
	for name, content := range map[string][]byte{
		"empty":      nil,
		"not PEM":    bytes.Repeat([]byte{7}, 32),
		"public key": audit.MarshalPublicKey(s4.PublicKey()),
		"two keys":   append(mustRead(t, keyPath), mustRead(t, keyPath)...),
	} {
		t.Run(name, func(t *testing.T) {
			bad := t.TempDir()
			os.WriteFile(filepath.Join(bad, audit.SignKeyFile), content, 0o600)
			if _, err := audit.LoadOrCreateSigner(ctx, bad, st, log); err == nil {
				t.Error("a damaged key file was accepted")
			}
			if b, _ := os.ReadFile(filepath.Join(bad, audit.SignKeyFile)); !bytes.Equal(b, content) {
				t.Error("a damaged key file was replaced")
			}
		})
	}
	// A file far larger than a key is refused before it is read.
	big := t.TempDir()
	os.WriteFile(filepath.Join(big, audit.SignKeyFile), bytes.Repeat([]byte{'A'}, 1<<20), 0o600)
	if _, err := audit.LoadSigner(big); err == nil || !strings.Contains(err.Error(), "1048576 bytes: not a PEM Ed25519 key") {
		t.Errorf("LoadSigner of a 1 MiB key file: %v, want it refused for its size", err)
	}
	if _, err := audit.ParsePublicKey(mustRead(t, keyPath)); err == nil || !strings.Contains(err.Error(), "private") {
		t.Errorf("ParsePublicKey of the private key = %v, want it named as the private key", err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
