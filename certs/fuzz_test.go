package certs_test

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/certs"
)

// The fuzz targets feed arbitrary bytes to every parser this package
// exposes; none may panic, and whatever they accept must satisfy the
// package's invariants.

func fuzzSeeds(f *testing.F) (caPEM, keyPEM, csrDER []byte, ca *certs.CA) {
	f.Helper()
	ca, err := certs.NewCA("Fuzz CA", t0)
	if err != nil {
		f.Fatal(err)
	}
	key, err := certs.NewDeviceKey()
	if err != nil {
		f.Fatal(err)
	}
	keyPEM, err = certs.EncodeKeyPEM(key)
	if err != nil {
		f.Fatal(err)
	}
	csrDER, err = certs.NewCSR(key, "kiosk")
	if err != nil {
		f.Fatal(err)
	}
	return ca.CertPEM(), keyPEM, csrDER, ca
}

func FuzzDecodePEM(f *testing.F) {
	caPEM, keyPEM, csrDER, _ := fuzzSeeds(f)
	f.Add(caPEM)
	f.Add(keyPEM)
	f.Add(certs.EncodeCSRPEM(csrDER))
	f.Add(append(append([]byte("junk\n"), caPEM...), caPEM...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if cs, err := certs.DecodeCertsPEM(data); err == nil && len(cs) == 0 {
			t.Fatal("DecodeCertsPEM returned no certificate and no error")
		}
		certs.DecodeCertPEM(data)
		if pool, err := certs.CAPool(data); err == nil && pool == nil {
			t.Fatal("CAPool returned nil pool and no error")
		}
		if key, err := certs.DecodeKeyPEM(data); err == nil {
			if _, err := certs.EncodeKeyPEM(key); err != nil {
				t.Fatalf("decoded key does not re-encode: %v", err)
			}
		}
		certs.DecodeCSRPEM(data)
	})
}

func FuzzSignDeviceCSR(f *testing.F) {
	_, _, csrDER, ca := fuzzSeeds(f)
	f.Add(csrDER, "kiosk-1")
	f.Add(csrDER[:len(csrDER)/2], "kiosk-1")
	f.Add([]byte{0x30, 0x00}, "")
	f.Add(csrDER, "a/b")
	f.Fuzz(func(t *testing.T, der []byte, deviceID string) {
		out, err := ca.SignDeviceCSR(der, deviceID, time.Hour, t0)
		if err != nil {
			return
		}
		c, err := x509.ParseCertificate(out)
		if err != nil {
			t.Fatalf("issued certificate does not parse: %v", err)
		}
		if id, err := certs.DeviceID(c); err != nil || id != deviceID {
			t.Fatalf("DeviceID = %q, %v; want %q", id, err, deviceID)
		}
		if len(c.DNSNames)+len(c.IPAddresses)+len(c.EmailAddresses) != 0 || len(c.URIs) != 1 || c.IsCA {
			t.Fatalf("issued certificate carries more than the device ID: %+v", c)
		}
	})
}

// FuzzDeviceID parses arbitrary DER as a certificate and extracts the
// device ID, as the hub does for every presented client certificate.
func FuzzDeviceID(f *testing.F) {
	_, _, csrDER, ca := fuzzSeeds(f)
	der, err := ca.SignDeviceCSR(csrDER, "kiosk-1", time.Hour, t0)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(der)
	f.Add(ca.Cert.Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		certs.DeviceID(c)
	})
}
