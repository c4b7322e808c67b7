package hub

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// Teardown first (see lifecycle's package doc): a change that signs out
// many kiosks at once pushes their revocations before it writes them,
// then waits for the acks before the writes, so that the writes do not
// take the CPU from the fan-out. The wait is bounded: a kiosk that does
// not answer costs the change waveWait, never more. A wave of fewer than
// waveWaitFrom pushes does not wait: its writes are a few milliseconds.
//
// Such a wave also holds the store's background index passes (see
// sqlite.DB.HoldIndexes) from its first pushes until the change has
// written, waveHold at most: they would take the CPU from the fan-out.
const (
	waveWait     = 300 * time.Millisecond
	waveWaitFrom = 256
	waveHold     = 5 * time.Second
)

// indexHolder is a store whose background maintenance a wave can hold.
type indexHolder interface {
	HoldIndexes(max time.Duration) (release func())
}

// wave is a lifecycle.Wave: the early pushes of one change. The channel
// knows the change's wave while it runs (there is one writer, so at most
// one change is between its pushes and its writes) and reports each ack
// of a session.revoke to it.
//
// Until End, which comes after the change's commit, the wave is also the
// only record of what it revoked: a kiosk that missed its push (offline,
// or its channel went away before the ack) and says hello meanwhile
// reports a session the store still counts live, and the change does not
// push it again. channel.verdict asks the waves (revokedBy).
type wave struct {
	c      *channel
	send   func(rs []store.Revocation, failed func(sessionID string)) // Server.revoked
	bound  time.Duration                                              // waveWait
	mu     sync.Mutex
	out    map[string]string               // session → its kiosk, pushed and not yet acknowledged
	on     map[string][]wire.SessionRevoke // kiosk → the revocations pushed to it, until End
	pushed int                             // revocations handed to Push
	done   chan struct{}                   // every pushed session settled (capacity 1)
	unhold func()                          // releases the index passes; nil until held
}

var _ lifecycle.Wave = (*wave)(nil)

// newWave starts a wave and makes it the one acks are reported to.
func (c *channel) newWave() lifecycle.Wave { return c.newWaveWith(waveWait) }

func (c *channel) newWaveWith(bound time.Duration) *wave {
	w := &wave{c: c, send: c.s.revoked, bound: bound, out: make(map[string]string), on: make(map[string][]wire.SessionRevoke), done: make(chan struct{}, 1)}
	c.wavesMu.Lock()
	c.waves = append(c.waves, w)
	c.wavesMu.Unlock()
	c.wave.Store(w)
	return w
}

// revokedBy returns the reason of a revocation of sessionID that a wave
// not yet ended pushed to deviceID: its change has not committed, so the
// store does not show it. Ask it before the store: a wave ends only after
// its change has committed (or failed, keeping the session live).
func (c *channel) revokedBy(deviceID, sessionID string) (string, bool) {
	c.wavesMu.Lock()
	defer c.wavesMu.Unlock()
	for _, w := range c.waves {
		if reason, ok := w.revoked(deviceID, sessionID); ok {
			return reason, true
		}
	}
	return "", false
}

// revoked returns the reason of the revocation of sessionID w pushed to
// deviceID, if it pushed one.
func (w *wave) revoked(deviceID, sessionID string) (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.on[deviceID] {
		if r.SessionID == sessionID {
			return r.Reason, true
		}
	}
	return "", false
}

// Push sends rs (from a goroutine of its own when there are many, as
// Config.OnRevoke does). A push that fails settles its session at once:
// its kiosk is offline and hears the verdict when it reconnects.
func (w *wave) Push(rs []store.Revocation) {
	w.mu.Lock()
	for _, r := range rs {
		if r.SessionID != "" && r.DeviceID != "" {
			w.out[r.SessionID] = r.DeviceID
			w.on[r.DeviceID] = append(w.on[r.DeviceID], wire.SessionRevoke{SessionID: r.SessionID, Reason: r.Reason})
		}
	}
	w.pushed += len(rs)
	if w.pushed >= waveWaitFrom && w.unhold == nil {
		w.unhold = func() {}
		if h, ok := w.c.s.st.(indexHolder); ok {
			w.unhold = h.HoldIndexes(waveHold)
		}
	}
	w.mu.Unlock()
	w.send(rs, func(sessionID string) { w.settle(sessionID, "") })
}

// settle notes that deviceID acknowledged the revocation of sessionID,
// or ("" for deviceID) that its push failed. An ack from another kiosk
// than the session's counts for nothing.
func (w *wave) settle(sessionID, deviceID string) {
	w.mu.Lock()
	if dev, ok := w.out[sessionID]; !ok || deviceID != "" && deviceID != dev {
		w.mu.Unlock()
		return
	}
	delete(w.out, sessionID)
	empty := len(w.out) == 0
	w.mu.Unlock()
	if empty {
		// Wait wakes once, not at each of thousands of acks while the
		// fan-out needs the CPU.
		select {
		case w.done <- struct{}{}:
		default:
		}
	}
}

// settleDevice notes that deviceID's channel closed: its pushes will not
// be acknowledged (it hears the verdicts when it reconnects), and the
// change need not wait for them.
func (w *wave) settleDevice(deviceID string) {
	w.mu.Lock()
	revs := slices.Clone(w.on[deviceID]) // kept: see revoked
	w.mu.Unlock()
	for _, r := range revs {
		w.settle(r.SessionID, deviceID)
	}
}

// Wait returns when every pushed session is settled, after the bound
// (waveWait), or when ctx ends; at once for a small wave.
func (w *wave) Wait(ctx context.Context) {
	w.mu.Lock()
	small := w.pushed < waveWaitFrom
	w.mu.Unlock()
	if small {
		return
	}
	timer := time.NewTimer(w.bound)
	defer timer.Stop()
	for {
		w.mu.Lock()
		left := len(w.out)
		w.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-w.done:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// End stops reporting acks to w, forgets what it revoked (its change has
// committed, or failed), and releases the index passes.
func (w *wave) End() {
	w.c.wave.CompareAndSwap(w, nil)
	w.c.wavesMu.Lock()
	w.c.waves = slices.DeleteFunc(w.c.waves, func(o *wave) bool { return o == w })
	w.c.wavesMu.Unlock()
	w.mu.Lock()
	unhold := w.unhold
	w.mu.Unlock()
	if unhold != nil {
		unhold()
	}
}
