package certstest_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/certs/certstest"
)

func TestPKI(t *testing.T) {
	pki := certstest.New(t)
	if _, err := os.Stat(filepath.Join(pki.Dir, certs.CACertFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := certs.CAPool(pki.CAPEM()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		now     time.Time
		wantErr bool
	}{
		{name: "valid now", now: pki.Now},
		{name: "expired after a day", now: pki.Now.Add(certstest.DeviceLifetime + time.Minute), wantErr: true},
	}
	dev := pki.Device(t, "kiosk-1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dev.Leaf.Verify(x509.VerifyOptions{
				Roots:       pki.CAPool(),
				CurrentTime: tt.now,
				KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Verify = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if err := pki.Hub.Certificate().Leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
}
