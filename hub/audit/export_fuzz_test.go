package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// fuzzExport is a signed export of a few records, with the key that
// sealed them and the public key that signed it.
func fuzzExport(f *testing.F) (export []byte, key []byte, pub ed25519.PublicKey) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(f.TempDir(), "hub.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	key = bytes.Repeat([]byte{9}, 32)
	l, _ := audit.New(key, func() time.Time { return time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC) })
	err = db.InTx(ctx, func(tx store.Ops) error {
		_, err := l.AppendMany(ctx, tx, []audit.Entry{
			{Actor: "token:t1", Action: "user.create", Subject: "user:a", System: "scim", Detail: map[string]any{"i": 1}},
			{Actor: "cli", Action: "shifts.import", Subject: "import:rota-\xc3.csv", System: "cli", Detail: map[string]any{"note": "<b>&amp;</b> \u2028 é"}},
			{Actor: "cli", Action: "user.update", Subject: "user:a", System: "cli", Detail: json.RawMessage(`{"a":[1,2]}`)},
		})
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	s, err := audit.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := audit.Export(ctx, db, 0, &b, audit.WithSigner(s, key)); err != nil {
		f.Fatal(err)
	}
	return b.Bytes(), key, s.PublicKey()
}

// exportLines is data as the verifiers read it: lines without their
// "\n" and one "\r" before it, each written back with "\n".
func exportLines(data []byte) []byte {
	var out []byte
	for line := range bytes.Lines(data) {
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		out = append(append(out, line...), '\n')
	}
	return out
}

// FuzzVerifyExport: an export an auditor checks away from the hub comes
// from outside it. Whatever the bytes, VerifySignedExport accepts only
// the export the hub signed (up to line endings), and VerifyExport, which
// cannot see lines cut off the end without an anchor, only the signed
// export or the first records of it; what they refuse is refused with an
// error saying so, never a panic.
func FuzzVerifyExport(f *testing.F) {
	export, key, pub := fuzzExport(f)
	lines := bytes.SplitAfter(export, []byte("\n"))
	f.Add(export)
	f.Add(bytes.ReplaceAll(export, []byte("\n"), []byte("\r\n")))
	f.Add(bytes.Join(lines[:2], nil))
	f.Add(bytes.Join(append([][]byte{lines[1], lines[0]}, lines[2:]...), nil))
	f.Add(bytes.Replace(export, []byte(`"user:a"`), []byte(`"user:b"`), 1))
	f.Add(bytes.Replace(export, []byte(`{"seq":1,`), []byte(`{"seq":1,"seq":1,`), 1))
	f.Add([]byte(`{"signature":{}}` + "\n"))
	f.Add([]byte{})
	genuine := exportLines(export)
	f.Fuzz(func(t *testing.T, data []byte) {
		got := exportLines(data)
		rep, err := audit.VerifySignedExport(pub, 0, bytes.NewReader(data))
		if err == nil && !bytes.Equal(got, genuine) {
			t.Fatalf("VerifySignedExport accepted an export that is not the one signed (%+v):\n%s", rep, data)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "verify audit export") && !strings.HasPrefix(err.Error(), "audit ") {
			t.Fatalf("VerifySignedExport error does not say what failed: %v", err)
		}
		rep, err = audit.VerifyExport(key, 0, bytes.NewReader(data))
		if err == nil && !bytes.HasPrefix(genuine, got) {
			t.Fatalf("VerifyExport accepted lines that are not the export's (%+v):\n%s", rep, data)
		}
		if err == nil && rep.Trailer != nil && !bytes.Equal(got, genuine) {
			t.Fatalf("VerifyExport took a trailer for lines it does not sign (%+v):\n%s", rep, data)
		}
		var broken *audit.BrokenError
		var sig *audit.SignatureError
		if err != nil && !errors.As(err, &broken) && !errors.As(err, &sig) && !strings.HasPrefix(err.Error(), "verify audit export") {
			t.Fatalf("VerifyExport error does not say what failed: %v", err)
		}
	})
}

// FuzzParseAnchor: an anchor typed by an auditor reads as "SEQ:HASH" with
// a sequence number from 1 and a SHA-256 hash; what is accepted is
// written back by String in the form ParseAnchor reads as the same
// anchor, and a refusal quotes the input.
func FuzzParseAnchor(f *testing.F) {
	h := strings.Repeat("ab", 32)
	for _, s := range []string{" 42:" + h + "\n", "42:" + h, "", "42", "42:", "0:" + h, "-1:" + h, "x:" + h,
		"42:" + strings.Repeat("ab", 31), "42:" + strings.Repeat("zz", 32), "+7:" + strings.ToUpper(h), "007:" + h} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := audit.ParseAnchor(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("audit anchor %q: ", s)) {
				t.Fatalf("ParseAnchor(%q) error does not quote the input: %v", s, err)
			}
			return
		}
		if a.Seq < 1 || len(a.Hash) != sha256.Size {
			t.Fatalf("ParseAnchor(%q) = %v: not a record's anchor", s, a)
		}
		back, err := audit.ParseAnchor(a.String())
		if err != nil || back.Seq != a.Seq || !bytes.Equal(back.Hash, a.Hash) || back.String() != a.String() {
			t.Fatalf("ParseAnchor(%q) = %v, reads back as %v, %v", s, a, back, err)
		}
	})
}

// FuzzParsePublicKey: the public key an auditor gives is one PEM PUBLIC
// KEY block holding an Ed25519 key, which MarshalPublicKey writes back as
// a key ParsePublicKey reads the same; anything else is an error, and
// never a key of another kind.
func FuzzParsePublicKey(f *testing.F) {
	pemKey := audit.MarshalPublicKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public().(ed25519.PublicKey))
	f.Add(pemKey)
	f.Add(append(append([]byte{}, pemKey...), pemKey...))
	f.Add(bytes.Replace(pemKey, []byte("PUBLIC KEY"), []byte("PRIVATE KEY"), 2))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("not a key"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pub, err := audit.ParsePublicKey(b)
		if err != nil {
			if pub != nil {
				t.Fatalf("ParsePublicKey returned a key with error %v", err)
			}
			return
		}
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("ParsePublicKey = %d bytes: not an Ed25519 public key", len(pub))
		}
		back, err := audit.ParsePublicKey(audit.MarshalPublicKey(pub))
		if err != nil || !back.Equal(pub) {
			t.Fatalf("ParsePublicKey: key %x written back reads as %x, %v", pub, back, err)
		}
	})
}
