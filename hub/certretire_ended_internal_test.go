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

// TestRetirePrevCertOnEndedChannel: a hello with the kiosk's current
// certificate whose channel ends (a newer connection of the kiosk
// replaced it, the hub closes) before the retirement is written writes
// nothing, and that is no failure: it is logged as what happened, at
// debug, and the kiosk's next channel retires the certificate. Before, it
// was warned of as a retirement that failed, leaving the certificate
// taken until its grace ends, which a reconnect did not.
func TestRetirePrevCertOnEndedChannel(t *testing.T) {
	logs := &lockedBuffer{}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	current := &x509.Certificate{SerialNumber: big.NewInt(0xc), NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(30 * 24 * time.Hour)}
	graceEnd := t0.Add(23 * time.Hour)
	d := store.Device{ID: "d1", Name: "north-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive,
		CertSerial: "c", CertIssued: current.NotBefore, PrevCertSerial: "a", PrevCertUntil: graceEnd, Created: t0, Modified: t0}
	if _, err := s.st.CreateDevice(t.Context(), d); err != nil {
		t.Fatal(err)
	}

	ended, cancel := context.WithCancel(t.Context())
	cancel() // the channel was replaced
	if got := s.channel.retirePrevCert(ended, d, current); !got.PrevCertUntil.Equal(graceEnd) {
		t.Errorf("retirePrevCert on an ended channel returned previous until %v, want %v (untouched)", got.PrevCertUntil, graceEnd)
	}
	if stored, err := s.st.GetDevice(t.Context(), "d1"); err != nil || !stored.PrevCertUntil.Equal(graceEnd) {
		t.Errorf("stored previous certificate until %v (%v), want %v (untouched)", stored.PrevCertUntil, err, graceEnd)
	}
	out := logs.String()
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "level=WARN") && strings.Contains(line, "device=d1 ") {
			t.Errorf("a channel that ended before the retirement was warned of as a failure: %s", line)
		}
	}
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "it ended before the write") || !strings.Contains(out, "device=d1 ") {
		t.Errorf("want a debug line saying the channel ended before the retirement was written:\n%s", out)
	}

	// The kiosk's next channel, with the same certificate, retires it.
	if got := s.channel.retirePrevCert(t.Context(), d, current); !got.PrevCertUntil.Equal(t0) {
		t.Errorf("the next channel's retirePrevCert returned previous until %v, want %v (now)", got.PrevCertUntil, t0)
	}
}
