package hub

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/push"
	"github.com/shiftgate/shiftgate/hub/store"
)

// testWave is a wave on a bare channel whose pushes to the sessions in
// offline fail; bound is how long it may wait.
func testWave(bound time.Duration, offline map[string]bool) (*wave, *channel) {
	c := &channel{s: &Server{cfg: Config{Logger: slog.New(slog.DiscardHandler)}}, acks: make(chan ack, 4096)}
	w := &wave{c: c, bound: bound, out: map[string]string{}, on: map[string][]wire.SessionRevoke{}, done: make(chan struct{}, 1)}
	w.send = func(rs []store.Revocation, failed func(string)) {
		for _, r := range rs {
			if offline[r.SessionID] {
				failed(r.SessionID)
			}
		}
	}
	c.wave.Store(w)
	return w, c
}

func waveRevs(n int) []store.Revocation {
	rs := make([]store.Revocation, n)
	for i := range rs {
		rs[i] = store.Revocation{UserID: fmt.Sprintf("u%d", i), SessionID: fmt.Sprintf("s%d", i), DeviceID: fmt.Sprintf("d%d", i)}
	}
	return rs
}

// ackOf is what the push layer reports when the kiosk of session (sN is
// on dN, see waveRevs) acks.
func ackOf(c *channel, session string) {
	ackFrom(c, "d"+strings.TrimPrefix(session, "s"), session)
}

func ackFrom(c *channel, device, session string) {
	c.Acked(device, push.Push{ID: "p", Type: wire.TypeSessionRevoke, Data: wire.SessionRevoke{SessionID: session}}, time.Now())
}

// waitAsync runs w.Wait and closes the returned channel when it returns.
func waitAsync(t *testing.T, w *wave) chan struct{} {
	done := make(chan struct{})
	go func() {
		w.Wait(t.Context())
		close(done)
	}()
	return done
}

func mustReturn(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("Wait did not return %s", what)
	}
}

func mustNotReturn(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("Wait returned %s", what)
	case <-time.After(50 * time.Millisecond):
	}
}

// A big wave waits for every ack, routed from the channel, and no longer;
// pushes that failed (the kiosk is offline) count as settled.
func TestWaveWaitsForEveryAck(t *testing.T) {
	rs := waveRevs(waveWaitFrom + 44)
	offline := map[string]bool{"s0": true, "s7": true}
	w, c := testWave(time.Hour, offline)
	w.Push(rs[:waveWaitFrom])
	w.Push(rs[waveWaitFrom:]) // pushes come in chunks
	done := waitAsync(t, w)
	for _, r := range rs[:len(rs)-1] {
		if !offline[r.SessionID] {
			ackOf(c, r.SessionID)
		}
	}
	ackOf(c, "s-unrelated")                   // an ack of another change's push
	ackFrom(c, "d0", rs[len(rs)-1].SessionID) // another kiosk's ack of the last
	mustNotReturn(t, done, "with one ack missing")
	ackOf(c, rs[len(rs)-1].SessionID)
	mustReturn(t, done, "after the last ack")
	if n := len(c.acks); n != len(rs)-len(offline)+2 {
		t.Errorf("%d acks went on to be recorded, want every one (%d)", n, len(rs)-len(offline)+2)
	}
}

// A wave gives up at its bound: a kiosk that never acks costs the change
// that long, no more.
func TestWaveBounded(t *testing.T) {
	w, _ := testWave(30*time.Millisecond, nil)
	w.Push(waveRevs(waveWaitFrom))
	start := time.Now()
	done := waitAsync(t, w)
	mustReturn(t, done, "at its bound")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("Wait returned after %s, before its bound", d)
	}
}

// A small wave does not wait: its writes cost little.
func TestWaveSmallDoesNotWait(t *testing.T) {
	w, _ := testWave(time.Hour, nil)
	w.Push(waveRevs(waveWaitFrom - 1))
	mustReturn(t, waitAsync(t, w), "for a small wave")
}

// Once ended, a wave hears no more acks, and a later wave replaces it.
func TestWaveEnd(t *testing.T) {
	w, c := testWave(time.Hour, nil)
	w.End()
	if c.wave.Load() != nil {
		t.Fatal("the channel still reports acks to an ended wave")
	}
	ackOf(c, "s1") // must not reach it, nor fail
	w2 := c.newWaveWith(time.Hour)
	w.End() // the earlier wave's End must not end the new one
	if c.wave.Load() != w2 {
		t.Fatal("an ended wave's End removed its successor")
	}
}

// A kiosk whose channel closes will not ack: the wave stops waiting for
// it (it hears the verdicts when it reconnects).
func TestWaveSettlesDisconnectedKiosk(t *testing.T) {
	w, c := testWave(time.Hour, nil)
	rs := waveRevs(waveWaitFrom)
	w.Push(rs)
	done := waitAsync(t, w)
	for _, r := range rs[1:] {
		ackOf(c, r.SessionID)
	}
	mustNotReturn(t, done, "with one kiosk yet to ack")
	w.settleDevice(rs[0].DeviceID) // what channel.Disconnected does for a wave
	mustReturn(t, done, "after the last kiosk disconnected")
}

// holdRecorder is a store that records holds of its index passes (the
// wave calls nothing else of it).
type holdRecorder struct {
	store.Store
	held, released int
}

func (h *holdRecorder) HoldIndexes(max time.Duration) func() {
	h.held++
	return func() { h.released++ }
}

// A big wave holds the store's index passes from its pushes until it
// ends; a small one does not.
func TestWaveHoldsIndexPasses(t *testing.T) {
	w, c := testWave(time.Second, nil)
	rec := &holdRecorder{}
	c.s.st = rec
	w.Push(waveRevs(waveWaitFrom - 1))
	if rec.held != 0 {
		t.Fatalf("%d pushes held the index passes", waveWaitFrom-1)
	}
	w.Push(waveRevs(2))
	w.Push(waveRevs(100))
	if rec.held != 1 || rec.released != 0 {
		t.Fatalf("a big wave: held %d, released %d; want 1, 0", rec.held, rec.released)
	}
	w.End()
	if rec.released != 1 {
		t.Fatalf("released %d times at the end, want 1", rec.released)
	}

	small, c2 := testWave(time.Second, nil)
	rec2 := &holdRecorder{}
	c2.s.st = rec2
	small.Push(waveRevs(10))
	small.End()
	if rec2.held != 0 || rec2.released != 0 {
		t.Errorf("a small wave: held %d, released %d", rec2.held, rec2.released)
	}
}
