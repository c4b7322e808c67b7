package enroll_test

import (
	"crypto/x509"
	"encoding/json"
	"testing"

	"github.com/shiftgate/shiftgate/hub/enroll"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRedeemRecordsCertSerial: the device is created with the serial of
// the certificate it was issued, the only one the hub takes for it, and
// the enrollment's audit record names it.
func TestRedeemRecordsCertSerial(t *testing.T) {
	e := newEnv(t)
	resp, err := e.redeem(t, e.code(t, "kiosk-1", ""), "rpi5-touch", csr(t, nil), t0)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(resp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	want := cert.SerialNumber.Text(16)
	if got, err := enroll.CertSerial(resp.Cert); err != nil || got != want {
		t.Errorf("CertSerial = %q, %v; want %q", got, err, want)
	}
	d, err := e.st.GetDevice(t.Context(), resp.DeviceID)
	if err != nil {
		t.Fatal(err)
	}
	if !d.CertIssued.Equal(cert.NotBefore) {
		t.Errorf("device certificate issued %v, want its NotBefore %v", d.CertIssued, cert.NotBefore)
	}
	if d.CertSerial != want || d.PrevCertSerial != "" || !d.PrevCertUntil.IsZero() {
		t.Errorf("device certificate serials %q, previous %q until %v; want %q and none", d.CertSerial, d.PrevCertSerial, d.PrevCertUntil, want)
	}
	recs, err := e.st.ListAudit(t.Context(), store.AuditQuery{Action: "device.enroll", Subject: "device:" + resp.DeviceID})
	if err != nil || len(recs) != 1 {
		t.Fatalf("device.enroll records: %d, %v", len(recs), err)
	}
	var detail struct{ Serial string }
	if err := json.Unmarshal(recs[0].Detail, &detail); err != nil || detail.Serial != want {
		t.Errorf("device.enroll serial %q (%v), want %q", detail.Serial, err, want)
	}
}
