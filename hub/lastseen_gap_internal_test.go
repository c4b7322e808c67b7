package hub

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// heldTouches is a store whose TouchDevices waits, once entered, until
// the test lets it go on (or fail).
type heldTouches struct {
	store.Store
	entered chan map[string]time.Time
	release chan error // nil: write; else fail with it
}

func (h *heldTouches) TouchDevices(ctx context.Context, seen map[string]time.Time) error {
	h.entered <- seen
	if err := <-h.release; err != nil {
		return err
	}
	return h.Store.TouchDevices(ctx, seen)
}

// justLeftStore opens a store with one kiosk, "just-left", whose stored
// last-seen time is from when its channel opened ten days before now.
func justLeftStore(t *testing.T, now time.Time) store.Store {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := store.Device{ID: "just-left", Name: "just-left", Site: "north", Profile: "p", State: store.DeviceActive,
		Created: now.Add(-30 * 24 * time.Hour), LastSeen: now.Add(-10 * 24 * time.Hour)}
	if _, err := db.CreateDevice(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	return db
}

// notAway are the counts of a scrape that finds "just-left" away for a
// second: disconnected, but not for over an hour.
var notAway = []string{
	"shiftgate_kiosks_enrolled 1",
	"shiftgate_kiosks_disconnected 1",
	`shiftgate_kiosks_offline{over="1h"} 0`,
	`shiftgate_kiosks_offline{over="1d"} 0`,
	`shiftgate_kiosks_offline{over="7d"} 0`,
}

// TestLastSeenKeptWhileWritten: a scrape while the kiosks' last-seen
// times are being written finds a kiosk that just left away since it
// left, not since its stored time (ten days): the sightings stay in
// memory until the write has committed. A sighting made during the write
// outlives it, and a failed write keeps the batch for the next flush.
func TestLastSeenKeptWhileWritten(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	db := justLeftStore(t, now)
	st := &heldTouches{Store: db, entered: make(chan map[string]time.Time), release: make(chan error)}
	s := &Server{st: st, cfg: Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	c := &kioskCollector{
		counts:    db.CountDevices,
		connected: func() []string { return nil },
		seen:      &s.seen,
		now:       func() time.Time { return now },
		log:       s.cfg.Logger,
	}
	s.seen.mark("just-left", now.Add(-time.Second))

	flushed := make(chan struct{})
	go func() { defer close(flushed); s.flushSeen(t.Context()) }()
	if batch := <-st.entered; !batch["just-left"].Equal(now.Add(-time.Second)) {
		t.Fatalf("flush wrote %v, want just-left's sighting", batch)
	}
	wantLines(t, "scrape during the write", scrapeText(t, c), notAway...)
	s.seen.mark("other", now) // seen again while the write is under way
	st.release <- nil
	<-flushed
	wantLines(t, "scrape after the write", scrapeText(t, c), notAway...)
	if got := s.seen.snapshot(); len(got) != 1 || !got["other"].Equal(now) {
		t.Errorf("in memory after the write: %v, want only the sighting made during it", got)
	}

	// A failed write keeps what it was to write, merged with what was
	// seen meanwhile (the later sighting wins).
	flushed = make(chan struct{})
	go func() { defer close(flushed); s.flushSeen(t.Context()) }()
	<-st.entered
	s.seen.mark("other", now.Add(time.Second))
	s.seen.mark("third", now)
	st.release <- errDiskIO
	<-flushed
	if got := s.seen.snapshot(); len(got) != 2 || !got["other"].Equal(now.Add(time.Second)) || !got["third"].Equal(now) {
		t.Errorf("in memory after a failed write: %v, want other at +1s and third", got)
	}
}

// TestKioskScrapeReadsConnectedFirst: a kiosk whose channel ends during
// a scrape, its sighting marked and its channel gone from the registry
// just before the scrape reads the open channels, is counted away since
// that sighting. Read the other way round (the sightings first), it was
// in neither and counted away for ten days.
func TestKioskScrapeReadsConnectedFirst(t *testing.T) {
	now := time.Unix(1_800_000_000, 0).UTC()
	db := justLeftStore(t, now)
	seen := &lastSeen{}
	c := &kioskCollector{
		counts: db.CountDevices,
		connected: func() []string {
			// What channel.Leaving does, and then the registry.
			seen.mark("just-left", now.Add(-time.Second))
			return nil
		},
		seen: seen,
		now:  func() time.Time { return now },
		log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	wantLines(t, "scrape as the kiosk leaves", scrapeText(t, c), notAway...)
}
