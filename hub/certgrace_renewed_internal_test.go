package hub

import (
	"bytes"
	"context"
	"crypto/x509"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// lockedBuffer is a bytes.Buffer for a logger written from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestCutDueSpareChannelRenewedOver: a renewal over a watched channel
// that commits while cutDue has it out of the queue (taken out by due,
// so the renewal's forget finds nothing) leaves the channel speaking for
// the certificate the renewal issued. cutDue decides on that certificate,
// not the one the channel was opened with: it neither closes the channel
// nor watches it again. The device renewed with its previous certificate
// (the fromPrev case: that one's grace is not extended, and has ended),
// and the channel speaks for the current one.
func TestCutDueSpareChannelRenewedOver(t *testing.T) {
	logs := &lockedBuffer{}
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	opened := &x509.Certificate{SerialNumber: big.NewInt(0xa), NotBefore: t0.Add(-48 * time.Hour), NotAfter: t0.Add(28 * 24 * time.Hour)}
	issued := &x509.Certificate{SerialNumber: big.NewInt(0xc), NotBefore: t0.Add(-time.Minute), NotAfter: t0.Add(30 * 24 * time.Hour)}
	if _, err := s.st.CreateDevice(t.Context(), store.Device{ID: "d1", Name: "north-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive,
		Created: t0, Modified: t0, CertSerial: "c", CertIssued: issued.NotBefore, PrevCertSerial: "a", PrevCertUntil: t0}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := s.channel
	c.cuts.watch(ctx, "d1", opened, t0)
	c.speaksFor(ctx, issued) // the renewal over the channel, whose forget came too late
	c.cutDue(t.Context(), t0.Add(time.Second))
	if out := logs.String(); strings.Contains(out, "closing a kiosk's channel") {
		t.Errorf("cutDue closed the channel a renewal was made over:\n%s", out)
	}
	if n := c.cuts.len(); n != 1 {
		t.Errorf("%d channels watched after cutDue, want 1: the channel speaks for the hub's current certificate, until it expires", n)
	}
	if due := c.cuts.due(issued.NotAfter.Add(-time.Second)); len(due) != 0 {
		t.Errorf("the channel renewed over is due before the certificate it was issued expires")
	}

	// The channel that did not renew is closed, as before.
	ctx2, cancel2 := context.WithCancel(t.Context())
	defer cancel2()
	c.cuts.watch(ctx2, "d1", opened, t0)
	c.cutDue(t.Context(), t0.Add(time.Second))
	if out := logs.String(); !strings.Contains(out, "closing a kiosk's channel opened with a device certificate a renewal replaced") {
		t.Errorf("cutDue did not close the channel opened with the replaced certificate:\n%s", out)
	}
}
