package agent

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
	profiles "github.com/shiftgate/shiftgate/firmware-profiles"
)

// Reader watches the kiosk's badge reader and reports each badge or key
// presented on it and each one taken away. It only reports: the Agent
// decides what a presentation does (Config.Reader), so a Reader holds no
// session logic and a fake one can stand in for hardware in tests.
type Reader interface {
	// Run reports to report until ctx is done, then returns (nil, or an
	// error when the reader could not be watched at all). report may block
	// briefly; Run must not call it after returning. A badge is reported
	// presented once per presentation and removed once when it goes;
	// debouncing a flickering contact is the Reader's job.
	Run(ctx context.Context, report func(ReaderEvent)) error
}

// ReaderEvent is a badge presented on the reader, or taken away.
type ReaderEvent struct {
	Badge   Badge
	Removed bool
}

// Transports of a Badge: the WebAuthn transport names, as firmware profiles
// list them.
const (
	// TransportUSB is a key plugged into the kiosk. It stays there, so a
	// presentation is not a tap: every login waits for a touch on the key.
	TransportUSB = string(profiles.TransportUSB)
	// TransportNFC is a card on a contactless reader. Being there is the
	// tap (NFC keys count the reader's field as user presence): one tap per
	// presentation.
	TransportNFC = string(profiles.TransportNFC)
)

// Badge is a badge or key on the reader.
type Badge struct {
	// ID tells badges on the reader apart while they are there (for
	// libfido2, the device path).
	ID string
	// Transport is TransportUSB or TransportNFC; anything else is handled
	// like NFC (one tap per presentation).
	Transport string
	// Name is passed to Config.Authenticators when Authenticator is nil,
	// and logged.
	Name string
	// Authenticator, if set, is the badge itself (the reader's handle on
	// the device that was presented).
	Authenticator authenticator.Authenticator
}

// touchEach reports whether every tap of b is a touch on it (a plugged-in
// key) rather than its presentation.
func (b Badge) touchEach() bool { return b.Transport == TransportUSB }

// DefaultTouchWait is Config.TouchWait's default: how long one wait for a
// touch on a plugged-in key lasts before it starts again. Keys give up on
// their own after about 30 s.
const DefaultTouchWait = 20 * time.Second

const (
	// minTouchWait: a prefetched challenge with less life left than this
	// (after challengeMargin) is not worth a touch wait; a fresh one is
	// fetched instead.
	minTouchWait = 5 * time.Second
	// readerPause is how long touch waits pause after a challenge could not
	// be had, so a hub that answers errors is not asked in a loop.
	readerPause = 5 * time.Second
)

// Why a touch wait was called off; none of them is an error to show.
var (
	errTouchTimeout     = errors.New("no touch within the touch wait")
	errWaitPreempted    = errors.New("another badge was presented")
	errWaitRearmed      = errors.New("an enrollment was armed")
	errWaitDisconnected = errors.New("the hub channel dropped")
	errBadgeRemoved     = errors.New("the key was removed")
)

// presence is a badge on the reader, as the loop tracks it.
type presence struct {
	Badge
	// pending: an NFC presentation waiting for the tap it gives.
	pending bool
	// blocked: a USB key whose last tap failed without a touch (a key error,
	// no credential, ...). Trying again at once would fail again, in a loop:
	// it must be plugged in again (or an enrollment armed).
	blocked bool
}

// readerTap is the reader's part of the operation in flight.
type readerTap struct {
	p    *presence
	wait bool // a touch wait on a USB key
	// ctx is the touch wait's; cancel calls it off with a cause.
	ctx     context.Context
	cancel  context.CancelCauseFunc
	touched bool // the key was touched: the operation goes on to the hub
}

// runReader runs Config.Reader until the agent stops.
func (a *Agent) runReader(ctx context.Context) {
	err := a.cfg.Reader.Run(ctx, func(ev ReaderEvent) {
		if !ev.Removed {
			a.Activity() // somebody is at the kiosk
		}
		a.post(func() { a.readerEvent(ev) })
	})
	if err != nil && ctx.Err() == nil {
		a.log.Error("badge reader stopped; badges are no longer read", "err", err)
	}
}

func (a *Agent) readerEvent(ev ReaderEvent) {
	if ev.Removed {
		a.badgeRemoved(ev.Badge.ID)
		return
	}
	a.badgePresented(ev.Badge)
}

func (a *Agent) findPresence(id string) int {
	return slices.IndexFunc(a.present, func(p *presence) bool { return p.ID == id })
}

func (a *Agent) badgePresented(b Badge) {
	if a.findPresence(b.ID) >= 0 {
		return // already there
	}
	p := &presence{Badge: b}
	a.present = append(a.present, p)
	a.log.Info("badge presented", "badge", b.ID, "transport", b.Transport)
	if !b.touchEach() {
		switch {
		case a.op == opNone:
			p.pending = true
		case a.rtap != nil && a.rtap.wait && !a.rtap.touched:
			// A card beats a key left plugged in that nobody touches.
			p.pending = true
			a.rtap.cancel(errWaitPreempted)
		default:
			a.log.Info("badge ignored: a tap is being handled; present it again", "badge", b.ID)
		}
	}
	a.readerKick()
}

func (a *Agent) badgeRemoved(id string) {
	i := a.findPresence(id)
	if i < 0 {
		return
	}
	p := a.present[i]
	a.present = slices.Delete(a.present, i, i+1)
	a.log.Info("badge removed", "badge", id)
	if rt := a.rtap; rt != nil && rt.p == p && rt.wait && !rt.touched {
		rt.cancel(errBadgeRemoved)
	}
	a.readerKick()
}

// takesTap reports whether a tap would start an operation now: a login
// from the locked screen (once Config.Cleanup has succeeded), or a
// registration while an enrollment is armed.
func (a *Agent) takesTap() bool {
	if a.op != opNone {
		return false
	}
	return (a.state == Locked && !a.unclean) || (a.enroll != nil && (a.state == Active || a.state == Warning))
}

// readerKick starts the tap the reader gives, if any: first a fresh NFC
// presentation (ignored, and used up, when the state machine takes no tap
// now: a badge left on the reader never taps later on its own), then a
// touch wait on a plugged-in USB key, while connected.
func (a *Agent) readerKick() {
	if a.cfg.Reader == nil || a.op != opNone || a.ctx.Err() != nil {
		return
	}
	for _, p := range a.present {
		if !p.pending {
			continue
		}
		p.pending = false
		if !a.takesTap() {
			a.log.Info("badge ignored: no tap is taken now; present it again", "badge", p.ID, "state", a.state)
			continue
		}
		a.startReaderTap(p, false)
		return
	}
	if !a.connected || a.readerPaused || !a.takesTap() {
		return
	}
	for _, p := range a.present {
		if p.touchEach() && !p.blocked {
			a.startReaderTap(p, true)
			return
		}
	}
}

func (a *Agent) startReaderTap(p *presence, wait bool) {
	ctx, cancel := context.WithCancelCause(a.ctx)
	rt := &readerTap{p: p, wait: wait, ctx: ctx, cancel: cancel}
	a.rtap = rt
	if !a.startTap(tapReq{name: p.Name, auth: p.Authenticator, rt: rt}) {
		a.rtap = nil
		cancel(nil)
		return
	}
	if !wait {
		a.emit(Event{Event: EventBadgeRead})
	}
}

// touched: the key of a touch wait was touched; the operation goes on to
// the hub, and the screen says so.
func (a *Agent) touched(rt *readerTap) {
	rt.touched = true
	if a.state == Locked {
		a.setState(Verifying)
	}
	a.emit(Event{Event: EventBadgeRead})
}

// callOffWait calls off a touch wait nobody has touched yet; it reports
// whether there was one. Its operation ends quietly and readerKick starts
// what is due instead.
func (a *Agent) callOffWait(cause error) bool {
	rt := a.rtap
	if rt == nil || !rt.wait || rt.touched {
		return false
	}
	rt.cancel(cause)
	return true
}

// enrollmentArmed lets a plugged-in key register: a touch wait for a login
// is called off (a touch now registers), and keys blocked by a failed login
// may try again.
func (a *Agent) enrollmentArmed() {
	for _, p := range a.present {
		p.blocked = false
	}
	if !a.callOffWait(errWaitRearmed) {
		a.readerKick()
	}
}

// readerTapDone closes the reader's part of a finished operation. A USB key
// that failed without being touched is blocked until it is plugged in
// again; a failed challenge fetch pauses touch waits for a while.
func (a *Agent) readerTapDone(quiet, pause bool) {
	rt := a.rtap
	if rt == nil {
		return
	}
	a.rtap = nil
	cause := context.Cause(rt.ctx)
	rt.cancel(nil)
	if quiet {
		a.log.Debug("touch wait ended without a touch", "badge", rt.p.ID, "why", cause)
	}
	if rt.wait && !rt.touched && !quiet && slices.Contains(a.present, rt.p) {
		rt.p.blocked = true
		a.log.Warn("the key failed without being touched; unplug it and plug it in again to retry", "badge", rt.p.ID)
	}
	if pause && !a.readerPaused {
		a.readerPaused = true
		a.readerTimer = a.clock.AfterFunc(readerPause, func() {
			a.post(func() {
				a.readerPaused = false
				a.readerKick()
			})
		})
	}
}

// touchWaitFor is how long a touch wait with challenge ch may last: the
// touch wait, cut short so that the challenge is still good for sending.
func (a *Agent) touchWaitFor(ch *challenge) time.Duration {
	return min(a.cfg.TouchWait, ch.validUntil.Sub(a.clock.Now())-challengeMargin)
}

// loginAfterTouch is login for a plugged-in key: wait for the touch (with
// a challenge that stays good for the whole wait), then ask the hub.
func (a *Agent) loginAfterTouch(ctx context.Context, req tapReq, auth authenticator.Authenticator, ch *challenge) loginResult {
	if ch != nil && a.touchWaitFor(ch) < minTouchWait {
		ch = nil // too close to its expiry to wait with
	}
	if ch == nil {
		fctx, cancel := context.WithTimeout(ctx, a.cfg.LoginTimeout)
		c, err := a.fetchChallenge(fctx)
		cancel()
		if err != nil {
			a.log.Warn("touch wait: no challenge; trying again shortly", "err", err)
			return loginResult{quiet: true, pause: true}
		}
		if a.touchWaitFor(c) < minTouchWait {
			a.log.Warn("touch wait: the hub's challenge expires too soon (check the kiosk's clock); trying again shortly", "expires_at", c.ExpiresAt)
			return loginResult{quiet: true, pause: true}
		}
		ch = c
	}
	cred, w, err := a.afterTouch(req.rt, a.touchWaitFor(ch), func(ctx context.Context) ([]byte, error) {
		return authenticator.Authenticate(ctx, auth, ch.Origin, ch.Options)
	})
	switch {
	case w != touchedKey:
		return loginResult{quiet: true, pause: w == keyGaveUpAtOnce, unused: ch}
	case err != nil:
		return loginResult{reason: a.assertionRefusal(req.name, err), unused: ch}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.LoginTimeout)
	defer cancel()
	return a.sendLogin(ctx, cred)
}

// touchEnd is how a touch wait ended.
type touchEnd int

const (
	// touchedKey: the key answered, signed or with an error; err says which.
	touchedKey touchEnd = iota
	// noTouch: the wait ran out (ours, or the key's own), it was called off,
	// or the agent is stopping.
	noTouch
	// keyGaveUpAtOnce: the key said it timed out without having waited
	// (minTouchWait); waiting again at once would spin.
	keyGaveUpAtOnce
)

// afterTouch runs op, which waits for a touch on the key, for at most wait
// on the agent's clock, or until the loop calls the wait off. After a
// touch it tells the loop, before the hub is asked.
func (a *Agent) afterTouch(rt *readerTap, wait time.Duration, op func(context.Context) ([]byte, error)) ([]byte, touchEnd, error) {
	start := a.clock.Now()
	t := a.clock.AfterFunc(wait, func() { rt.cancel(errTouchTimeout) })
	cred, err := op(rt.ctx)
	t.Stop()
	switch {
	case err == nil:
		a.post(func() { a.touched(rt) })
		return cred, touchedKey, nil
	case rt.ctx.Err() != nil:
		return nil, noTouch, nil
	case errors.Is(err, authenticator.ErrTouchTimeout):
		if a.clock.Now().Sub(start) < minTouchWait {
			a.log.Warn("the key gave up waiting for a touch at once; waiting a while", "badge", rt.p.ID, "err", err)
			return nil, keyGaveUpAtOnce, nil
		}
		return nil, noTouch, nil
	default:
		return nil, touchedKey, err
	}
}

// --- polling readers ----------------------------------------------------

// Device is a device a polled reader lists: a USB key plugged in, or an NFC
// card on the reader.
type Device struct {
	// Path identifies the device while it is there.
	Path string
	// Transport is TransportUSB or TransportNFC.
	Transport string
}

// PollReaderConfig configures a PollReader.
type PollReaderConfig struct {
	// List returns the devices present now. Required.
	List func() ([]Device, error)
	// Badge turns a device into the Badge reported for it. Nil: a Badge
	// with the path as ID and Name.
	Badge func(Device) Badge
	// Transports, if set, are the only transports reported (the firmware
	// profile's); devices of others are ignored, and logged once.
	Transports []string
	// Interval between polls (default 250 ms); RemoveAfter is how many
	// polls in a row a device must be missing to count as removed (default
	// 2), so a card that flickers on the reader's edge is not presented
	// twice.
	Interval    time.Duration
	RemoveAfter int
	// Busy, if set, is held while a device is in use; polls are skipped
	// meanwhile (listing NFC cards talks to them and would disturb an
	// operation), and nothing changes until the next poll.
	Busy *sync.Mutex
	// Clock drives the polls (default the system clock); Logger logs.
	Clock  Clock
	Logger *slog.Logger
}

// PollReader is a Reader that polls a device list: a device that appears
// is presented, one missing RemoveAfter polls in a row is removed.
type PollReader struct {
	cfg PollReaderConfig

	// Poll state, owned by Run (or by the caller of poll in tests).
	seen    map[string]*polled
	ignored map[string]bool // paths of transports not taken, logged once
	failing bool            // the last List failed (logged once)
}

type polled struct {
	badge   Badge
	missing int // polls in a row without it
}

// NewPollReader returns a PollReader; nothing is polled until Run.
func NewPollReader(cfg PollReaderConfig) (*PollReader, error) {
	if cfg.List == nil {
		return nil, errors.New("new poll reader: List required")
	}
	if cfg.Badge == nil {
		cfg.Badge = func(d Device) Badge { return Badge{ID: d.Path, Name: d.Path, Transport: d.Transport} }
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.RemoveAfter <= 0 {
		cfg.RemoveAfter = 2
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &PollReader{cfg: cfg, seen: map[string]*polled{}, ignored: map[string]bool{}}, nil
}

// Run implements Reader: it polls every Interval until ctx is done.
func (r *PollReader) Run(ctx context.Context, report func(ReaderEvent)) error {
	tick := make(chan struct{}, 1)
	for {
		r.poll(report)
		t := r.cfg.Clock.AfterFunc(r.cfg.Interval, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-tick:
		}
	}
}

// poll lists the devices once and reports what changed.
func (r *PollReader) poll(report func(ReaderEvent)) {
	if r.cfg.Busy != nil {
		if !r.cfg.Busy.TryLock() {
			return
		}
		defer r.cfg.Busy.Unlock()
	}
	devs, err := r.cfg.List()
	if err != nil {
		if !r.failing {
			r.cfg.Logger.Warn("cannot list badge reader devices; retrying", "err", err)
			r.failing = true
		}
		return // nothing is known to have changed
	}
	if r.failing {
		r.cfg.Logger.Info("badge reader devices listed again")
		r.failing = false
	}
	here := map[string]bool{}
	for _, d := range devs {
		if len(r.cfg.Transports) > 0 && !slices.Contains(r.cfg.Transports, d.Transport) {
			if !r.ignored[d.Path] {
				r.cfg.Logger.Warn("device ignored: its transport is not this kiosk's (firmware profile)", "device", d.Path, "transport", d.Transport, "transports", r.cfg.Transports)
				r.ignored[d.Path] = true
			}
			continue
		}
		here[d.Path] = true
		if s, ok := r.seen[d.Path]; ok {
			s.missing = 0
			continue
		}
		b := r.cfg.Badge(d)
		r.seen[d.Path] = &polled{badge: b}
		report(ReaderEvent{Badge: b})
	}
	for path := range r.ignored {
		if !slices.ContainsFunc(devs, func(d Device) bool { return d.Path == path }) {
			delete(r.ignored, path)
		}
	}
	for path, s := range r.seen {
		if here[path] {
			continue
		}
		if s.missing++; s.missing >= r.cfg.RemoveAfter {
			delete(r.seen, path)
			report(ReaderEvent{Badge: s.badge, Removed: true})
		}
	}
}

// ReaderFor returns the badge reader for the --authenticator value spec:
// for "fido2" the libfido2 device poller (USB keys and NFC cards, limited
// to the transports of profile p when it is known), nil for soft badges,
// which are tapped explicitly (Tap).
func ReaderFor(spec string, p *profiles.Profile, log *slog.Logger) (Reader, error) {
	if spec != "fido2" {
		return nil, nil
	}
	var transports []string
	if p != nil {
		for _, t := range p.Authenticator.Transports {
			transports = append(transports, string(t))
		}
	}
	return fido2Reader(transports, log)
}
