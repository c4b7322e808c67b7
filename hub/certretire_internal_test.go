package hub

import (
	"context"
	"crypto/x509"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestRetirePrevCertCutsChannels: a channel opened with a kiosk's current
// certificate retires the one its last renewal replaced, and a channel of
// the kiosk still open on that one (whoever holds the old key said hello
// just before) is due at once: the next pass closes it as a channel whose
// grace has ended, with its warning. The retiring channel, and a channel
// of another kiosk, stay watched until their own ends. A second hello
// with the current certificate writes nothing more.
func TestRetirePrevCertCutsChannels(t *testing.T) {
	logs := &lockedBuffer{}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	prev := &x509.Certificate{SerialNumber: big.NewInt(0xa), NotBefore: t0.Add(-48 * time.Hour), NotAfter: t0.Add(28 * 24 * time.Hour)}
	current := &x509.Certificate{SerialNumber: big.NewInt(0xc), NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(30 * 24 * time.Hour)}
	graceEnd := t0.Add(23 * time.Hour)
	for _, d := range []store.Device{
		{ID: "d1", Name: "north-1", CertSerial: "c", CertIssued: current.NotBefore, PrevCertSerial: "a", PrevCertUntil: graceEnd},
		{ID: "d2", Name: "north-2", CertSerial: "e", CertIssued: current.NotBefore, PrevCertSerial: "a", PrevCertUntil: graceEnd},
	} {
		d.Site, d.Profile, d.State, d.Created, d.Modified = "north", "generic-x86", store.DeviceActive, t0, t0
		if _, err := s.st.CreateDevice(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	channel := func() context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		t.Cleanup(cancel)
		return ctx
	}
	c := s.channel
	onPrev, other, retiring := channel(), channel(), channel()
	c.cuts.watch(onPrev, "d1", prev, graceEnd)
	c.cuts.watch(other, "d2", prev, graceEnd)
	c.cuts.watch(retiring, "d1", current, current.NotAfter)

	d, err := s.st.GetDevice(t.Context(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	if d = c.retirePrevCert(retiring, d, current); !d.PrevCertUntil.Equal(t0) || d.PrevCertSerial != "a" {
		t.Errorf("retirePrevCert returned previous %q until %v, want %q until %v (now)", d.PrevCertSerial, d.PrevCertUntil, "a", t0)
	}
	if stored, err := s.st.GetDevice(t.Context(), "d1"); err != nil || !stored.PrevCertUntil.Equal(t0) {
		t.Errorf("stored previous certificate until %v (%v), want %v", stored.PrevCertUntil, err, t0)
	}
	if d2, err := s.st.GetDevice(t.Context(), "d2"); err != nil || !d2.PrevCertUntil.Equal(graceEnd) {
		t.Errorf("another kiosk's previous certificate until %v (%v), want %v", d2.PrevCertUntil, err, graceEnd)
	}

	c.cutDue(t.Context(), t0)
	closing := strings.Count(logs.String(), "closing a kiosk's channel opened with a device certificate a renewal replaced")
	if closing != 1 || !strings.Contains(logs.String(), "device=d1 ") {
		t.Errorf("%d channels closed as on a replaced certificate, want 1 (d1's on the retired one):\n%s", closing, logs.String())
	}
	if n := c.cuts.len(); n != 2 {
		t.Errorf("%d channels watched after the pass, want 2 (the retiring one, and the other kiosk's)", n)
	}
	if due := c.cuts.due(graceEnd.Add(-time.Second)); len(due) != 0 {
		t.Errorf("%d channels due before the other kiosk's grace ends, want none", len(due))
	}

	c.retirePrevCert(retiring, d, current)
	recs, err := s.st.ListAudit(t.Context(), store.AuditQuery{Action: "device.prev_cert_retired", Subject: "device:d1"})
	if err != nil || len(recs) != 1 {
		t.Errorf("%d device.prev_cert_retired records (%v), want 1", len(recs), err)
	}
}
