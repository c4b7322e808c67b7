package hub

import (
	"context"
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestGraceCuts: channels come out due in the order of their ends, each
// once; watching a channel again moves its end; a channel that ends is
// forgotten at once, so that 10,000 kiosks reconnecting for a day leave
// nothing behind; one that has ended is not watched.
func TestGraceCuts(t *testing.T) {
	var g graceCuts
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	chans := map[string]context.CancelFunc{}
	ctxs := map[string]context.Context{}
	for _, id := range []string{"a", "b", "c", "d"} {
		ctxs[id], chans[id] = context.WithCancel(t.Context())
		t.Cleanup(chans[id])
	}
	cert := &x509.Certificate{SerialNumber: big.NewInt(1)}
	g.watch(ctxs["a"], "a", cert, t0.Add(3*time.Hour))
	g.watch(ctxs["b"], "b", cert, t0.Add(time.Hour))
	g.watch(ctxs["c"], "c", cert, t0.Add(2*time.Hour))
	g.watch(ctxs["d"], "d", cert, t0.Add(time.Hour))
	g.watch(ctxs["a"], "a", cert, t0.Add(90*time.Minute)) // moved

	ids := func(gs []*graceCut) []string {
		var out []string
		for _, c := range gs {
			out = append(out, c.deviceID)
		}
		return out
	}
	if got := ids(g.due(t0.Add(time.Hour - time.Nanosecond))); len(got) != 0 {
		t.Errorf("due before any end: %v", got)
	}
	chans["d"]() // d's channel ends
	waitLen(t, &g, 3)
	if got := ids(g.due(t0.Add(time.Hour))); len(got) != 1 || got[0] != "b" {
		t.Errorf("due at the first end: %v, want [b] (d's channel ended)", got)
	}
	if got := ids(g.due(t0.Add(time.Hour))); len(got) != 0 {
		t.Errorf("due again: %v, want none (each comes out once)", got)
	}
	if got := ids(g.due(t0.Add(2 * time.Hour))); len(got) != 2 || got[0] != "a" || got[1] != "c" {
		t.Errorf("due two hours on: %v, want [a c] (a's end moved before c's)", got)
	}
	if n := g.len(); n != 0 {
		t.Errorf("%d channels left watched, want 0", n)
	}

	// A channel renewed over is forgotten (channel.renewCert).
	g.watch(ctxs["a"], "a", cert, t0.Add(5*time.Hour))
	g.watch(ctxs["c"], "c", cert, t0.Add(6*time.Hour))
	g.forget(ctxs["a"])
	g.forget(ctxs["a"]) // twice is harmless
	if got := ids(g.due(t0.Add(7 * time.Hour))); len(got) != 1 || got[0] != "c" {
		t.Errorf("due after a was forgotten: %v, want [c]", got)
	}

	ended, cancel := context.WithCancel(t.Context())
	cancel()
	g.watch(ended, "e", cert, t0)
	if n := g.len(); n != 0 {
		t.Errorf("a channel that has ended is watched (%d)", n)
	}
}

func waitLen(t *testing.T, g *graceCuts, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for g.len() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d channels watched, want %d", g.len(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCertGraceEnd: until when a channel's certificate is taken, as
// store.Device.TakesCert decides it at each time.
func TestCertGraceEnd(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	until := t0.Add(24 * time.Hour)
	cert := func(serial int64, notBefore time.Time) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(serial), NotBefore: notBefore}
	}
	pinned := store.Device{CertSerial: "c", CertIssued: t0, PrevCertSerial: "b", PrevCertUntil: until}
	tests := []struct {
		name        string
		d           store.Device
		cert        *x509.Certificate
		wantEnd     time.Time
		wantLimited bool
	}{
		{"the current certificate", pinned, cert(0xc, t0), time.Time{}, false},
		{"one issued after it (a restore)", pinned, cert(0xd, t0.Add(time.Minute)), time.Time{}, false},
		{"any, unpinned", store.Device{}, cert(0xa, t0.Add(-time.Hour)), time.Time{}, false},
		{"the replaced certificate", pinned, cert(0xb, t0.Add(-time.Hour)), until, true},
		{"the replaced certificate, no grace recorded", store.Device{CertSerial: "c", CertIssued: t0, PrevCertSerial: "b"}, cert(0xb, t0.Add(-time.Hour)), time.Time{}, true},
		{"an older one", pinned, cert(0xa, t0.Add(-2*time.Hour)), time.Time{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			end, limited := certGraceEnd(tc.d, tc.cert)
			if !end.Equal(tc.wantEnd) || limited != tc.wantLimited {
				t.Errorf("certGraceEnd = %v, %v; want %v, %v", end, limited, tc.wantEnd, tc.wantLimited)
			}
			// Consistent with TakesCert before and after the end.
			serial := tc.cert.SerialNumber.Text(16)
			if limited {
				if !end.IsZero() && !tc.d.TakesCert(serial, tc.cert.NotBefore, end.Add(-time.Nanosecond)) {
					t.Errorf("TakesCert refuses it before the end")
				}
				if tc.d.TakesCert(serial, tc.cert.NotBefore, end) {
					t.Errorf("TakesCert takes it at the end")
				}
			} else if !tc.d.TakesCert(serial, tc.cert.NotBefore, t0.Add(1000*time.Hour)) {
				t.Errorf("TakesCert refuses it later")
			}
		})
	}
}
