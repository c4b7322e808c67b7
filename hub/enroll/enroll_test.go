package enroll_test

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// t0 is the tests' clock: whole seconds, as X.509 times are.
var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

type env struct {
	st  *sqlite.DB
	log *audit.Log
	ca  *certs.CA
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log, err := audit.New(make([]byte, 32), func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	ca, err := certs.NewCA("Test CA", t0.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, log: log, ca: ca}
}

func (e *env) code(t *testing.T, name, profile string) string {
	t.Helper()
	code, err := enroll.NewCode(t.Context(), e.st, e.log, "cli", name, "north", profile, t0)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// csr makes a kiosk's CSR the way the agent does, with tmpl's names.
func csr(t *testing.T, tmpl *x509.CertificateRequest) []byte {
	t.Helper()
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	if tmpl == nil {
		der, err := certs.NewCSR(key, "shiftgate-agent")
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (e *env) redeem(t *testing.T, code, profile string, csrDER []byte, at time.Time) (wire.EnrollResponse, error) {
	t.Helper()
	return enroll.Redeem(t.Context(), e.st, e.log, e.ca, wire.EnrollRequest{Code: code, CSR: csrDER, Profile: profile}, at)
}

func TestNewCodeFormat(t *testing.T) {
	e := newEnv(t)
	shape := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$`)
	seen := map[string]bool{}
	for i := range 50 {
		code := e.code(t, "kiosk-"+strings.Repeat("x", i+1), "")
		if !shape.MatchString(code) {
			t.Fatalf("code %q is not four groups of four Crockford base32 characters", code)
		}
		if seen[code] {
			t.Fatalf("code %q repeated", code)
		}
		seen[code] = true
	}
}

// TestCheckKiosk: CheckKiosk refuses what NewCode refuses of a name and a
// site alone (a blank one, a control or invisible formatting character,
// bytes that are not UTF-8, more than 500 bytes),
// with NewCode's error, and passes the rest.
func TestCheckKiosk(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, kiosk, site string
		ok                bool
	}{
		{"both", "north-1", "north", true},
		{"padded", " north-1 ", " north ", true},
		{"blank name", " ", "north", false},
		{"empty site", "north-1", "", false},
		{"blank both", "\t", " ", false},
		{"escape in name", "north\x1b[2J", "north", false},
		{"NUL in site", "north-2", "no\x00rth", false},
		{"newline in name", "north-3\nsite=south", "north", false},
		{"right-to-left override in name", "north-4\u202e1-htron", "north", false},
		{"zero-width space in site", "north-5", "nor\u200bth", false},
		{"not UTF-8", "north-\xff", "north", false},
		{"letters outside ASCII", "Küche-1", "Łódź", true},
		{"name too long", strings.Repeat("k", 501), "north", false},
		{"name at the limit", strings.Repeat("k", 500), "north", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cerr := enroll.CheckKiosk(tc.kiosk, tc.site)
			_, nerr := enroll.NewCode(t.Context(), e.st, e.log, "cli", tc.kiosk, tc.site, "", t0)
			if (cerr == nil) != tc.ok || (nerr == nil) != tc.ok {
				t.Fatalf("CheckKiosk = %v, NewCode = %v; want ok %v for both", cerr, nerr, tc.ok)
			}
			if !tc.ok && cerr.Error() != nerr.Error() {
				t.Errorf("CheckKiosk says %q, NewCode %q", cerr, nerr)
			}
		})
	}
}

// TestRedeemCodeAsTyped checks that a code works however it is typed (case,
// spaces, dashes, the letters Crockford reads as digits) and only once.
func TestRedeemCodeAsTyped(t *testing.T) {
	tests := []struct {
		name  string
		typed func(code string) string
	}{
		{name: "as shown", typed: func(c string) string { return c }},
		{name: "lower case, spaces", typed: func(c string) string { return strings.ToLower(strings.ReplaceAll(c, "-", " ")) }},
		{name: "no dashes, O and I for 0 and 1", typed: func(c string) string {
			return strings.NewReplacer("-", "", "0", "O", "1", "I").Replace(c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			code := e.code(t, "kiosk-1", "")
			if _, err := e.redeem(t, tt.typed(code), "rpi5-touch", csr(t, nil), t0); err != nil {
				t.Fatalf("redeem %q: %v", tt.typed(code), err)
			}
			if _, err := e.redeem(t, code, "rpi5-touch", csr(t, nil), t0); !errors.Is(err, enroll.ErrBadCode) {
				t.Fatalf("second redemption: err = %v, want ErrBadCode", err)
			}
		})
	}
}

// TestRedeemConcurrent checks that a code enrolls one kiosk however many
// race to redeem it.
func TestRedeemConcurrent(t *testing.T) {
	e := newEnv(t)
	code := e.code(t, "kiosk-1", "")
	const n = 16
	csrs := make([][]byte, n)
	for i := range csrs {
		csrs[i] = csr(t, nil)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ok   []string
		errs []error
	)
	for i := range n {
		wg.Go(func() {
			resp, err := e.redeem(t, code, "rpi5-touch", csrs[i], t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ok = append(ok, resp.DeviceID)
		})
	}
	wg.Wait()
	if len(ok) != 1 {
		t.Fatalf("%d redemptions succeeded (%v), want 1", len(ok), ok)
	}
	for _, err := range errs {
		if !errors.Is(err, enroll.ErrBadCode) {
			t.Errorf("losing redemption: err = %v, want ErrBadCode", err)
		}
	}
}

func TestRedeemExpiry(t *testing.T) {
	tests := []struct {
		name    string
		at      time.Time
		wantErr error
	}{
		{name: "just before expiry", at: t0.Add(enroll.CodeTTL - time.Nanosecond)},
		{name: "at expiry", at: t0.Add(enroll.CodeTTL), wantErr: enroll.ErrBadCode},
		{name: "after expiry", at: t0.Add(enroll.CodeTTL + time.Second), wantErr: enroll.ErrBadCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			code := e.code(t, "kiosk-1", "")
			_, err := e.redeem(t, code, "rpi5-touch", csr(t, nil), tt.at)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestRedeemIdentityFromHub checks that the certificate names the device
// the hub created, whatever the CSR asks for, and that the response
// carries the hub CA that issued it (for a kiosk whose --ca is another
// CA's root: the hub serves an operator's HTTPS certificate).
func TestRedeemIdentityFromHub(t *testing.T) {
	e := newEnv(t)
	code := e.code(t, "kiosk-1", "")
	greedy := csr(t, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "admin"},
		DNSNames: []string{"localhost"},
		URIs:     []*url.URL{{Scheme: "urn", Opaque: "shiftgate:device:someone-else"}},
	})
	resp, err := e.redeem(t, code, "rpi5-touch", greedy, t0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(resp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	id, err := certs.DeviceID(cert)
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		ID, CN, Name, Site string
		DNS                []string
		EKU                []x509.ExtKeyUsage
		NotAfter           time.Time
	}
	got := view{id, cert.Subject.CommonName, resp.DeviceName, resp.Site, cert.DNSNames, cert.ExtKeyUsage, cert.NotAfter.UTC()}
	want := view{resp.DeviceID, resp.DeviceID, "kiosk-1", "north", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, t0.Add(enroll.DeviceCertLifetime)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("enrollment (-want +got):\n%s", diff)
	}
	d, err := e.st.GetDevice(t.Context(), resp.DeviceID)
	if err != nil || d.State != store.DeviceActive || d.Name != "kiosk-1" {
		t.Errorf("device = %+v, %v; want kiosk-1, active", d, err)
	}
	if !bytes.Equal(resp.DeviceCA, e.ca.Cert.Raw) {
		t.Error("the response does not carry the hub CA")
	}
	if err := cert.CheckSignatureFrom(e.ca.Cert); err != nil {
		t.Errorf("the device certificate is not the hub CA's: %v", err)
	}
}

// TestRedeemRefusalKeepsCode checks that a redemption refused for the
// kiosk's request (not for the code) leaves the code usable.
func TestRedeemRefusalKeepsCode(t *testing.T) {
	tests := []struct {
		name    string
		profile string // the code's
		req     wire.EnrollRequest
		wantErr error
	}{
		{name: "bad CSR", req: wire.EnrollRequest{CSR: []byte("not a CSR"), Profile: "rpi5-touch"}, wantErr: enroll.ErrBadCSR},
		{name: "wrong profile", profile: "rpi5-touch", req: wire.EnrollRequest{Profile: "generic-usb"}, wantErr: enroll.ErrWrongProfile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			code := e.code(t, "kiosk-1", tt.profile)
			req := tt.req
			req.Code = code
			if req.CSR == nil {
				req.CSR = csr(t, nil)
			}
			if _, err := enroll.Redeem(t.Context(), e.st, e.log, e.ca, req, t0); !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if _, err := e.redeem(t, code, "rpi5-touch", csr(t, nil), t0); err != nil {
				t.Fatalf("redeem after refusal: %v", err)
			}
		})
	}
}
