package agent

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// operatorHub starts a hub serving an operator's certificate for
// localhost, and returns it with the operator's root (a PEM file).
func operatorHub(t *testing.T, start time.Time) (*hubtest.Hub, *hubtest.Clock, string) {
	t.Helper()
	op := certstest.NewOperator(t, start, "localhost")
	clock := hubtest.NewClock(start)
	return hubtest.Start(t, hubtest.Options{Clock: clock, TLSCertFile: op.CertFile, TLSKeyFile: op.KeyFile, TLSRootFile: op.RootFile}), clock, op.RootFile
}

// waitRenewed waits until c has renewed the device certificate it
// started with.
func waitRenewed(t *testing.T, c *Client, old *x509.Certificate) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for c.cfg.Renewer.Current().Leaf.Equal(old) {
		if time.Now().After(deadline) {
			t.Fatal("the device certificate was not renewed")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestOperatorCertKioskEnrolledBefore: a kiosk enrolled before its hub
// served an operator's certificate trusts the hub CA alone (ca.pem, no
// device-ca.pem): it cannot reach the hub once it does, and its error
// says what to do. Done (the operator's root appended to ca.pem, as
// hub/README.md says), the channel comes up and the certificate renews,
// still checked against the hub CA.
func TestOperatorCertKioskEnrolledBefore(t *testing.T) {
	start := time.Now()
	h, hubClock, rootFile := operatorHub(t, start)
	kiosk := &fakeClock{now: start}
	state := filepath.Join(t.TempDir(), "state")
	if _, err := Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: rootFile, Code: deviceCode(t, h), StateDir: state,
		Profile: "generic-x86", Now: kiosk.Now}); err != nil {
		t.Fatal(err)
	}
	// As an older agent left it, enrolled with the hub CA as --ca.
	hubCA, err := os.ReadFile(filepath.Join(h.DataDir, certs.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, CAFile), hubCA, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(state, DeviceCAFile)); err != nil {
		t.Fatal(err)
	}

	c, err := ClientFromStateDir(Config{StateDir: state, Clock: kiosk})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.session(t.Context(), newRecHandler(""), false)
	if err == nil {
		t.Fatal("a kiosk trusting the hub CA alone reached a hub serving an operator's certificate")
	}
	for _, want := range []string{"not signed by a CA this kiosk trusts", "serve --tls-cert", "append that CA's root to ca.pem, keeping the hub CA in it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("dial error %q does not say %q", err, want)
		}
	}

	root, err := os.ReadFile(rootFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(state, CAFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(root); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	old, err := loadKeyPair(state)
	if err != nil {
		t.Fatal(err)
	}
	kiosk.Advance(21 * 24 * time.Hour) // due for renewal
	hubClock.Advance(21 * 24 * time.Hour)
	waitRenewed(t, connectAt(t, state, kiosk), old.Leaf)
}

// editAnswer is a transport that edits the hub's enrollment answers
// with edit: an older hub's, or a hostile one's.
type editAnswer struct {
	http.RoundTripper
	edit func(m map[string]json.RawMessage)
}

func (e editAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := e.RoundTripper.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	if _, ok := m["device_ca"]; !ok {
		return nil, errors.New("the hub's answer has no device_ca")
	}
	e.edit(m)
	if body, err = json.Marshal(m); err != nil {
		return nil, err
	}
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// enrollEdited enrolls a kiosk called name with h, trusting caFile,
// through editAnswer.
func enrollEdited(t *testing.T, h *hubtest.Hub, name, caFile, state string, now func() time.Time, edit func(map[string]json.RawMessage)) error {
	t.Helper()
	// A name of its own: the hub registers the kiosk before it answers.
	r := h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": name, "site": "north"})
	if r.Status != http.StatusCreated {
		t.Fatalf("device code: %d %s", r.Status, r.Body)
	}
	code, _ := r.JSON()["code"].(string)
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := certs.CAPool(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: editAnswer{&http.Transport{TLSClientConfig: certs.ClientTLSConfig(pool, nil)}, edit}}
	defer client.CloseIdleConnections()
	_, err = Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: caFile, Code: code, StateDir: state,
		Profile: "generic-x86", Now: now, HTTPClient: client})
	return err
}

// TestEnrollDeviceCAChecked: the device CA a hub names in its answer
// must be a CA and the one that issued the device certificate; else
// nothing is stored. It is only ever trusted for the device certificate:
// the hub's HTTPS certificate must still chain to --ca (a certificate the
// hub CA issued for the hub is refused by a kiosk enrolled with the
// operator's root).
func TestEnrollDeviceCAChecked(t *testing.T) {
	start := time.Now()
	h, _, rootFile := operatorHub(t, start)
	other, err := certs.NewCA("Another CA", start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	der := func(b []byte) json.RawMessage {
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]json.RawMessage)
		want string
	}{
		{"the device certificate itself", func(m map[string]json.RawMessage) { m["device_ca"] = m["cert"] }, "is not a CA certificate"},
		{"another CA", func(m map[string]json.RawMessage) { m["device_ca"] = der(other.Cert.Raw) }, ErrCertRefused.Error()},
		{"not a certificate", func(m map[string]json.RawMessage) { m["device_ca"] = der([]byte("junk")) }, "the hub's device CA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := filepath.Join(t.TempDir(), "state")
			err := enrollEdited(t, h, tc.name, rootFile, state, time.Now, tc.edit)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("enroll: %v, want an error saying %q", err, tc.want)
			}
			for _, f := range []string{EnrollmentFile, DeviceCAFile, CAFile, CertFile} {
				if _, err := os.Stat(filepath.Join(state, f)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s after a refused enrollment: %v", f, err)
				}
			}
		})
	}

	state := filepath.Join(t.TempDir(), "state")
	if err := enrollEdited(t, h, "north-1", rootFile, state, time.Now, func(map[string]json.RawMessage) {}); err != nil {
		t.Fatal(err)
	}
	c, err := ClientFromStateDir(Config{StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.ReadFile(filepath.Join(h.DataDir, certs.ServerCertFile)) // the hub CA's certificate for the hub
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := certs.DecodeCertPEM(own)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.dialer.TLSClientConfig.RootCAs, DNSName: "localhost"}); err == nil {
		t.Error("the kiosk trusts the hub CA's certificate for the hub: the device CA is trusted for HTTPS")
	}
}

// TestEnrollOlderHubLeavesNoDeviceCA: a state directory may hold a
// device-ca.pem from an enrollment that did not finish (state.json not
// written) with another hub. Enrolled again with a hub that names no
// device CA (an older one: ca.pem is its CA), it is removed, so the
// kiosk's renewals are checked against this hub's CA, and succeed.
func TestEnrollOlderHubLeavesNoDeviceCA(t *testing.T) {
	start := time.Now()
	hubClock := hubtest.NewClock(start)
	h := hubtest.Start(t, hubtest.Options{Clock: hubClock})
	kiosk := &fakeClock{now: start}
	state := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	other, err := certs.NewCA("Another Hub CA", start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, DeviceCAFile), other.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := enrollEdited(t, h, "north-1", filepath.Join(h.DataDir, CAFile), state, kiosk.Now, func(m map[string]json.RawMessage) { delete(m, "device_ca") }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(state, DeviceCAFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s of the earlier enrollment: %v; want it removed", DeviceCAFile, err)
	}
	old, err := loadKeyPair(state)
	if err != nil {
		t.Fatal(err)
	}
	kiosk.Advance(21 * 24 * time.Hour)
	hubClock.Advance(21 * 24 * time.Hour)
	waitRenewed(t, connectAt(t, state, kiosk), old.Leaf)
}
