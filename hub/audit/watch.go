package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// HeadFile is the file in the hub's data directory in which the Watcher
// keeps the newest record it checked, as an anchor ("SEQ:HASH").
const HeadFile = "audit.head"

// headFileMax bounds what is read of HeadFile: an anchor is under 100
// bytes.
const headFileMax = 1 << 10

// Watcher checks the trail while the hub runs, so that records edited,
// removed or cut off the end are found within a check interval instead of
// at the next `audit verify` somebody thinks of running.
//
// Each Check walks the records appended since the last one, from the
// newest record that check saw, which must still be there unchanged: a
// trail cut short, replaced, or rewritten up to it (even by someone who
// holds audit.key) no longer has it. That record is kept in HeadFile, so a
// restart goes on from it; without the file (a hub's first start with the
// watch, or after an operator removed it), the first Check walks the
// whole trail.
//
// What a check finds broken is logged as an error, counted (Status), and
// recorded in the trail itself (Config.Alert, action audit.alert: the
// alert is sealed after whatever was done to the trail). The watch then
// checks the whole trail as it now stands and, if that holds (records cut
// off the end, a trail replaced: a restored backup looks the same), goes
// on from its head once the alert is in the trail (until then each check
// finds the break again, and tries to record it); if not (a record edited
// or removed inside), it stops and says so: an operator must look
// (`shiftgate-hub audit verify`), and the next start finds the break
// again.
//
// What it does not see: a record inside the trail changed after it was
// checked, by someone who holds the key and re-seals every record after
// it up to the head (the head then changes, which the next check does
// see, unless they also rewrite HeadFile); records older than the head
// checked are walked again only by Verify. An anchor kept off the hub
// (see Anchor) is what covers these.
type Watcher struct {
	cfg  WatchConfig
	path string

	// checking is held through a Check: two at once could keep an older
	// head after a newer one, and report one break twice.
	checking sync.Mutex
	// found is the record the last break was found walking from, and
	// alerted whether its audit.alert is in the trail. Until the watch
	// goes on from another record, a check walks from the same one and
	// finds the same break again (the whole trail could not be read, or
	// the alert not recorded; records appended since may change how it
	// shows): it neither counts nor logs it again, and records the alert
	// only if it is not there yet. Guarded by checking.
	found   string
	alerted bool

	mu sync.Mutex
	st WatchStatus
}

// WatchConfig is what a Watcher checks and where it reports.
type WatchConfig struct {
	Key   []byte
	Trail Trail
	// Dir is the data directory, where HeadFile is kept.
	Dir string
	// Alert records a break in the trail, as an audit.alert record.
	Alert func(context.Context, Entry) error
	// Sync, when set, makes every record committed so far durable
	// (sqlite.DB.Sync). The hub's SQLite store commits with
	// synchronous=NORMAL: a power cut may lose the last commits. A head
	// kept in HeadFile that names one of them would report, at the next
	// start, records cut off the end that nobody cut; so the Watcher
	// calls Sync after a walk and keeps its head only once Sync succeeded.
	Sync func(context.Context) error
	// OnChecked, when set, is called with each new head the watch has
	// checked and kept (the hub logs a signed Checkpoint of it).
	OnChecked func(head Anchor)
	Logger    *slog.Logger
	Now       func() time.Time
	// Pause is how long the walk waits between pages of a thousand
	// records, per unit of time the page took: the walk over a large
	// trail (the first one, or after a break) takes about 1/(1+Pause) of
	// a core, so kiosks' logins are not kept waiting. Default 3.
	Pause float64
}

// WatchStatus is what the Watcher found so far.
type WatchStatus struct {
	// Checked is the newest record checked (Seq 0 before the first check
	// is done, or on an empty trail).
	Checked Anchor
	// CheckedAt is when the last check completed, whether it found the
	// trail whole or not; zero before the first.
	CheckedAt time.Time
	// Breaks counts the breaks found since the Watcher was made, and
	// BrokenAt is when the last one was found (zero: none).
	Breaks   int64
	BrokenAt time.Time
	// Stopped says why the watch stopped ("" while it runs).
	Stopped string
}

// NewWatcher reads HeadFile, if there is one. A file that cannot be read
// as an anchor is an error: somebody or something wrote it who should
// not have; remove it to have the next start check the whole trail.
func NewWatcher(cfg WatchConfig) (*Watcher, error) {
	if err := checkKey(cfg.Key); err != nil {
		return nil, err
	}
	if cfg.Trail == nil || cfg.Alert == nil || cfg.Dir == "" {
		return nil, errors.New("audit watch: Trail, Alert and Dir are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Pause <= 0 {
		cfg.Pause = 3
	}
	w := &Watcher{cfg: cfg, path: filepath.Join(cfg.Dir, HeadFile)}
	a, err := readHead(w.path)
	if err != nil {
		return nil, err
	}
	w.st.Checked = a
	return w, nil
}

// LoadHead reads DIR/audit.head: the newest record a hub's Watcher
// checked, to verify the trail against (WithAnchor). ok is false when
// there is no file.
func LoadHead(dir string) (a Anchor, ok bool, err error) {
	a, err = readHead(filepath.Join(dir, HeadFile))
	return a, a.Seq > 0, err
}

// readHead reads the anchor in path; a missing file is the zero Anchor.
func readHead(path string) (Anchor, error) {
	b, err := readOwnerOnly(path, "audit head", func(size int64) error {
		if size > headFileMax {
			return fmt.Errorf("audit head %s is %d bytes: it holds one SEQ:HASH line; remove it to have the hub check the whole trail", path, size)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return Anchor{}, nil
	}
	if err != nil {
		return Anchor{}, err
	}
	a, err := ParseAnchor(string(b))
	if err != nil {
		return Anchor{}, fmt.Errorf("%s: %w; remove it to have the hub check the whole trail", path, err)
	}
	return a, nil
}

// Status returns what the Watcher found so far.
func (w *Watcher) Status() WatchStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.Checked.Hash = append([]byte(nil), st.Checked.Hash...)
	return st
}

// Run checks at once and then every interval until ctx ends or the watch
// stops.
func (w *Watcher) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := w.Check(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			w.cfg.Logger.Warn("audit watch: the trail could not be read; trying again", "err", err, "in", every)
		}
		if w.Status().Stopped != "" {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check walks the records appended since the last check (the whole trail
// the first time) and reports what it finds (see Watcher). It returns an
// error only when the trail could not be read; a break is reported, not
// returned. A stopped watch checks nothing.
func (w *Watcher) Check(ctx context.Context) error {
	w.checking.Lock()
	defer w.checking.Unlock()
	w.mu.Lock()
	from, stopped := w.st.Checked, w.st.Stopped
	w.mu.Unlock()
	if stopped != "" {
		return nil
	}
	rep, err := w.walk(ctx, from)
	var broken *BrokenError
	switch {
	case errors.As(err, &broken):
		return w.broken(ctx, from, broken)
	case err != nil:
		return err
	}
	return w.checked(ctx, rep, from)
}

// walk verifies from from on (the whole trail when from.Seq is 0), at the
// pace Config.Pause sets.
func (w *Watcher) walk(ctx context.Context, from Anchor) (Report, error) {
	start := time.Now()
	pace := WithProgress(func(Report) {
		took := time.Since(start)
		select {
		case <-ctx.Done(): // the next page read returns ctx's error
		case <-time.After(time.Duration(float64(took) * w.cfg.Pause)):
		}
		start = time.Now()
	})
	if from.Seq == 0 {
		return Verify(ctx, w.cfg.Key, w.cfg.Trail, pace)
	}
	return VerifyFrom(ctx, w.cfg.Key, w.cfg.Trail, from, pace)
}

// checked takes a walk's report: the head it reached is the next check's
// start, kept in HeadFile in place of kept (what the file holds now) once
// the records up to it are durable (WatchConfig.Sync).
func (w *Watcher) checked(ctx context.Context, rep Report, kept Anchor) error {
	var head Anchor // an empty trail
	if rep.HeadSeq > 0 {
		head = rep.Anchor()
	}
	if head.String() != kept.String() {
		// The check stands either way; the next start walks from an
		// older head, or the whole trail.
		err := w.sync(ctx)
		if err == nil {
			err = writeHead(w.path, head)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			w.cfg.Logger.Error("audit watch: keep the head checked", "err", err)
		case err == nil && head.Seq > 0 && w.cfg.OnChecked != nil:
			w.cfg.OnChecked(head)
		}
	}
	w.mu.Lock()
	w.st.Checked, w.st.CheckedAt = head, w.cfg.Now()
	w.mu.Unlock()
	return nil
}

// sync makes the records walked durable (WatchConfig.Sync).
func (w *Watcher) sync(ctx context.Context) error {
	if w.cfg.Sync == nil {
		return nil
	}
	if err := w.cfg.Sync(ctx); err != nil {
		return fmt.Errorf("make the records checked durable before keeping the head: %w", err)
	}
	return nil
}

// broken reports b, found walking from from, and checks the whole trail
// as it now stands, to go on from its head or stop. A break found again
// (see Watcher.found) is not reported again.
func (w *Watcher) broken(ctx context.Context, from Anchor, b *BrokenError) error {
	log := w.cfg.Logger
	again := w.found == from.String()
	if !again {
		w.found, w.alerted = from.String(), false
	}
	w.mu.Lock()
	if !again {
		w.st.Breaks++
		w.st.BrokenAt = w.cfg.Now()
	}
	w.st.CheckedAt = w.cfg.Now()
	w.mu.Unlock()
	detail := map[string]any{"problem": b.Error(), "record": b.Seq}
	checkedBefore := "none (the whole trail was walked)"
	if from.Seq > 0 {
		detail["checked"] = from.String()
		checkedBefore = from.String()
	}
	if !again {
		log.Error("AUDIT TRAIL BROKEN: records the hub sealed were changed, removed or cut off; run shiftgate-hub audit verify and see hub/README.md, Audit trail",
			"problem", b.Error(), "checked_before", checkedBefore)
	}
	// Paced as any walk: after a restore this is expected, and logins go on.
	rep, err := w.walk(ctx, Anchor{})
	var inside *BrokenError
	switch {
	case errors.As(err, &inside):
		detail["whole_trail"] = inside.Error()
		w.stop(fmt.Sprintf("the trail does not verify: %s", inside.Error()))
		log.Error("audit watch stopped: the trail is broken inside; run shiftgate-hub audit verify, keep the database aside as evidence and restore one from a backup, then restart the hub (on this trail the watch stops again at every start)", "problem", inside.Error())
	case err != nil:
		// The alert is recorded below; the next check walks from the
		// same record again and finds the same break again.
		detail["whole_trail"] = "not checked: " + err.Error()
	default:
		detail["whole_trail"] = fmt.Sprintf("verifies, %d records, head %s", rep.Records, rep.Anchor())
	}
	if ctx.Err() != nil {
		// Shutting down: the alert could not be recorded, and the next
		// start finds the break again.
		return ctx.Err()
	}
	if !w.alerted {
		if aerr := w.cfg.Alert(ctx, Entry{Actor: "audit-watch", System: "scheduler", Action: "audit.alert", Subject: "audit", Detail: detail}); aerr != nil {
			log.Error("audit watch: record the alert in the trail; the next check tries again", "err", aerr)
		} else {
			w.alerted = true
		}
	}
	if err != nil && inside == nil {
		return err
	}
	if err == nil && w.alerted {
		// Go on from the head as it was verified, before the alert:
		// the next check walks from there over the alert. Not before
		// the alert is in the trail: the break would be kept nowhere
		// but in the log, and the next start would not find it again.
		log.Warn("audit watch goes on from the trail as it now stands (after a restore from a backup this is expected; otherwise treat it as an incident)",
			"records", rep.Records, "head", rep.Anchor().String())
		return w.checked(ctx, rep, from)
	}
	return nil
}

func (w *Watcher) stop(why string) {
	w.mu.Lock()
	w.st.Stopped = why
	w.mu.Unlock()
}

// writeHead replaces path with a (removes it for the zero Anchor), 0600,
// through a file written beside it and renamed over it (writeAside), so
// that a crash leaves the old head or the new, never half.
func writeHead(path string, a Anchor) error {
	if a.Seq == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
		return nil
	}
	if err := writeAside(path, []byte(a.String()+"\n"), 0o600, os.Rename); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
