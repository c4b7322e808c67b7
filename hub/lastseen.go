package hub

import (
	"context"
	"maps"
	"sync"
	"time"
)

// seenFlushEvery is how often kiosks' last-seen times reach the store.
// Connections come and go in storms (a site's network blips, a hub
// restart brings back 10,000 kiosks), so sightings are collected in memory
// and written in one transaction per interval instead of one per hello.
const seenFlushEvery = 2 * time.Second

// lastSeen collects when each kiosk was last seen: when its channel opened
// and when it closed. While a channel is open the console shows the kiosk
// online; the stored time says when it was last there after it left.
//
// A sighting stays in memory until the write that stores it has
// committed: pending holds those not being written, writing those of the
// write under way. A reader that takes a snapshot and then reads the store
// finds each sighting in one or the other; were the batch let go of when
// the write began, a kiosk that had just left would look away since its
// stored time (when its channel opened, maybe days ago) for as long as
// the write took.
type lastSeen struct {
	mu      sync.Mutex
	pending map[string]time.Time
	writing map[string]time.Time // nil but during a flush

	flushMu sync.Mutex // one flush at a time: shutdown's may meet the ticker's
}

func (l *lastSeen) mark(deviceID string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = make(map[string]time.Time)
	}
	if at.After(l.pending[deviceID]) {
		l.pending[deviceID] = at
	}
}

// snapshot returns a copy of the sightings not yet in the store, the
// later of the two where a kiosk has one pending and one being written.
// Take it before reading the store.
func (l *lastSeen) snapshot() map[string]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := maps.Clone(l.pending)
	if out == nil {
		out = make(map[string]time.Time, len(l.writing))
	}
	for id, at := range l.writing {
		if at.After(out[id]) {
			out[id] = at
		}
	}
	return out
}

// seenFlushTimeout bounds the flush at shutdown, which is not given the
// hub's context: that has ended.
const seenFlushTimeout = 5 * time.Second

// flush writes what was collected. The batch is set aside, not copied,
// so that a storm's hellos marking meanwhile wait for no more than a swap;
// it is dropped once written. On failure the sightings are kept for the
// next flush (a newer one for the same kiosk wins), and the caller, which
// knows whether there is one, is told how many kiosks' it could not write
// and why.
func (s *Server) flushSeen(ctx context.Context) (kiosks int, err error) {
	l := &s.seen
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	batch := l.pending
	l.pending, l.writing = nil, batch
	l.mu.Unlock()
	if len(batch) == 0 {
		return 0, nil
	}
	err = s.st.TouchDevices(ctx, batch)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writing = nil
	if err == nil {
		return 0, nil
	}
	if l.pending == nil {
		l.pending = batch
		return len(batch), err
	}
	for id, at := range batch {
		if at.After(l.pending[id]) {
			l.pending[id] = at
		}
	}
	return len(batch), err
}

// recordSeen flushes the last-seen times every seenFlushEvery until ctx
// ends; ServeListener waits for it to return, then flushes once more
// after shutdown (flushSeenAtShutdown). A flush that fails because ctx
// ended meanwhile is not warned of: the sightings it kept are the
// shutdown flush's to write, and it says if they are lost.
func (s *Server) recordSeen(ctx context.Context) {
	t := time.NewTicker(seenFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// A tick that came with the end of ctx (select picks either)
			// flushes nothing: the shutdown's flush is next, and a flush
			// on an ended context would fail.
			if ctx.Err() != nil {
				return
			}
			if n, err := s.flushSeen(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Warn("record kiosks' last-seen times; the next flush tries again", "kiosks", n, "err", err)
			}
		}
	}
}

// flushSeenAtShutdown is the last flush, of the kiosks that the shutdown
// disconnected and of what an earlier flush kept. It has a context of its
// own, bounded by seenFlushTimeout: the hub's has ended, and the
// shutdown's may have been used up waiting for requests to finish.
func (s *Server) flushSeenAtShutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), seenFlushTimeout)
	defer cancel()
	if n, err := s.flushSeen(ctx); err != nil {
		s.cfg.Logger.Warn("record kiosks' last-seen times at shutdown: the console shows them last seen before", "kiosks", n, "err", err)
	}
}
