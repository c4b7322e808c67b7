package hub_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/authn/mdstest"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
)

// yubiKey5 is on the rpi5-touch profile's allow list.
const yubiKey5 = "ee882879-721c-4913-9775-3dfcce97072a"

// TestAttestationRootsInDataDir: with the makers' roots in the data
// directory, a kiosk whose profile allow-lists models registers only a
// badge whose model an attestation chaining to them proves; the AAGUID a
// badge claims with self attestation is refused.
func TestAttestationRootsInDataDir(t *testing.T) {
	dir := t.TempDir()
	batch, root, err := authenticator.NewModelAttestation(yubiKey5, "Test Maker")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, hub.AttestationRootsFile), root, 0o600); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, hubtest.Options{DataDir: dir})
	createGroup(t, h, "Store Manager", createUser(t, h, "amy", `{"sites":["north"]}`))
	pi := h.EnrollKioskProfile(t, "back-1", "north", "rpi5-touch")
	pi.Dial("")

	if env, _ := h.TryRegisterBadge(t, pi, "amy", authenticator.SoftOptions{AAGUID: yubiKey5}); env.Type != wire.TypeError {
		t.Fatalf("a self-attested badge claiming an allowed model registered: %s %s", env.Type, env.Data)
	}

	badge := h.RegisterBadge(t, pi, "amy", authenticator.SoftOptions{AAGUID: yubiKey5, UserVerification: true, Batch: batch})
	if g := grant(t, first(tap(t, pi, badge))); g.User != "amy" {
		t.Errorf("granted %+v", g)
	}
}

// TestAttestationRootsFile: a roots file that is missing (when named) or
// holds no certificate stops the hub with an error naming it; without one,
// the hub warns that allow-listed models are unproven.
func TestAttestationRootsFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	bad := filepath.Join(dir, "roots.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.pem"), bad} {
		s, err := hub.New(ctx, hub.Config{DataDir: filepath.Join(dir, "data"), AttestationRoots: path})
		if err == nil {
			s.Close()
			t.Fatalf("hub started with attestation roots %s", path)
		}
		if !strings.Contains(err.Error(), filepath.Base(path)) {
			t.Errorf("error %q does not name %s", err, path)
		}
	}
	var logs bytes.Buffer
	s, err := hub.New(ctx, hub.Config{DataDir: filepath.Join(dir, "data"), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "rpi5-touch") {
		t.Errorf("no warning about unproven allow lists in:\n%s", logs.String())
	}
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitLog waits until the log holds want.
func (l *logBuffer) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(l.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", want, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFIDOMetadataInDataDir: with the FIDO metadata BLOB in the data
// directory, an allow-listed model it lists registers only with an
// attestation chaining to its maker's root and while its status is good.
// A new BLOB in the file takes effect without a restart; one that does not
// verify leaves the last good one in use.
func TestFIDOMetadataInDataDir(t *testing.T) {
	dir := t.TempDir()
	batch, root, err := authenticator.NewModelAttestation(yubiKey5, "Test Maker")
	if err != nil {
		t.Fatal(err)
	}
	mds, err := mdstest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(dir, "mds-root.pem")
	writeTestFile(t, rootFile, mds.RootPEM)
	publish := func(no int, status string) {
		blob, err := mds.BLOB(no, time.Now().AddDate(0, 1, 0), mdstest.Model{AAGUID: yubiKey5, Description: "Test Key 5", RootPEM: root, Status: status})
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, hub.FIDOMetadataFile), blob)
	}
	publish(1, "")
	var logs logBuffer
	h := hubtest.Start(t, hubtest.Options{DataDir: dir, FIDOMetadataRoot: rootFile, FIDOMetadataPoll: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	logs.waitLog(t, "FIDO metadata loaded")
	wantMetric(t, h, "shiftgate_fido_metadata_number 1")
	for _, u := range []string{"amy", "bob", "cem"} {
		createGroup(t, h, "Store Manager "+u, createUser(t, h, u, `{"sites":["north"]}`))
	}
	pi := h.EnrollKioskProfile(t, "back-1", "north", "rpi5-touch")
	pi.Dial("")

	if env, _ := h.TryRegisterBadge(t, pi, "amy", authenticator.SoftOptions{AAGUID: yubiKey5}); env.Type != wire.TypeError {
		t.Fatalf("a self-attested badge claiming a listed model registered: %s %s", env.Type, env.Data)
	}
	badge := h.RegisterBadge(t, pi, "amy", authenticator.SoftOptions{AAGUID: yubiKey5, UserVerification: true, Batch: batch})
	g := grant(t, first(tap(t, pi, badge)))
	if g.User != "amy" {
		t.Errorf("granted %+v", g)
	}

	writeTestFile(t, filepath.Join(dir, hub.FIDOMetadataFile), []byte("not a BLOB"))
	logs.waitLog(t, "FIDO metadata not replaced")
	h.RegisterBadge(t, pi, "bob", authenticator.SoftOptions{AAGUID: yubiKey5, Batch: batch})

	publish(2, "REVOKED")
	logs.waitLog(t, "FIDO metadata replaced")
	wantMetric(t, h, "shiftgate_fido_metadata_number 2")
	if env, _ := h.TryRegisterBadge(t, pi, "cem", authenticator.SoftOptions{AAGUID: yubiKey5, Batch: batch}); env.Type != wire.TypeError {
		t.Fatalf("a badge of a revoked model registered: %s %s", env.Type, env.Data)
	}

	// The badges already registered: a warning, and a finding each, whose
	// remediation revokes the badge.
	logs.waitLog(t, "badges=2")
	var ruledOut []map[string]any
	for _, f := range wantAPI(t, h.API(t, "GET", "/api/v1/findings", nil), 200)["findings"].([]any) {
		if f := f.(map[string]any); f["kind"] == "untrusted_authenticator" {
			ruledOut = append(ruledOut, f)
		}
	}
	if len(ruledOut) != 2 || !strings.Contains(ruledOut[0]["detail"].(string), "Test Key 5") || !strings.Contains(ruledOut[0]["detail"].(string), "REVOKED") {
		t.Fatalf("findings of the revoked model: %v", ruledOut)
	}
	var amys string
	for _, f := range ruledOut {
		if f["user"] == "amy" {
			amys = f["id"].(string)
		}
	}
	wantAPI(t, h.API(t, "POST", "/api/v1/findings/"+amys+"/remediate", nil), 200)
	expectRevoke(t, pi, g.SessionID, lifecycle.ReasonCredentialRevoked)
	if code := refusal(t, first(tap(t, pi, badge))); code == "" {
		t.Error("amy's badge still signs in after its finding was remediated")
	}

	// An older BLOB, in which the model was still certified, does not
	// replace the newer one, running or at a restart.
	publish(1, "")
	logs.waitLog(t, "older than a BLOB this hub took before")
	if env, _ := h.TryRegisterBadge(t, pi, "cem", authenticator.SoftOptions{AAGUID: yubiKey5, Batch: batch}); env.Type != wire.TypeError {
		t.Fatalf("an older BLOB brought a revoked model back: %s %s", env.Type, env.Data)
	}
	if got := actions(t, h, "fido-metadata"); len(got) != 2 || got[0] != hub.ActionFIDOMetadataLoaded {
		t.Errorf("fido-metadata audit = %v, want BLOBs 1 and 2 loaded", got)
	}
	h.Stop()
	if s, err := hub.New(context.Background(), hub.Config{DataDir: dir, FIDOMetadataRoot: rootFile}); err == nil {
		s.Close()
		t.Error("a hub started with an older BLOB than it took before")
	} else if !strings.Contains(err.Error(), "only a newer BLOB replaces it") {
		t.Errorf("restart with an older BLOB: %v", err)
	}
}

// TestFIDOMetadataFile: a BLOB file that is named but missing, or does not
// verify, or a root without a BLOB, stops the hub with an error naming the
// file; a BLOB past its next update date starts it with a warning.
func TestFIDOMetadataFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mds, err := mdstest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	_, root, err := authenticator.NewModelAttestation(yubiKey5, "Test Maker")
	if err != nil {
		t.Fatal(err)
	}
	stale, err := mds.BLOB(9, time.Now().AddDate(0, 0, -3), mdstest.Model{AAGUID: yubiKey5, RootPEM: root})
	if err != nil {
		t.Fatal(err)
	}
	rootFile, staleFile, junk := filepath.Join(dir, "root.pem"), filepath.Join(dir, "stale.jwt"), filepath.Join(dir, "junk.jwt")
	writeTestFile(t, rootFile, mds.RootPEM)
	writeTestFile(t, staleFile, stale)
	writeTestFile(t, junk, []byte("junk"))
	for _, tc := range []struct{ blob, root, named string }{
		{filepath.Join(dir, "missing.jwt"), rootFile, "missing.jwt"},
		{junk, rootFile, "junk.jwt"},
		{staleFile, "", "stale.jwt"}, // signed under a test root, not the FIDO Alliance's
		{"", rootFile, hub.FIDOMetadataFile},
	} {
		s, err := hub.New(ctx, hub.Config{DataDir: filepath.Join(dir, "data"), FIDOMetadata: tc.blob, FIDOMetadataRoot: tc.root})
		if err == nil {
			s.Close()
			t.Fatalf("hub started with FIDO metadata %q under root %q", tc.blob, tc.root)
		}
		if !strings.Contains(err.Error(), tc.named) {
			t.Errorf("error %q does not name %s", err, tc.named)
		}
	}
	var logs bytes.Buffer
	s, err := hub.New(ctx, hub.Config{DataDir: filepath.Join(dir, "data"), FIDOMetadata: staleFile, FIDOMetadataRoot: rootFile,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if !strings.Contains(logs.String(), "past its next update date") {
		t.Errorf("no warning about a stale BLOB in:\n%s", logs.String())
	}
	// It lists one of rpi5-touch's models, and none of thinclient-nfc's.
	if !strings.Contains(logs.String(), "nothing proves") || !strings.Contains(logs.String(), "rpi5-touch thinclient-nfc") {
		t.Errorf("no warning about the models the BLOB does not list in:\n%s", logs.String())
	}
}

func writeTestFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantMetric fails unless the hub's /metrics has a line want.
func wantMetric(t *testing.T, h *hubtest.Hub, want string) {
	t.Helper()
	if !slices.Contains(strings.Split(string(h.API(t, "GET", "/metrics", nil).Body), "\n"), want) {
		t.Errorf("/metrics has no line %q", want)
	}
}
