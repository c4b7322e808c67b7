package agent

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs/certstest"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// certEnrollServer is a hub's POST /agent/v1/enroll over HTTPS with the
// certstest PKI that enrolls every request as device kiosk-1 ("Ward 3
// kiosk"), answering with the certificate issue makes for the request's
// CSR and with date as the Date header (none when date is zero).
func certEnrollServer(t *testing.T, pki *certstest.PKI, date time.Time, issue func(csr []byte) []byte) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req wire.EnrollRequest
		if r.URL.Path != wire.EnrollPath || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "not an enrollment", http.StatusBadRequest)
			return
		}
		if date.IsZero() {
			w.Header()["Date"] = nil // net/http adds none then
		} else {
			w.Header().Set("Date", date.UTC().Format(http.TimeFormat))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(wire.EnrollResponse{DeviceID: "kiosk-1", DeviceName: "Ward 3 kiosk", Site: "north", Cert: issue(req.CSR)})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*pki.Hub.Certificate()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestEnrollChecksCertificate: the certificate the hub issues at enrollment
// is checked as a renewed one is (checkIssuedCert), by the hub's clock as
// the answer's Date header tells it; a refused one fails Enroll with
// ErrCertRefused, saying why and what to do, and leaves nothing in the
// state directory but its lock file.
func TestEnrollChecksCertificate(t *testing.T) {
	const day = 24 * time.Hour
	type issueFunc func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte
	hubIssues := func(lifetime time.Duration) issueFunc { // as hub/enroll signs, at hubNow
		return func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
			return signCSR(t, pki.CA, csr, "kiosk-1", lifetime, hubNow)
		}
	}
	crafted := func(mod func(c *x509.Certificate, hubNow time.Time)) issueFunc {
		return func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
			return craftCert(t, pki.CA, csr, hubNow, func(c *x509.Certificate) { mod(c, hubNow) })
		}
	}
	for _, tc := range []struct {
		name    string
		kiosk   time.Duration // the kiosk's clock minus the hub's
		noDate  bool          // the answer has no Date header
		issue   issueFunc
		problem string // in the error; "" for a certificate that must be taken
	}{
		{name: "what the hub issues: 30 days, backdated an hour", issue: hubIssues(MaxDeviceCertLifetime)},
		// Judged by the kiosk's clock, it would start after it and end
		// more than 30 days from it.
		{name: "kiosk clock two hours behind the hub's Date", kiosk: -2 * time.Hour, issue: hubIssues(MaxDeviceCertLifetime)},
		{name: "kiosk clock a day ahead of the hub's Date", kiosk: day, issue: hubIssues(MaxDeviceCertLifetime)},
		{name: "no Date header, kiosk clock right", noDate: true, issue: hubIssues(MaxDeviceCertLifetime)},
		{name: "90 days", issue: hubIssues(90 * day), problem: "it is valid for 2161h0m0s"},
		{name: "90 days, no Date header", noDate: true, issue: hubIssues(90 * day), problem: "it is valid for 2161h0m0s"},
		{
			name: "30 days and 30 minutes from the hub's Date, not backdated",
			issue: crafted(func(c *x509.Certificate, hubNow time.Time) {
				c.NotBefore, c.NotAfter = hubNow.Add(4*time.Minute), hubNow.Add(30*day+30*time.Minute)
			}),
			problem: "from now by the hub's clock",
		},
		{
			name:    "common name of another device",
			issue:   crafted(func(c *x509.Certificate, _ time.Time) { c.Subject.CommonName = "kiosk-2" }),
			problem: `its subject CN is "kiosk-2", not this kiosk's device ID "kiosk-1"`,
		},
		{
			name: "URI SAN of another device than the hub answered",
			issue: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-2", day, hubNow)
			},
			problem: `it is for device "kiosk-2", not this kiosk's "kiosk-1"`,
		},
		{
			name:    "no device URI",
			issue:   crafted(func(c *x509.Certificate, _ time.Time) { c.URIs = nil }),
			problem: "no urn:shiftgate:device: URI SAN",
		},
		{
			// Fine by the kiosk's clock: only the Date refuses it.
			name:    "starts in two hours by the hub's Date, kiosk clock three hours ahead",
			kiosk:   3 * time.Hour,
			issue:   crafted(func(c *x509.Certificate, hubNow time.Time) { c.NotBefore = hubNow.Add(2 * time.Hour) }),
			problem: "it is not valid before",
		},
		{
			name:  "expired by the hub's Date, valid by the kiosk's clock",
			kiosk: -2 * day,
			issue: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-1", day, hubNow.Add(-2*day))
			},
			problem: "before now by the hub's clock",
		},
		{
			name: "expired",
			issue: func(t *testing.T, pki *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, pki.CA, csr, "kiosk-1", day, hubNow.Add(-3*day))
			},
			problem: "it expired at",
		},
		{
			name: "for another key",
			issue: func(t *testing.T, pki *certstest.PKI, _ []byte, hubNow time.Time) []byte {
				return pki.DeviceAt(t, "kiosk-1", day, hubNow).Certificate[0]
			},
			problem: "it is not for the key this kiosk generated for the enrollment",
		},
		{
			name: "from another CA",
			issue: func(t *testing.T, _ *certstest.PKI, csr []byte, hubNow time.Time) []byte {
				return signCSR(t, certstest.NewAt(t, hubNow).CA, csr, "kiosk-1", day, hubNow)
			},
			problem: "does not chain to the hub CA",
		},
		{
			name: "for server authentication",
			issue: crafted(func(c *x509.Certificate, _ time.Time) {
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
			}),
			problem: "for client authentication",
		},
		{
			name: "a CA certificate",
			issue: crafted(func(c *x509.Certificate, _ time.Time) {
				c.IsCA, c.KeyUsage = true, x509.KeyUsageDigitalSignature|x509.KeyUsageCertSign
			}),
			problem: "it is a CA certificate",
		},
		{
			name:    "not a certificate",
			issue:   func(*testing.T, *certstest.PKI, []byte, time.Time) []byte { return []byte("certificate") },
			problem: "it does not parse",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := certstest.New(t)
			hubNow := time.Now()
			date := hubNow
			if tc.noDate {
				date = time.Time{}
			}
			issued := make(chan []byte, 1)
			url := certEnrollServer(t, pki, date, func(csr []byte) []byte {
				der := tc.issue(t, pki, csr, hubNow)
				issued <- der
				return der
			})
			dir := filepath.Join(t.TempDir(), "state")
			_, err := Enroll(t.Context(), EnrollConfig{HubURL: url, CAFile: writeCA(t, pki), Code: "good-code",
				StateDir: dir, Profile: "ward-tablet", Now: func() time.Time { return hubNow.Add(tc.kiosk) }})
			der := recv(t, issued, "the hub's certificate")

			if tc.problem == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				pair, err := loadKeyPair(dir)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(pair.Leaf.Raw, der) {
					t.Error("the certificate on disk is not the one the hub issued")
				}
				if _, err := ReadEnrollment(dir); err != nil {
					t.Errorf("state.json: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("enrolled with the certificate (want it refused: %s)", tc.problem)
			}
			t.Log(err)
			if !errors.Is(err, ErrCertRefused) {
				t.Errorf("error is not ErrCertRefused: %v", err)
			}
			for _, want := range []string{tc.problem, "check the hub's version and clock", "nothing was stored on this kiosk",
				`registered the kiosk "Ward 3 kiosk" (device "kiosk-1")`, "enroll with a new code"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not say %q: %v", want, err)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != LockFile {
					t.Errorf("a refused enrollment left %s in the state directory", e.Name())
				}
			}
		})
	}
}

// TestEnrollRealHubCertificate: the certificate a real hub (hubtest)
// issues passes the checks, whatever the kiosk's clock (within the
// certificate's validity): the hub's Date header judges it.
func TestEnrollRealHubCertificate(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	for _, tc := range []struct {
		name  string
		kiosk time.Duration // the kiosk's clock minus the hub's
	}{
		{name: "clocks agree"},
		{name: "kiosk clock two hours behind", kiosk: -2 * time.Hour},
		{name: "kiosk clock a day ahead", kiosk: 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "north-" + strings.ReplaceAll(tc.name, " ", "-")
			r := h.API(t, http.MethodPost, "/api/v1/devices/codes", map[string]string{"name": name, "site": "north"})
			if r.Status != http.StatusCreated {
				t.Fatalf("device code: %d %s", r.Status, r.Body)
			}
			code, _ := r.JSON()["code"].(string)
			dir := filepath.Join(t.TempDir(), "state")
			res, err := Enroll(t.Context(), EnrollConfig{HubURL: h.URL, CAFile: filepath.Join(h.DataDir, CAFile), Code: code,
				StateDir: dir, Profile: "generic-x86", Now: func() time.Time { return time.Now().Add(tc.kiosk) }})
			if err != nil {
				t.Fatalf("enroll: %v", err)
			}
			e, err := ReadEnrollment(dir)
			if err != nil {
				t.Fatal(err)
			}
			if e.DeviceID != res.DeviceID || e.DeviceName != name {
				t.Errorf("enrolled as %q (%q), want %q (%q)", e.DeviceID, e.DeviceName, res.DeviceID, name)
			}
			pair, err := loadKeyPair(dir)
			if err != nil {
				t.Fatal(err)
			}
			if life := pair.Leaf.NotAfter.Sub(pair.Leaf.NotBefore); life != MaxDeviceCertLifetime+deviceCertBackdate {
				t.Errorf("the hub issued a certificate valid for %s, want %s", life, MaxDeviceCertLifetime+deviceCertBackdate)
			}
		})
	}
}
