package hub

import (
	"context"
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
type lastSeen struct {
	mu      sync.Mutex
	pending map[string]time.Time
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

// flush writes what was collected. On failure the sightings are kept for
// the next flush (a newer one for the same kiosk wins).
func (s *Server) flushSeen(ctx context.Context) {
	l := &s.seen
	l.mu.Lock()
	batch := l.pending
	l.pending = nil
	l.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := s.st.TouchDevices(ctx, batch); err != nil {
		s.cfg.Logger.Warn("record kiosks' last-seen times", "kiosks", len(batch), "err", err)
		for id, at := range batch {
			l.mark(id, at)
		}
	}
}

// recordSeen flushes the last-seen times every seenFlushEvery until ctx
// ends; ServeListener flushes once more after shutdown.
func (s *Server) recordSeen(ctx context.Context) {
	t := time.NewTicker(seenFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.flushSeen(ctx)
		}
	}
}
