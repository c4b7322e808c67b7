package hub

import (
	"crypto/x509"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// retireHub is a hub (not serving) for the tests of retiring a kiosk's
// previous certificate. Its clock stands at now, it logs to logs, and
// current is the certificate the kiosks' last renewal issued; the one it
// replaced, serial "a", is in grace until graceEnd.
type retireHub struct {
	s        *Server
	logs     *lockedBuffer
	now      time.Time
	current  *x509.Certificate
	graceEnd time.Time
}

// newRetireHub makes a retireHub logging from level up, so that a test
// of what is logged at debug sees it and one of warnings is not misled
// by it.
func newRetireHub(t *testing.T, level slog.Level) *retireHub {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	h := &retireHub{logs: &lockedBuffer{}, now: t0, graceEnd: t0.Add(23 * time.Hour),
		current: &x509.Certificate{SerialNumber: big.NewInt(0xc), NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(30 * 24 * time.Hour)}}
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: level})),
		Now:    func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.s = s
	return h
}

// renewedKiosk stores the active kiosk id at site north, renewed when
// current was issued: it holds the certificate serial now, and the one
// the renewal replaced, "a", until graceEnd. It returns the record it
// stored.
func (h *retireHub) renewedKiosk(t *testing.T, id, name, serial string) store.Device {
	t.Helper()
	d := store.Device{ID: id, Name: name, Site: "north", Profile: "generic-x86", State: store.DeviceActive,
		CertSerial: serial, CertIssued: h.current.NotBefore, PrevCertSerial: "a", PrevCertUntil: h.graceEnd, Created: h.now, Modified: h.now}
	if _, err := h.s.st.CreateDevice(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRetirePrevCertCutsChannels: a channel opened with a kiosk's current
// certificate retires the one its last renewal replaced, and a channel of
// the kiosk still open on that one (whoever holds the old key said hello
// just before) is due at once: the next pass closes it as a channel whose
// grace has ended, with its warning. The retiring channel, and a channel
// of another kiosk, stay watched until their own ends. A second hello
// with the current certificate writes nothing more.
func TestRetirePrevCertCutsChannels(t *testing.T) {
	h := newRetireHub(t, slog.LevelInfo)
	s, logs, t0, current, graceEnd := h.s, h.logs, h.now, h.current, h.graceEnd
	prev := &x509.Certificate{SerialNumber: big.NewInt(0xa), NotBefore: t0.Add(-48 * time.Hour), NotAfter: t0.Add(28 * 24 * time.Hour)}
	h.renewedKiosk(t, "d1", "north-1", "c")
	h.renewedKiosk(t, "d2", "north-2", "e")
	c := s.channel
	onPrev, other, retiring := channelCtx(t), channelCtx(t), channelCtx(t)
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
