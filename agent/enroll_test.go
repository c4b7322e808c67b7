package agent

import (
	"crypto/tls"
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

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

// enrollServer is a hub's POST /agent/v1/enroll over HTTPS with the
// certstest PKI. It accepts the code "good-code" once.
func enrollServer(t *testing.T, pki *certstest.PKI) (url string, got chan wire.EnrollRequest) {
	t.Helper()
	got = make(chan wire.EnrollRequest, 4)
	used := false
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != wire.EnrollPath || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var req wire.EnrollRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- req
		if req.Code != "good-code" || used {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"the enrollment code is wrong, expired or already used: ask an administrator for a new one (shiftgate-hub device code)"}`))
			return
		}
		if req.Profile == "other-tablet" { // the code is bound to ward-tablet; as hub/enroll answers
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"this enrollment code is for a kiosk of another hardware profile: enroll with --profile ward-tablet"}`))
			return
		}
		used = true
		der, err := pki.CA.SignDeviceCSR(req.CSR, "dev-42", 24*time.Hour, time.Now())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(wire.EnrollResponse{DeviceID: "dev-42", DeviceName: "Ward 3 kiosk", Site: "north", Cert: der})
	}))
	// The hub's own server certificate (no SNI for 127.0.0.1, so it must
	// be in Certificates rather than behind GetCertificate).
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{*pki.Hub.Certificate()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the wrong-CA case fails handshakes
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, got
}

func writeCA(t *testing.T, pki *certstest.PKI) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pki.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnroll(t *testing.T) {
	pki := certstest.New(t)
	url, got := enrollServer(t, pki)
	dir := filepath.Join(t.TempDir(), "state")
	res, err := Enroll(t.Context(), EnrollConfig{HubURL: url + "/", CAFile: writeCA(t, pki), Code: " good-code\n", StateDir: dir, Profile: "ward-tablet"})
	if err != nil {
		t.Fatal(err)
	}
	if res.DeviceID != "dev-42" || res.Site != "north" {
		t.Errorf("response %+v", res)
	}
	req := <-got
	if req.Code != "good-code" || req.Profile != "ward-tablet" || len(req.CSR) == 0 {
		t.Errorf("request %+v", req)
	}

	for name, want := range map[string]os.FileMode{".": 0o700, KeyFile: 0o600, CertFile: 0o644, CAFile: 0o644, EnrollmentFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", name, fi.Mode().Perm(), want)
		}
	}
	e, err := ReadEnrollment(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Enrollment{Version: 1, HubURL: url, DeviceID: "dev-42", DeviceName: "Ward 3 kiosk", Site: "north", Profile: "ward-tablet",
		Origin: url, RPID: "127.0.0.1"} // the relying party of the --hub URL
	if diff := cmp.Diff(want, e, cmpopts.IgnoreFields(Enrollment{}, "EnrolledAt")); diff != "" {
		t.Errorf("state.json (-want +got):\n%s", diff)
	}
	pair, err := loadKeyPair(dir)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := certs.DeviceID(pair.Leaf); id != "dev-42" {
		t.Errorf("certificate for %q", id)
	}

	// An enrolled directory builds a working agent configuration.
	src, _ := ParseAuthenticator("soft:"+t.TempDir(), authSoftOpts())
	if _, err := New(Config{StateDir: dir, Authenticators: src}); err != nil {
		t.Errorf("New from the enrolled state directory: %v", err)
	}

	// A second enrollment into the same directory is refused.
	_, err = Enroll(t.Context(), EnrollConfig{HubURL: url, CAFile: writeCA(t, pki), Code: "good-code", StateDir: dir, Profile: "ward-tablet"})
	if !errors.Is(err, ErrAlreadyEnrolled) {
		t.Errorf("second enrollment: %v", err)
	}
}

func TestEnrollErrors(t *testing.T) {
	pki := certstest.New(t)
	url, _ := enrollServer(t, pki)
	ca := writeCA(t, pki)
	otherCA := writeCA(t, certstest.New(t))
	for _, tc := range []struct {
		name    string
		cfg     EnrollConfig
		is      error
		mention string
	}{
		{name: "refused code", cfg: EnrollConfig{HubURL: url, CAFile: ca, Code: "bad"}, is: ErrCodeRefused, mention: "shiftgate-hub device code"},
		// Not "the code is wrong": it stays usable with the right profile.
		{name: "code for another profile", cfg: EnrollConfig{HubURL: url, CAFile: ca, Code: "good-code", Profile: "other-tablet"}, is: ErrCodeRefused, mention: "enroll with --profile ward-tablet"},
		{name: "wrong CA", cfg: EnrollConfig{HubURL: url, CAFile: otherCA, Code: "good-code"}, mention: "not signed by the CA"},
		{name: "plain http", cfg: EnrollConfig{HubURL: strings.Replace(url, "https", "http", 1), CAFile: ca, Code: "good-code"}, mention: "https://HOST"},
		{name: "no code", cfg: EnrollConfig{HubURL: url, CAFile: ca}, mention: "missing code"},
		{name: "no hub", cfg: EnrollConfig{CAFile: ca, Code: "good-code"}, mention: "missing hub URL"},
		{name: "missing CA file", cfg: EnrollConfig{HubURL: url, CAFile: "/nonexistent/ca.pem", Code: "good-code"}, mention: "read CA file"},
		{name: "hub down", cfg: EnrollConfig{HubURL: "https://127.0.0.1:1", CAFile: ca, Code: "good-code"}, mention: "cannot reach the hub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			tc.cfg.StateDir = dir
			if tc.cfg.Profile == "" {
				tc.cfg.Profile = "ward-tablet"
			}
			_, err := Enroll(t.Context(), tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.mention) {
				t.Errorf("error %q does not mention %q", err, tc.mention)
			}
			if exists(filepath.Join(dir, EnrollmentFile)) || exists(filepath.Join(dir, KeyFile)) {
				t.Error("a failed enrollment left state behind")
			}
		})
	}
}

func TestLoadKeyPairFinishesInterruptedRenewal(t *testing.T) {
	pki := certstest.New(t)
	first := pki.Device(t, "kiosk-1")
	second := pki.Device(t, "kiosk-1")
	for _, tc := range []struct {
		name  string
		crash func(dir string) // leaves the directory as a crash would
		want  *tls.Certificate
	}{
		{name: "both .next written", want: second, crash: func(dir string) {
			mustNoErr(t, certs.WriteKeyFile(filepath.Join(dir, KeyFile+nextSuffix), signer(second)))
			mustNoErr(t, certs.WriteCertFile(filepath.Join(dir, CertFile+nextSuffix), second.Certificate[0]))
		}},
		{name: "key renamed, certificate not", want: second, crash: func(dir string) {
			mustNoErr(t, certs.WriteKeyFile(filepath.Join(dir, KeyFile), signer(second)))
			mustNoErr(t, certs.WriteCertFile(filepath.Join(dir, CertFile+nextSuffix), second.Certificate[0]))
		}},
		{name: "only the key written", want: first, crash: func(dir string) {
			mustNoErr(t, certs.WriteKeyFile(filepath.Join(dir, KeyFile+nextSuffix), signer(second)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mustNoErr(t, writeKeyPair(dir, signer(first), first.Certificate[0]))
			tc.crash(dir)
			got, err := loadKeyPair(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Leaf.Equal(tc.want.Leaf) {
				t.Error("wrong certificate after recovery")
			}
			if exists(filepath.Join(dir, KeyFile+nextSuffix)) || exists(filepath.Join(dir, CertFile+nextSuffix)) {
				t.Error(".next files left")
			}
		})
	}
}
