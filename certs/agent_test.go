package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

func TestNewDeviceKeyAndCSR(t *testing.T) {
	key, err := certs.NewDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	if key.Curve != elliptic.P256() {
		t.Errorf("curve = %s, want P-256", key.Curve.Params().Name)
	}
	der, err := certs.NewCSR(key, "Ward 3 kiosk")
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Error(err)
	}
	if csr.Subject.CommonName != "Ward 3 kiosk" {
		t.Errorf("CN = %q", csr.Subject.CommonName)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := certs.NewCSR(p384, "x"); err == nil {
		t.Error("NewCSR accepted a P-384 key")
	}
}

func TestKeyFiles(t *testing.T) {
	pki := certstest.New(t)
	dev := pki.Device(t, "kiosk-1")
	key := dev.PrivateKey.(*ecdsa.PrivateKey)
	wrongKey, _ := certs.NewDeviceKey()

	tests := []struct {
		name      string
		setup     func(t *testing.T, dir string) (certPath, keyPath string)
		wantErr   string
		wantIsErr error
	}{
		{
			name: "round trip",
			setup: func(t *testing.T, dir string) (string, string) {
				return writePair(t, dir, dev.Certificate[0], key)
			},
		},
		{
			name: "overwrites an existing 0644 file with 0600",
			setup: func(t *testing.T, dir string) (string, string) {
				if err := os.WriteFile(filepath.Join(dir, "device-key.pem"), []byte("old"), 0o644); err != nil {
					t.Fatal(err)
				}
				return writePair(t, dir, dev.Certificate[0], key)
			},
		},
		{
			name: "key does not match",
			setup: func(t *testing.T, dir string) (string, string) {
				return writePair(t, dir, dev.Certificate[0], wrongKey)
			},
			wantErr: "does not match",
		},
		{
			name: "key file readable by others",
			setup: func(t *testing.T, dir string) (string, string) {
				c, k := writePair(t, dir, dev.Certificate[0], key)
				chmod(t, k, 0o604)
				return c, k
			},
			wantErr:   "chmod 600",
			wantIsErr: certs.ErrInsecureKeyFile,
		},
		{
			name: "certificate file holds a key",
			setup: func(t *testing.T, dir string) (string, string) {
				_, k := writePair(t, dir, dev.Certificate[0], key)
				return k, k
			},
			wantErr: "unexpected block",
		},
		{
			name: "missing key",
			setup: func(t *testing.T, dir string) (string, string) {
				c, _ := writePair(t, dir, dev.Certificate[0], key)
				return c, filepath.Join(dir, "nope.pem")
			},
			wantIsErr: os.ErrNotExist,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.wantIsErr == certs.ErrInsecureKeyFile {
				t.Skip("Unix file modes")
			}
			certPath, keyPath := tt.setup(t, t.TempDir())
			tc, err := certs.LoadKeyPair(certPath, keyPath)
			if tt.wantErr != "" || tt.wantIsErr != nil {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.wantIsErr != nil && !errors.Is(err, tt.wantIsErr) {
					t.Fatalf("err = %v, want errors.Is %v", err, tt.wantIsErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.Leaf.Equal(dev.Leaf) || !key.Equal(tc.PrivateKey) {
				t.Error("loaded pair differs from the written one")
			}
			if runtime.GOOS != "windows" {
				for path, want := range map[string]os.FileMode{certPath: 0o644, keyPath: 0o600} {
					fi, err := os.Stat(path)
					if err != nil || fi.Mode().Perm() != want {
						t.Errorf("%s mode = %v, %v; want %v", filepath.Base(path), fi.Mode().Perm(), err, want)
					}
				}
			}
		})
	}
}

func writePair(t *testing.T, dir string, certDER []byte, key *ecdsa.PrivateKey) (string, string) {
	t.Helper()
	c, k := filepath.Join(dir, "device.pem"), filepath.Join(dir, "device-key.pem")
	if err := certs.WriteCertFile(c, certDER); err != nil {
		t.Fatal(err)
	}
	if err := certs.WriteKeyFile(k, key); err != nil {
		t.Fatal(err)
	}
	return c, k
}

func TestNewRenewerRejects(t *testing.T) {
	pki := certstest.New(t)
	dev := pki.Device(t, "kiosk-1")
	wrongKey, _ := certs.NewDeviceKey()
	tests := []struct {
		name string
		cert *tls.Certificate
	}{
		{name: "nil", cert: nil},
		{name: "no certificate", cert: &tls.Certificate{PrivateKey: dev.PrivateKey}},
		{name: "no key", cert: &tls.Certificate{Certificate: dev.Certificate}},
		{name: "wrong key", cert: &tls.Certificate{Certificate: dev.Certificate, PrivateKey: wrongKey}},
		{name: "not a device certificate", cert: pki.Hub.Certificate()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := certs.NewRenewer(tt.cert); err == nil {
				t.Error("NewRenewer succeeded")
			}
		})
	}
	// Leaf is filled in when missing.
	r, err := certs.NewRenewer(&tls.Certificate{Certificate: dev.Certificate, PrivateKey: dev.PrivateKey})
	if err != nil {
		t.Fatal(err)
	}
	if r.Current().Leaf == nil {
		t.Error("Leaf not parsed")
	}
}

func TestRenewerReplace(t *testing.T) {
	pki := certstest.New(t)
	r, err := certs.NewRenewer(pki.Device(t, "kiosk-1"))
	if err != nil {
		t.Fatal(err)
	}
	renewed := pki.Device(t, "kiosk-1")
	other := pki.Device(t, "kiosk-2")
	wrongKey, _ := certs.NewDeviceKey()

	tests := []struct {
		name    string
		der     []byte
		key     *ecdsa.PrivateKey
		wantErr string
	}{
		{name: "other device", der: other.Certificate[0], key: other.PrivateKey.(*ecdsa.PrivateKey), wantErr: `for device "kiosk-2", not "kiosk-1"`},
		{name: "wrong key", der: renewed.Certificate[0], key: wrongKey, wantErr: "does not match"},
		{name: "garbage", der: []byte("junk"), key: wrongKey, wantErr: "replace device certificate"},
		{name: "renewal", der: renewed.Certificate[0], key: renewed.PrivateKey.(*ecdsa.PrivateKey)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.Current()
			err := r.Replace(tt.der, tt.key)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if r.Current() != before {
					t.Error("failed Replace changed the current certificate")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := r.GetClientCertificate(nil)
			if !got.Leaf.Equal(renewed.Leaf) {
				t.Error("GetClientCertificate does not return the renewed certificate")
			}
		})
	}
}

func TestRenewerNeedsRenewal(t *testing.T) {
	pki := certstest.NewAt(t, t0)
	// NotBefore = t0-1h, NotAfter = t0+30d: two thirds in is t0+20d-20m.
	r, err := certs.NewRenewer(pki.DeviceAt(t, "kiosk-1", 30*24*time.Hour, t0))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{name: "just issued", now: t0, want: false},
		{name: "half way", now: t0.Add(15 * 24 * time.Hour), want: false},
		{name: "just before two thirds", now: t0.Add(20*24*time.Hour - 20*time.Minute - time.Second), want: false},
		{name: "at two thirds", now: t0.Add(20*24*time.Hour - 20*time.Minute), want: true},
		{name: "expired", now: t0.Add(31 * 24 * time.Hour), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.NeedsRenewal(tt.now); got != tt.want {
				t.Errorf("NeedsRenewal(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

// TestRenewerConcurrentSwap replaces the certificate while real handshakes
// and direct GetClientCertificate calls run; run it with -race.
func TestRenewerConcurrentSwap(t *testing.T) {
	pki := certstest.New(t)
	initial := pki.Device(t, "kiosk-1")
	r, err := certs.NewRenewer(initial)
	if err != nil {
		t.Fatal(err)
	}
	const nCerts = 8
	next := make([]*tls.Certificate, nCerts)
	valid := map[string]bool{initial.Leaf.SerialNumber.String(): true}
	for i := range next {
		next[i] = pki.Device(t, "kiosk-1")
		valid[next[i].Leaf.SerialNumber.String()] = true
	}

	var seenMu sync.Mutex
	seen := map[string]bool{}
	addr, results := startTLSServer(t, certs.ServerTLSConfig(pki.Hub, func(id string, c *x509.Certificate) error {
		seenMu.Lock()
		defer seenMu.Unlock()
		seen[c.SerialNumber.String()] = true
		return nil
	}))
	client := certs.ClientTLSConfig(pki.CAPool(), r)

	const handshakers, perHandshaker = 4, 8
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, handshakers*perHandshaker+1)

	// Swapper.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			c := next[i%nCerts]
			if err := r.Replace(c.Certificate[0], c.PrivateKey.(*ecdsa.PrivateKey)); err != nil {
				errs <- err
				return
			}
			r.NeedsRenewal(time.Now())
		}
	}()
	// Direct readers.
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, _ := r.GetClientCertificate(nil)
				if !valid[c.Leaf.SerialNumber.String()] {
					errs <- errors.New("GetClientCertificate returned an unknown certificate")
					return
				}
				if !c.PrivateKey.(*ecdsa.PrivateKey).PublicKey.Equal(c.Leaf.PublicKey) {
					errs <- errors.New("GetClientCertificate returned a torn key pair")
					return
				}
			}
		}()
	}
	// Handshakers.
	var hwg sync.WaitGroup
	for range handshakers {
		hwg.Add(1)
		go func() {
			defer hwg.Done()
			for range perHandshaker {
				if _, err := dial(t.Context(), addr, client); err != nil {
					errs <- err
				}
			}
		}()
	}
	hwg.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for range handshakers * perHandshaker {
		if res := recv(t, results); res.err != nil {
			t.Errorf("server handshake: %v", res.err)
		}
	}
	for s := range seen {
		if !valid[s] {
			t.Errorf("server saw unknown serial %s", s)
		}
	}
}
