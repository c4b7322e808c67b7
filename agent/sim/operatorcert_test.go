package sim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// TestOperatorCert: against a hub serving an operator's HTTPS certificate
// (serve --tls-cert), the simulator trusts the operator's root (--ca) for
// the hub and the hub CA the enrollment answers name for its kiosks'
// certificates. The state keeps that CA, so a second run reuses it, and a
// second hub behind the same operator certificate is told apart from the
// first before the simulator changes anything on it.
func TestOperatorCert(t *testing.T) {
	op := certstest.NewOperator(t, time.Now(), "localhost")
	opts := hubtest.Options{TLSCertFile: op.CertFile, TLSKeyFile: op.KeyFile, TLSRootFile: op.RootFile}
	h := hubtest.Start(t, opts)
	cfg := newConfig(t, h, ScenarioLogins)
	cfg.CAFile = op.RootFile
	cfg.Kiosks, cfg.Concurrency, cfg.Rounds, cfg.Duration = 2, 2, 1, 300*time.Millisecond

	// The hub's ca.pem alone does not cover the operator's certificate:
	// refused at once, naming the fix.
	bad := cfg
	bad.CAFile = filepath.Join(h.DataDir, certs.CACertFile)
	if _, err := New(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "not signed by a CA in "+bad.CAFile) ||
		!strings.Contains(err.Error(), "serve --tls-cert") {
		t.Fatalf("New with the hub CA as --ca for an operator's certificate: %v, want a refusal naming the operator's root as the fix", err)
	}

	res := run(t, cfg)
	if r := res.PerRound[0]; r["logins"] < 1 {
		t.Errorf("no logins: %v", r)
	}
	hubCA, err := os.ReadFile(filepath.Join(h.DataDir, certs.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certs.DecodeCertPEM(hubCA)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		DeviceCA []byte `json:"device_ca"`
	}
	b, err := os.ReadFile(filepath.Join(cfg.StateDir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil || !bytes.Equal(st.DeviceCA, ca.Raw) {
		t.Errorf("state's device CA: %v, %x; want the hub CA", err, st.DeviceCA)
	}

	// Reused, with the operator's root and the hub's ca.pem in --ca (the
	// documented form), in either order.
	both := filepath.Join(t.TempDir(), "both.pem")
	root, err := os.ReadFile(op.RootFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(both, append(hubCA, root...), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.CAFile = both
	res = run(t, cfg)
	for _, p := range res.Setup {
		if p.Name != "connecting kiosks" {
			t.Errorf("second run did setup phase %q", p.Name)
		}
	}

	// Another hub with the same operator certificate: same --ca, another
	// hub CA. Its state would be half reused (user IDs of the first hub,
	// kiosks it does not know): refused before anything is created.
	other := hubtest.Start(t, opts)
	ocfg := newConfig(t, other, ScenarioLogins)
	ocfg.CAFile, ocfg.StateDir = op.RootFile, cfg.StateDir
	ocfg.Kiosks, ocfg.Concurrency, ocfg.Rounds, ocfg.Duration = 2, 2, 1, 300*time.Millisecond
	s, err := New(t.Context(), ocfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := s.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "belongs to another hub") {
		t.Fatalf("run on another hub with the first hub's state: %v, want it refused as another hub's state", err)
	}
	req, err := http.NewRequestWithContext(t.Context(), "GET", other.URL+"/scim/v2/Users", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+other.SCIMToken)
	resp, err := other.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		TotalResults int `json:"totalResults"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || list.TotalResults != 0 {
		t.Errorf("users on the other hub: %d (%v), want none", list.TotalResults, err)
	}
}
