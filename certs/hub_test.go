package certs_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shiftgate/shiftgate/certs"
)

func mustHub(t *testing.T, dir string, hosts []string, now time.Time) *certs.Hub {
	t.Helper()
	h, err := certs.LoadOrCreateHub(dir, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func fileModes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		modes[e.Name()] = fi.Mode().Perm()
	}
	return modes
}

func TestLoadOrCreateHubCreatesFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix file modes")
	}
	dir := filepath.Join(t.TempDir(), "data")
	h := mustHub(t, dir, []string{"hub.example.com"}, t0)

	want := map[string]fs.FileMode{
		"ca.pem":         0o644,
		"ca-key.pem":     0o600,
		"server.pem":     0o644,
		"server-key.pem": 0o600,
	}
	if diff := cmp.Diff(want, fileModes(t, dir)); diff != "" {
		t.Errorf("files in data dir (-want +got), no temporary files may remain:\n%s", diff)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, %v; want 0700", fi.Mode().Perm(), err)
	}

	caPEM, err := os.ReadFile(filepath.Join(dir, certs.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := certs.CAPool(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf := h.Certificate().Leaf
	if _, err := leaf.Verify(x509VerifyOptions(pool, "hub.example.com", t0)); err != nil {
		t.Errorf("server certificate does not verify for hub.example.com: %v", err)
	}
	if got, want := leaf.NotAfter.Sub(t0), certs.ServerCertLifetime; got != want {
		t.Errorf("server certificate lifetime from now = %v, want %v", got, want)
	}
	onDisk, err := certs.LoadKeyPair(filepath.Join(dir, certs.ServerCertFile), filepath.Join(dir, certs.ServerKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if !onDisk.Leaf.Equal(leaf) {
		t.Error("server.pem differs from Hub.Certificate")
	}
}

func TestLoadOrCreateHubReuse(t *testing.T) {
	hosts := []string{"hub.example.com", "10.0.0.5"}
	tests := []struct {
		name        string
		hosts       []string
		now         time.Time
		wantNewCert bool
	}{
		{name: "same hosts", hosts: hosts, now: t0.Add(time.Hour)},
		{name: "same hosts other order and case", hosts: []string{"10.0.0.5", "HUB.example.com"}, now: t0.Add(time.Hour)},
		{name: "subset of hosts", hosts: []string{"hub.example.com"}, now: t0.Add(time.Hour)},
		{name: "new host", hosts: append(slices.Clone(hosts), "kiosks.example.com"), now: t0.Add(time.Hour), wantNewCert: true},
		{name: "new IP", hosts: append(slices.Clone(hosts), "10.0.0.6"), now: t0.Add(time.Hour), wantNewCert: true},
		{name: "31 days left", hosts: hosts, now: t0.Add(59 * 24 * time.Hour)},
		{name: "29 days left", hosts: hosts, now: t0.Add(61 * 24 * time.Hour), wantNewCert: true},
		{name: "expired", hosts: hosts, now: t0.Add(200 * 24 * time.Hour), wantNewCert: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := mustHub(t, dir, hosts, t0)
			second := mustHub(t, dir, tt.hosts, tt.now)

			if !second.CA.Cert.Equal(first.CA.Cert) {
				t.Fatal("second start created a new CA")
			}
			oldLeaf, newLeaf := first.Certificate().Leaf, second.Certificate().Leaf
			if gotNew := !newLeaf.Equal(oldLeaf); gotNew != tt.wantNewCert {
				t.Fatalf("server certificate re-issued = %v, want %v", gotNew, tt.wantNewCert)
			}
			if !tt.wantNewCert {
				return
			}
			if publicKeysEqualTest(oldLeaf.PublicKey, newLeaf.PublicKey) {
				t.Error("re-issued certificate reuses the old key")
			}
			if !newLeaf.NotAfter.Equal(tt.now.Add(certs.ServerCertLifetime)) {
				t.Errorf("re-issued NotAfter = %v, want now+90d", newLeaf.NotAfter)
			}
			for _, host := range tt.hosts {
				if err := newLeaf.VerifyHostname(host); err != nil {
					t.Errorf("re-issued certificate: %v", err)
				}
			}
			// The files follow: a third start reuses the new certificate.
			third := mustHub(t, dir, tt.hosts, tt.now)
			if !third.Certificate().Leaf.Equal(newLeaf) {
				t.Error("third start did not reuse the re-issued certificate")
			}
		})
	}
}

func TestRenewServerCert(t *testing.T) {
	dir := t.TempDir()
	h := mustHub(t, dir, nil, t0)
	old := h.Certificate()
	steps := []struct {
		name string
		now  time.Time
		want bool
	}{
		{name: "fresh", now: t0.Add(24 * time.Hour), want: false},
		{name: "inside renewal window", now: t0.Add(61 * 24 * time.Hour), want: true},
		{name: "just renewed", now: t0.Add(62 * 24 * time.Hour), want: false},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := h.RenewServerCert(s.now)
			if err != nil || got != s.want {
				t.Fatalf("RenewServerCert = %v, %v; want %v", got, err, s.want)
			}
		})
	}
	if h.Certificate().Leaf.Equal(old.Leaf) {
		t.Error("Certificate still returns the old certificate")
	}
	served, _ := h.GetCertificate(nil)
	if served != h.Certificate() {
		t.Error("GetCertificate does not return the current certificate")
	}
}

func TestLoadOrCreateHubRefuses(t *testing.T) {
	tests := []struct {
		name       string
		unixOnly   bool
		break_     func(t *testing.T, dir string)
		wantErr    string
		wantSubstr []string
		wantIs     error
	}{
		{
			name:     "CA key readable by others",
			unixOnly: true,
			break_:   func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, certs.CAKeyFile), 0o644) },
			wantIs:   certs.ErrInsecureKeyFile,
			wantErr:  "ca-key.pem has mode 0644; fix with: chmod 600 ",
		},
		{
			name:     "server key readable by group",
			unixOnly: true,
			break_:   func(t *testing.T, dir string) { chmod(t, filepath.Join(dir, certs.ServerKeyFile), 0o640) },
			wantIs:   certs.ErrInsecureKeyFile,
			wantErr:  "server-key.pem has mode 0640; fix with: chmod 600 ",
		},
		{
			name:    "CA certificate missing",
			break_:  func(t *testing.T, dir string) { remove(t, filepath.Join(dir, certs.CACertFile)) },
			wantErr: "ca.pem is missing",
		},
		{
			name:    "CA key missing",
			break_:  func(t *testing.T, dir string) { remove(t, filepath.Join(dir, certs.CAKeyFile)) },
			wantErr: "ca-key.pem is missing",
		},
		{
			name: "CA key of another CA",
			break_: func(t *testing.T, dir string) {
				if err := certs.WriteKeyFile(filepath.Join(dir, certs.CAKeyFile), p256Key(t)); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "CA key does not match",
		},
		{
			name: "CA file holds a leaf",
			break_: func(t *testing.T, dir string) {
				data, err := os.ReadFile(filepath.Join(dir, certs.ServerCertFile))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, certs.CACertFile), data, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: "not a CA certificate",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unixOnly && runtime.GOOS == "windows" {
				t.Skip("Unix file modes")
			}
			dir := t.TempDir()
			mustHub(t, dir, nil, t0)
			tt.break_(t, dir)
			before := fileModes(t, dir)

			_, err := certs.LoadOrCreateHub(dir, nil, t0)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantIs)
			}
			if diff := cmp.Diff(before, fileModes(t, dir)); diff != "" {
				t.Errorf("refusal changed the data dir (-before +after):\n%s", diff)
			}
		})
	}
}

func TestLoadOrCreateHubRepairsServerFiles(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, dir string)
	}{
		{name: "server certificate missing", break_: func(t *testing.T, dir string) { remove(t, filepath.Join(dir, certs.ServerCertFile)) }},
		{name: "server key missing", break_: func(t *testing.T, dir string) { remove(t, filepath.Join(dir, certs.ServerKeyFile)) }},
		{name: "server key replaced (crash between writes)", break_: func(t *testing.T, dir string) {
			if err := certs.WriteKeyFile(filepath.Join(dir, certs.ServerKeyFile), p256Key(t)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "server certificate garbage", break_: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, certs.ServerCertFile), []byte("junk"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "server certificate from another CA", break_: func(t *testing.T, dir string) {
			other := mustHub(t, t.TempDir(), nil, t0)
			tc := other.Certificate()
			if err := certs.WriteCertFile(filepath.Join(dir, certs.ServerCertFile), tc.Certificate[0]); err != nil {
				t.Fatal(err)
			}
			if err := certs.WriteKeyFile(filepath.Join(dir, certs.ServerKeyFile), tc.PrivateKey.(*ecdsaPrivateKey)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := mustHub(t, dir, nil, t0)
			tt.break_(t, dir)
			second := mustHub(t, dir, nil, t0)
			if !second.CA.Cert.Equal(first.CA.Cert) {
				t.Fatal("CA changed")
			}
			if err := second.Certificate().Leaf.CheckSignatureFrom(first.CA.Cert); err != nil {
				t.Fatalf("server certificate not from the hub CA: %v", err)
			}
			if _, err := certs.LoadKeyPair(filepath.Join(dir, certs.ServerCertFile), filepath.Join(dir, certs.ServerKeyFile)); err != nil {
				t.Fatalf("server files not repaired: %v", err)
			}
		})
	}
}

func chmod(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, path string) {
	t.Helper()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
}
