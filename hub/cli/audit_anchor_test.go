package cli_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

var headRE = regexp.MustCompile(`head ([0-9]+:[0-9a-f]{64})\n`)

// deviceCodes makes a kiosk enrollment code for each name at site north:
// one audit record each.
func deviceCodes(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		if code, _, errs := run(t, "device", "code", "--data", dir, "--site", "north", "--name", name); code != 0 {
			t.Fatalf("device code: %d %s", code, errs)
		}
	}
}

// verifyHead runs audit verify and returns the head it prints.
func verifyHead(t *testing.T, dir string) string {
	t.Helper()
	code, out, errs := run(t, "audit", "verify", "--data", dir)
	m := headRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("audit verify: %d %q %q", code, out, errs)
	}
	if !strings.Contains(errs, "--anchor "+m[1]) {
		t.Errorf("audit verify does not say how to use the head as an anchor: %q", errs)
	}
	return m[1]
}

// TestAuditVerifyAnchor: the head audit verify prints is an anchor a later
// verify checks with --anchor. Records cut off the end pass a plain verify
// (the shorter chain is valid) and fail against the anchor, for the
// database and for an export.
func TestAuditVerifyAnchor(t *testing.T) {
	dir := t.TempDir()
	st, err := hub.OpenStore(t.Context(), dir) // a hub with no records yet
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.LoadOrCreateKey(t.Context(), dir, st); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if code, out, errs := run(t, "audit", "verify", "--data", dir); code != 0 || out != "OK: 0 records, the trail is empty\n" {
		t.Fatalf("verify of an empty trail: %d %q %q", code, out, errs)
	}
	deviceCodes(t, dir, "north-1", "north-2")
	anchor := verifyHead(t, dir)
	if !strings.HasPrefix(anchor, "2:") {
		t.Fatalf("head = %s, want record 2", anchor)
	}
	deviceCodes(t, dir, "north-3", "north-4")
	head := verifyHead(t, dir)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", anchor); code != 0 || !strings.HasPrefix(out, "OK: 4 records") {
		t.Fatalf("verify --anchor on an intact trail: %d %q %q", code, out, errs)
	}
	_, all, _ := run(t, "audit", "export", "--data", dir)
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	if err := os.WriteFile(file, []byte(all), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--export", file, "--anchor", head); code != 0 || !strings.HasPrefix(out, "OK: 4 records") {
		t.Fatalf("verify --export --anchor on an intact export: %d %q %q", code, out, errs)
	}

	// Someone with write access to the file cuts the last two records off.
	hubtest.CutAuditTrail(t, dir, 2)
	if code, out, errs := run(t, "audit", "verify", "--data", dir); code != 0 || !strings.HasPrefix(out, "OK: 2 records") {
		t.Fatalf("plain verify of a cut trail: %d %q %q (it cannot see the cut)", code, out, errs)
	}
	code, out, errs := run(t, "audit", "verify", "--data", dir, "--anchor", head)
	if code != 1 || !strings.HasPrefix(out, "BROKEN at record 3:") || !strings.Contains(out, "cut off the end") {
		t.Errorf("verify --anchor of a cut trail: %d %q %q, want exit 1 and BROKEN at record 3", code, out, errs)
	}
	// The hub appends on from the cut: records 3 and 4 again, but not
	// the ones the anchor was taken from.
	deviceCodes(t, dir, "north-5", "north-6")
	code, out, errs = run(t, "audit", "verify", "--data", dir, "--anchor", head)
	if code != 1 || !strings.HasPrefix(out, "BROKEN at record 4:") || strings.Contains(errs, "intact") || !strings.Contains(errs, "rewritten") {
		t.Errorf("verify --anchor of a cut trail appended to: %d %q %q, want exit 1, BROKEN at record 4, and not called intact", code, out, errs)
	}
	cut := strings.SplitAfter(all, "\n")
	if err := os.WriteFile(file, []byte(strings.Join(cut[:2], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "audit", "verify", "--data", dir, "--export", file, "--anchor", head)
	if code != 1 || !strings.HasPrefix(out, "BROKEN at record 3:") {
		t.Errorf("verify --export --anchor of a cut export: %d %q %q, want exit 1 and BROKEN at record 3", code, out, errs)
	}

	for _, bad := range []string{"4", "4:zz", "0:" + strings.Repeat("0", 64)} {
		if code, _, errs := run(t, "audit", "verify", "--data", dir, "--anchor", bad); code != 2 || !strings.Contains(errs, "anchor") {
			t.Errorf("verify --anchor %q: %d %q, want a usage error about the anchor", bad, code, errs)
		}
	}
}

// TestAuditVerifyUsesHubHead: audit verify --data also checks the trail
// against the newest record the hub's audit watch checked (audit.head),
// with no --anchor, so records cut off the end while the hub was down are
// found by the CLI too.
func TestAuditVerifyUsesHubHead(t *testing.T) {
	dir := t.TempDir()
	deviceCodes(t, dir, "north-1", "north-2", "north-3")
	st, err := hub.OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := audit.NewWatcher(audit.WatchConfig{Key: key, Trail: st, Dir: dir,
		Alert: func(context.Context, audit.Entry) error { return nil }})
	if err == nil {
		err = w.Check(t.Context()) // as the hub does: writes audit.head
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	head := w.Status().Checked.String()
	code, out, errs := run(t, "audit", "verify", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "OK: 3 records") || !strings.Contains(errs, "audit.head, the newest record the hub checked: "+head) {
		t.Fatalf("verify with audit.head: %d %q %q", code, out, errs)
	}
	hubtest.CutAuditTrail(t, dir, 1)
	code, out, errs = run(t, "audit", "verify", "--data", dir)
	if code != 1 || !strings.HasPrefix(out, "BROKEN at record 2:") || !strings.Contains(out, "cut off the end") {
		t.Errorf("verify of a trail cut behind audit.head: %d %q %q, want exit 1 and BROKEN at record 2", code, out, errs)
	}
	if err := os.WriteFile(filepath.Join(dir, audit.HeadFile), []byte("nonsense\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "audit", "verify", "--data", dir); code != 1 || !strings.Contains(errs, "remove it") {
		t.Errorf("verify with a garbled audit.head: %d %q, want an error saying to remove it", code, errs)
	}
}

// TestAuditHoldsNoSecrets: what the CLI prints once (an API token, a kiosk
// enrollment code, a console admin's one-time link) never reaches the
// audit trail, which SIEMs and auditors read.
func TestAuditHoldsNoSecrets(t *testing.T) {
	dir := t.TempDir()
	var secrets []string
	for _, args := range [][]string{
		{"device", "code", "--data", dir, "--site", "north", "--name", "north-1"},
		{"token", "create", "--data", dir, "--name", "okta", "--scope", "scim"},
		{"token", "create", "--data", dir, "--name", "ops", "--scope", "admin"},
		{"admin", "bootstrap", "--data", dir, "--name", "root", "--public-url", "https://hub.example.test"},
	} {
		code, out, errs := run(t, args...)
		if code != 0 || strings.TrimSpace(out) == "" {
			t.Fatalf("%v: %d %q %q", args, code, out, errs)
		}
		secret := strings.TrimSpace(out)
		if i := strings.LastIndexAny(secret, "/#=?"); i >= 0 { // a link: its token
			secret = secret[i+1:]
		}
		secrets = append(secrets, secret)
	}
	code, all, errs := run(t, "audit", "export", "--data", dir)
	if code != 0 || strings.Count(all, "\n") < 4 {
		t.Fatalf("audit export: %d %q %q", code, all, errs)
	}
	for _, s := range secrets {
		if len(s) < 8 {
			t.Fatalf("secret %q is too short to look for", s)
		}
		for _, form := range []string{s, strings.ToLower(s), strings.ReplaceAll(s, "-", "")} {
			if strings.Contains(all, form) {
				t.Errorf("the audit trail holds the secret %q:\n%s", form, all)
			}
		}
	}
}

// TestAuditVerifyExportWithKeyOnly: an auditor holds an export and the key,
// not the database: verify --export needs no hub.db. An export made with
// --after and verified without it is refused with a hint to give the same
// --after.
func TestAuditVerifyExportWithKeyOnly(t *testing.T) {
	dir := t.TempDir()
	deviceCodes(t, dir, "north-1", "north-2", "north-3")
	code, export, errs := run(t, "audit", "export", "--data", dir, "--after", "1")
	if code != 0 {
		t.Fatalf("audit export: %d %s", code, errs)
	}
	auditor := t.TempDir()
	key, err := os.ReadFile(filepath.Join(dir, audit.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(auditor, "trail.jsonl")
	if err := os.WriteFile(filepath.Join(auditor, audit.KeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(export), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", auditor, "--export", file, "--after", "1"); code != 0 || !strings.HasPrefix(out, "OK: 2 records") {
		t.Errorf("verify --export with the key only: %d %q %q", code, out, errs)
	}
	if code, out, errs := run(t, "audit", "verify", "--data", auditor, "--export", file); code != 1 || !strings.Contains(out, "BROKEN") || !strings.Contains(errs, "verify it with the same --after") {
		t.Errorf("verify --export without its --after: %d %q %q, want BROKEN and the --after hint", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(auditor, hub.DBFile)); !os.IsNotExist(err) {
		t.Errorf("verify --export made a database in the auditor's directory: %v", err)
	}
}

// TestAuditVerifyCheckpoints: audit verify --checkpoints checks the trail
// against the newest checkpoint the hub signed into its log, with the
// public key alone for the checkpoints: a trail cut short behind it fails,
// and so does a log with a checkpoint nobody signed.
func TestAuditVerifyCheckpoints(t *testing.T) {
	dir := t.TempDir()
	deviceCodes(t, dir, "north-1", "north-2", "north-3")
	st, err := hub.OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := audit.LoadOrCreateSigner(t.Context(), dir, st, nil)
	if err == nil {
		var seq int64
		var hash []byte
		if seq, hash, err = st.AuditHead(t.Context()); err == nil {
			head := audit.Anchor{Seq: seq, Hash: hash}
			var log bytes.Buffer
			slog.New(slog.NewJSONHandler(&log, nil)).Info(audit.CheckpointMessage, "checkpoint", signer.Checkpoint(head, time.Now()))
			err = os.WriteFile(filepath.Join(dir, "hub.log"), log.Bytes(), 0o600)
		}
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(t.TempDir(), "hub.pub")
	if err := os.WriteFile(pub, audit.MarshalPublicKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "hub.log")
	code, out, errs := run(t, "audit", "verify", "--data", dir, "--checkpoints", logFile, "--public-key", pub)
	if code != 0 || !strings.HasPrefix(out, "OK: 3 records") || !strings.Contains(errs, "also against the 1 signed checkpoints") {
		t.Fatalf("verify against an intact trail's checkpoint: %d %q %q", code, out, errs)
	}
	for _, bad := range [][]string{
		{"--checkpoints", logFile},
		{"--checkpoints", logFile, "--public-key", pub, "--export", logFile},
	} {
		if code, _, errs := run(t, append([]string{"audit", "verify", "--data", dir}, bad...)...); code != 2 || !strings.Contains(errs, "--checkpoints") {
			t.Errorf("verify %v: %d %q, want a usage error", bad, code, errs)
		}
	}

	forged := bytes.Replace(mustReadFile(t, logFile), []byte(`"head":"3:`), []byte(`"head":"4:`), 1)
	forgedFile := filepath.Join(t.TempDir(), "forged.log")
	if err := os.WriteFile(forgedFile, forged, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "audit", "verify", "--data", dir, "--checkpoints", forgedFile, "--public-key", pub); code != 1 || !strings.Contains(errs, "does not verify") {
		t.Errorf("verify against a forged checkpoint: %d %q, want exit 1 naming it", code, errs)
	}

	// A log without a checkpoint of this key is no check: refused, not OK.
	empty := filepath.Join(t.TempDir(), "empty.log")
	if err := os.WriteFile(empty, []byte(`{"level":"INFO","msg":"hub listening"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := run(t, "audit", "verify", "--data", dir, "--checkpoints", empty, "--public-key", pub); code != 1 || !strings.Contains(errs, "no checkpoint signed by key") {
		t.Errorf("verify against a log without checkpoints: %d %q, want exit 1 saying so", code, errs)
	}

	hubtest.CutAuditTrail(t, dir, 2)
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--checkpoints", logFile, "--public-key", pub); code != 1 || !strings.HasPrefix(out, "BROKEN at record 3:") {
		t.Errorf("verify of a trail cut behind the checkpoint: %d %q %q", code, out, errs)
	}

	// The trail grows again past the cut, and the hub, going on from it,
	// signs a checkpoint of the new head: the older checkpoint still
	// catches the cut.
	deviceCodes(t, dir, "north-4", "north-5", "north-6")
	st, err = hub.OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	seq, hash, err := st.AuditHead(t.Context())
	st.Close()
	if err != nil || seq != 5 {
		t.Fatalf("head after the regrowth: %d, %v", seq, err)
	}
	log, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	slog.New(slog.NewJSONHandler(log, nil)).Info(audit.CheckpointMessage, "checkpoint", signer.Checkpoint(audit.Anchor{Seq: seq, Hash: hash}, time.Now()))
	log.Close()
	if code, out, errs := run(t, "audit", "verify", "--data", dir, "--checkpoints", logFile, "--public-key", pub); code != 1 || !strings.HasPrefix(out, "BROKEN at record 3:") || !strings.Contains(errs, "the 2 signed checkpoints") {
		t.Errorf("verify of a trail cut and grown again past the newest checkpoint: %d %q %q, want BROKEN at record 3 by the older one", code, out, errs)
	}
}
