package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnrollWithOperatorCert: a hub that serves an operator's HTTPS
// certificate (serve --tls-cert, from a CA the identity provider trusts)
// still enrolls kiosks, which trust that CA for the hub (--ca) and the hub
// CA, named in the enrollment's answer, for their own certificates; the
// channel comes up over mTLS and the certificate renews.
func TestEnrollWithOperatorCert(t *testing.T) {
	start := time.Now()
	h, hubClock, rootFile := operatorHub(t, start)
	root, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	kiosk := &fakeClock{now: start}

	// The hub's own CA is not what its HTTPS certificate chains to now.
	_, err = Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: filepath.Join(h.DataDir, CAFile), Code: deviceCode(t, h),
		StateDir: filepath.Join(t.TempDir(), "state"), Profile: "generic-x86", Now: kiosk.Now})
	if err == nil || !strings.Contains(err.Error(), "not signed by the CA in") || !strings.Contains(err.Error(), "serve --tls-cert), that CA's root") {
		t.Fatalf("enroll trusting the hub CA for the operator's certificate: %v, want a TLS refusal naming the operator's root as the fix", err)
	}

	state := filepath.Join(t.TempDir(), "state")
	if _, err := Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: rootFile, Code: deviceCode(t, h), StateDir: state,
		Profile: "generic-x86", Now: kiosk.Now}); err != nil {
		t.Fatalf("enroll trusting the operator's CA: %v", err)
	}
	hubCA, _ := os.ReadFile(filepath.Join(h.DataDir, CAFile))
	for file, want := range map[string][]byte{CAFile: root, DeviceCAFile: hubCA} {
		if got, err := os.ReadFile(filepath.Join(state, file)); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s in the state directory: %v; want the %s", file, err, map[string]string{CAFile: "operator's root", DeviceCAFile: "hub CA"}[file])
		}
	}
	old, err := loadKeyPair(state)
	if err != nil {
		t.Fatal(err)
	}

	// Due for renewal (two thirds of 30 days) on both clocks.
	kiosk.Advance(21 * 24 * time.Hour)
	hubClock.Advance(21 * 24 * time.Hour)
	// mTLS: the operator's server certificate, the hub CA's device certificate.
	waitRenewed(t, connectAt(t, state, kiosk), old.Leaf)
}
