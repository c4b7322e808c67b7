package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/certs/certstest"
)

// An enrollment the hub granted but the kiosk could not store (a full
// disk, here a directory in the way of the certificate) leaves the
// directory not enrolled, and the hub has used the code and registered the
// kiosk: the same code is refused as used, and a new one as a name taken.
// The error says so, and what to do, as for a certificate the agent
// refuses; before, it named the failed write alone, and the installer
// tried the code again.
func TestEnrollNotStoredSaysWhatToDo(t *testing.T) {
	pki := certstest.New(t)
	url, _ := enrollServer(t, pki)
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(filepath.Join(dir, CertFile+nextSuffix), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Enroll(t.Context(), EnrollConfig{HubURL: url, CAFile: writeCA(t, pki), Code: "good-code", StateDir: dir, Profile: "ward-tablet"})
	if err == nil {
		t.Fatal("enrolled, want the write of device.pem.next to fail")
	}
	for _, want := range []string{CertFile + nextSuffix, "used the code", `"Ward 3 kiosk"`, `"dev-42"`, "disable", "new code"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to contain %q", err, want)
		}
	}
	if exists(filepath.Join(dir, EnrollmentFile)) {
		t.Errorf("%s written after a failed enrollment", EnrollmentFile)
	}
}
