package hub

import (
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestRetirePrevCertOnEndedChannel: a hello with the kiosk's current
// certificate whose channel ends (a newer connection of the kiosk
// replaced it, the hub closes) before the retirement is written writes
// nothing, and that is no failure: it is logged as what happened, at
// debug, and the kiosk's next channel retires the certificate. Before, it
// was warned of as a retirement that failed, leaving the certificate
// taken until its grace ends, which a reconnect did not.
func TestRetirePrevCertOnEndedChannel(t *testing.T) {
	h := newRetireHub(t, slog.LevelDebug)
	s, t0, current, graceEnd := h.s, h.now, h.current, h.graceEnd
	d := h.renewedKiosk(t, "d1", "north-1", "c")

	ended, cancel := context.WithCancel(t.Context())
	cancel() // the channel was replaced
	if got := s.channel.retirePrevCert(ended, d, current); !got.PrevCertUntil.Equal(graceEnd) {
		t.Errorf("retirePrevCert on an ended channel returned previous until %v, want %v (untouched)", got.PrevCertUntil, graceEnd)
	}
	if stored, err := s.st.GetDevice(t.Context(), "d1"); err != nil || !stored.PrevCertUntil.Equal(graceEnd) {
		t.Errorf("stored previous certificate until %v (%v), want %v (untouched)", stored.PrevCertUntil, err, graceEnd)
	}
	out := h.logs.String()
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
