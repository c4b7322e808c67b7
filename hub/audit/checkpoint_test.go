package audit_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
)

func anchorOf(seq int64, b byte) audit.Anchor {
	return audit.Anchor{Seq: seq, Hash: bytes.Repeat([]byte{b}, sha256.Size)}
}

// A checkpoint checks under its key only, and any change to what it says
// breaks its signature.
func TestCheckpointSignature(t *testing.T) {
	s, other := signerFrom(t, 1), signerFrom(t, 2)
	at := time.Date(2026, 11, 27, 8, 0, 0, 123, time.UTC)
	c := s.Checkpoint(anchorOf(42, 7), at)
	a, err := audit.VerifyCheckpoint(s.PublicKey(), c)
	if err != nil || a.String() != anchorOf(42, 7).String() {
		t.Fatalf("VerifyCheckpoint: %v, %v", a, err)
	}
	for _, tc := range []struct {
		name string
		mod  func(*audit.Checkpoint)
	}{
		{"head", func(c *audit.Checkpoint) { c.Head = anchorOf(43, 7).String() }},
		{"hash", func(c *audit.Checkpoint) { c.Head = anchorOf(42, 8).String() }},
		{"time", func(c *audit.Checkpoint) { c.Time = c.Time.Add(time.Nanosecond) }},
		{"signature", func(c *audit.Checkpoint) { c.Sig = append([]byte(nil), c.Sig...); c.Sig[0] ^= 1 }},
		{"key id", func(c *audit.Checkpoint) { c.KeyID = other.KeyID() }},
	} {
		m := c
		tc.mod(&m)
		if _, err := audit.VerifyCheckpoint(s.PublicKey(), m); err == nil {
			t.Errorf("a checkpoint with another %s verified", tc.name)
		}
	}
	if _, err := audit.VerifyCheckpoint(other.PublicKey(), c); err == nil || !strings.Contains(err.Error(), "not by this public key") {
		t.Errorf("another key: %v", err)
	}
	// An export trailer's signature is not a checkpoint's: the two
	// prefixes keep one from passing for the other.
	if audit.CheckpointPrefix == audit.SignaturePrefix {
		t.Error("checkpoints and exports sign under the same prefix")
	}
}

// logOf is a hub log in JSON lines, as slog writes it, with the
// checkpoints given among other lines.
func logOf(t *testing.T, cs ...audit.Checkpoint) *bytes.Buffer {
	t.Helper()
	var b bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("hub listening", "addr", "127.0.0.1:8443")
	for _, c := range cs {
		log.Info(audit.CheckpointMessage, "checkpoint", c)
		log.Warn("something else", "note", "mentions "+audit.CheckpointMessage+" in passing")
	}
	b.WriteString(`{"msg":"` + strings.Repeat("x", 70<<10) + `"}` + "\n") // longer than a line is read
	b.WriteString("not JSON at all\n")
	return &b
}

// ReadCheckpoints finds the newest checkpoint among a log's lines, checks
// every one, and names the line of one that does not verify.
func TestReadCheckpoints(t *testing.T) {
	s, old := signerFrom(t, 1), signerFrom(t, 2)
	at := time.Now()
	c10, c30, c20 := s.Checkpoint(anchorOf(10, 1), at), s.Checkpoint(anchorOf(30, 3), at.Add(2*time.Minute)), s.Checkpoint(anchorOf(20, 2), at.Add(time.Minute))
	c5 := old.Checkpoint(anchorOf(5, 9), at.Add(-time.Hour))

	heads, newest, other, err := audit.ReadCheckpoints(logOf(t, c5, c10, c30, c20, c20), s.PublicKey())
	if err != nil || len(heads) != 3 || other != 1 || newest.Head != c30.Head {
		t.Fatalf("ReadCheckpoints: newest %s, heads %v, %d of another key, %v; want %s, 3 heads, 1", newest.Head, heads, other, err, c30.Head)
	}
	for i, want := range []audit.Anchor{anchorOf(10, 1), anchorOf(30, 3), anchorOf(20, 2)} {
		if heads[i].String() != want.String() {
			t.Errorf("head %d = %s, want %s (each record once, in log order)", i, heads[i], want)
		}
	}
	if heads, _, _, err := audit.ReadCheckpoints(logOf(t), s.PublicKey()); err != nil || len(heads) != 0 {
		t.Errorf("a log without checkpoints: %v, %v", heads, err)
	}

	forged := c20
	forged.Head = anchorOf(40, 4).String() // a later head, signed by nobody
	if _, _, _, err := audit.ReadCheckpoints(logOf(t, c10, forged), s.PublicKey()); err == nil || !strings.Contains(err.Error(), "line 4:") || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("a forged checkpoint: %v, want its line named", err)
	}
	twin := s.Checkpoint(anchorOf(20, 9), at.Add(3*time.Minute)) // record 20 again, another hash
	if _, _, _, err := audit.ReadCheckpoints(logOf(t, c20, c30, twin), s.PublicKey()); err == nil || !strings.Contains(err.Error(), "two trails") {
		t.Errorf("two checkpoints of one record with different hashes, the newest between them: %v", err)
	}
	var b bytes.Buffer
	b.WriteString(`{"msg":"` + audit.CheckpointMessage + `"}` + "\n")
	if _, _, _, err := audit.ReadCheckpoints(&b, s.PublicKey()); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a checkpoint line without its checkpoint: %v", err)
	}
}

// A checkpoint logged by slog's JSON handler is read back as signed.
func TestCheckpointLogLine(t *testing.T) {
	s := signerFrom(t, 1)
	c := s.Checkpoint(anchorOf(7, 5), time.Now())
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info(audit.CheckpointMessage, "checkpoint", c)
	var line struct {
		Checkpoint map[string]any `json:"checkpoint"`
	}
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"head", "time", "key_id", "sig"} {
		if _, ok := line.Checkpoint[k]; !ok {
			t.Errorf("the log line has no checkpoint.%s: %s", k, b.String())
		}
	}
	if heads, got, _, err := audit.ReadCheckpoints(&b, s.PublicKey()); err != nil || len(heads) != 1 || got.Head != c.Head {
		t.Errorf("read back: %v %v %v", got, heads, err)
	}
}

func FuzzReadCheckpoints(f *testing.F) {
	s := signerFrom(f, 1)
	c := s.Checkpoint(anchorOf(7, 5), time.Unix(1700000000, 0))
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, nil)).Info(audit.CheckpointMessage, "checkpoint", c)
	f.Add(b.Bytes())
	f.Add([]byte(`{"msg":"audit checkpoint","checkpoint":{"head":"1:zz","time":"x","sig":"@@"}}`))
	f.Fuzz(func(t *testing.T, log []byte) {
		heads, newest, _, err := audit.ReadCheckpoints(bytes.NewReader(log), s.PublicKey())
		if err == nil && len(heads) > 0 {
			if _, verr := audit.VerifyCheckpoint(s.PublicKey(), newest); verr != nil {
				t.Fatalf("ReadCheckpoints returned a checkpoint that does not verify: %v", verr)
			}
		}
	})
}
