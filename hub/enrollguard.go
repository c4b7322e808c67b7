package hub

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Failed kiosk enrollments. POST /enroll needs no credential but a code,
// and codes carry 80 random bits and live 15 minutes, so guessing one is
// hopeless; but every attempt is a write transaction on the hub's one
// writer (the code is used in the same transaction that enrolls), and a
// flood of wrong codes would queue logins and revocations behind it. So a
// source address that sent enrollFailLimit wrong codes within
// enrollFailWindow gets 429 until the window ends, before anything is
// read or written. Successful enrollments never count: 10,000 kiosks may
// enroll from behind one address. Kiosks reach the hub directly (mTLS
// ends at the hub), so the address is the kiosk's or its site's NAT; an
// IPv6 source is its /64 (guardKey).
//
// An IPv6 /48 is what one end site is given, 65,536 /64s: enough for one
// attacker to fill the table (enrollGuardMax) with refused /64s of its
// own, and then, window after window, to use up the one limit that sources
// beyond the table share (see track), so that no new site could enroll a
// kiosk while the attack lasted. So a full table merges the /64s of each
// /48 that holds two or more into one source for the /48 (makeRoom): the
// attacker's /64s take one entry, and every one of them is refused with
// the /48.
//
// The limit holds under concurrent requests: an attempt takes one of its
// source's turns before its code is checked (enrollGuard.begin), and a
// source has enrollFailLimit turns less its wrong codes, so at most that
// many of its codes are ever being checked or found wrong in a window.
// An attempt that finds every turn taken by attempts still in flight
// waits for one to end (at most enrollTurnWait) rather than being
// refused: a site enrolling many kiosks at once is slowed, not turned
// away.
const (
	enrollFailLimit  = 20
	enrollFailWindow = 10 * time.Minute
	// enrollGuardMax bounds the sources remembered (see
	// enrollGuard.track for what happens when it is reached).
	enrollGuardMax = 10000
	// enrollTurnWait bounds how long an attempt waits for a turn of its
	// source's.
	enrollTurnWait = 10 * time.Second
)

// errEnrollBusy is begin's error for an attempt that found no turn free
// within enrollTurnWait.
var errEnrollBusy = errors.New("too many enrollments from this source at once")

// enrollBlockedError is begin's error for a source refused for Wait
// more: it sent enrollFailLimit wrong codes within its window. Source is
// its guardKey, its /48 (see makeRoom), or untrackedKey.
type enrollBlockedError struct {
	Source string
	Wait   time.Duration
}

func (e *enrollBlockedError) Error() string {
	return fmt.Sprintf("%s sent %d wrong enrollment codes: refused for %s", e.Source, enrollFailLimit, e.Wait)
}

type enrollGuard struct {
	mu sync.Mutex
	// max is the number of sources tracked at most (enrollGuardMax),
	// turnWait how long an attempt waits for a turn (enrollTurnWait):
	// tests lower them.
	max      int
	turnWait time.Duration
	// sources are the sources with wrong codes in their window or
	// attempts in flight, by guardKey, and the /48s makeRoom merged /64s
	// into, by prefix ("2001:db8:1::/48").
	sources map[string]*enrollSource
	// untracked counts, as one source, every source that found the
	// table full of sources it must not forget (see track).
	untracked *enrollSource
	// rescan is when a full table in which makeRoom found nothing to
	// forget may have something again: the first window to end. Until
	// then a new source goes to untracked without a scan, so that a
	// stream of them does not scan the table at each.
	rescan time.Time
}

// enrollSource is what the guard knows of one source.
type enrollSource struct {
	key string
	// net48 is the /48 of an IPv6 /64, which makeRoom may merge it
	// into; "" for the others.
	net48 string
	fails int // wrong codes in the window
	// since starts the window: the first of them (for a merged /48, the
	// latest of its /64s' windows: see makeRoom).
	since    time.Time
	inflight int // attempts begun and not ended
	// freed is closed when an attempt ends, for attempts waiting for a
	// turn; nil while none waits.
	freed chan struct{}
}

// untrackedKey names the untracked sources in logs and answers.
const untrackedKey = "sources beyond the enrollment guard's table"

func newEnrollGuard() *enrollGuard {
	return &enrollGuard{max: enrollGuardMax, turnWait: enrollTurnWait, sources: map[string]*enrollSource{}, untracked: &enrollSource{key: untrackedKey}}
}

// guardKey is the source a failure from addr counts against: the address
// itself for IPv4 (an IPv4-mapped IPv6 address is its IPv4 one), and its
// /64 for IPv6. A single IPv6 host is routinely given a whole /64 (SLAAC
// privacy addresses rotate within it, and a hosting provider hands one
// out per machine), so counting per address would give one attacker
// 2^64 fresh budgets, and let it fill the table with addresses of its
// own. What does not parse (a test's RemoteAddr) counts as itself. net48
// is the /48 an IPv6 source lies in (see makeRoom), "" for the others.
func guardKey(addr string) (key, net48 string) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr, ""
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String(), ""
	}
	return netip.PrefixFrom(ip, 64).Masked().String(), netip.PrefixFrom(ip, 48).Masked().String()
}

// find returns the tracked source that an attempt from key (in net48)
// counts against: its /48's while makeRoom's merge of it holds wrong codes
// or attempts, else its own; nil if neither is tracked. A /48 forgotten
// here leaves its /64s to count on their own again.
func (g *enrollGuard) find(key, net48 string, now time.Time) *enrollSource {
	if s, ok := g.sources[net48]; ok && net48 != "" {
		s.expire(now)
		if !s.idle() {
			return s
		}
		delete(g.sources, net48)
	}
	return g.sources[key]
}

// expire ends s's window when it is over at now (or starts after now:
// the hub's clock was set back).
func (s *enrollSource) expire(now time.Time) {
	if s.fails > 0 && (!now.Before(s.since.Add(enrollFailWindow)) || now.Before(s.since)) {
		s.fails, s.since = 0, time.Time{}
	}
}

// blockedFor is how long s is refused from now, or 0.
func (s *enrollSource) blockedFor(now time.Time) time.Duration {
	s.expire(now)
	if s.fails < enrollFailLimit {
		return 0
	}
	return s.since.Add(enrollFailWindow).Sub(now)
}

// idle reports whether s holds nothing worth remembering.
func (s *enrollSource) idle() bool { return s.fails == 0 && s.inflight == 0 }

// blocked returns how long addr must wait before its next attempt, or 0:
// a check before the request is read. begin decides.
func (g *enrollGuard) blocked(addr string, now time.Time) time.Duration {
	key, net48 := guardKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.find(key, net48, now)
	if s == nil {
		return 0
	}
	wait := s.blockedFor(now)
	if s.idle() {
		delete(g.sources, s.key)
	}
	return wait
}

// enrollAttempt is one enrollment attempt holding a turn of its source's.
type enrollAttempt struct {
	g     *enrollGuard
	src   *enrollSource
	ended bool
}

// begin takes a turn of addr's source for an attempt whose code is about
// to be checked; the attempt's end gives it back, or keeps it as a wrong
// code. It fails with an *enrollBlockedError when the source sent
// enrollFailLimit wrong codes in its window, with errEnrollBusy when no
// turn came free within enrollTurnWait, and with ctx's error when ctx
// ended first. now is the hub's clock.
func (g *enrollGuard) begin(ctx context.Context, addr string, now func() time.Time) (*enrollAttempt, error) {
	key, net48 := guardKey(addr)
	var timeout <-chan time.Time
	for {
		g.mu.Lock()
		t := now()
		s := g.track(key, net48, t)
		if wait := s.blockedFor(t); wait > 0 {
			g.mu.Unlock()
			return nil, &enrollBlockedError{Source: s.key, Wait: wait}
		}
		if s.fails+s.inflight < enrollFailLimit {
			s.inflight++
			g.mu.Unlock()
			return &enrollAttempt{g: g, src: s}, nil
		}
		// Every turn left is taken by an attempt in flight: wait for
		// one to end, then look again (it may have been a wrong code).
		if s.freed == nil {
			s.freed = make(chan struct{})
		}
		freed := s.freed
		g.mu.Unlock()
		if timeout == nil {
			timer := time.NewTimer(g.turnWait)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-freed:
		case <-timeout:
			return nil, errEnrollBusy
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// source names the source the attempt counts against: its guardKey, its
// /48, or untrackedKey.
func (a *enrollAttempt) source() string { return a.src.key }

// end ends the attempt at now: a wrong code keeps its turn for the rest
// of the window, anything else gives it back. Only the first call counts,
// so that a deferred end(false) covers a panic.
func (a *enrollAttempt) end(wrong bool, now time.Time) {
	g, s := a.g, a.src
	g.mu.Lock()
	defer g.mu.Unlock()
	if a.ended {
		return
	}
	a.ended = true
	s.inflight--
	if wrong {
		s.expire(now)
		if s.fails == 0 {
			s.since = now
		}
		s.fails++
	}
	if s.freed != nil {
		close(s.freed)
		s.freed = nil
	}
	if g.sources[s.key] != s {
		return // untracked
	}
	switch {
	case s.idle():
		delete(g.sources, s.key)
	case s.inflight == 0 && (s.fails < enrollFailLimit || s.net48 != ""):
		g.rescan = time.Time{} // makeRoom may forget or merge it now
	}
}

// track returns the source an attempt from key (in net48, see guardKey)
// counts against, tracking key if neither it nor its /48 is tracked. When
// the table is full, makeRoom makes room: it forgets the sources whose
// window has ended, merges the /64s of one /48, and then forgets the
// least suspect sources. A source that is refused (enrollFailLimit wrong
// codes) or has attempts in flight is never forgotten before its window
// ends: filling the table does not free an abuser. When every source is
// one of those and none can merge, new sources count as one (untracked),
// with one limit between them: an attack from more sources than the table
// holds gets at most enrollFailLimit more wrong codes through per window,
// and sources the table knows are not held up by it. Getting there takes
// refused sources from as many IPv4 addresses or IPv6 /48s as the table
// holds (10,000), or as many attempts in flight at once: one /48 no
// longer can.
func (g *enrollGuard) track(key, net48 string, now time.Time) *enrollSource {
	if s := g.find(key, net48, now); s != nil {
		return s
	}
	// A rescan time more than a window ahead means the hub's clock was
	// set back: scan.
	if len(g.sources) >= g.max && (!now.Before(g.rescan) || now.Before(g.rescan.Add(-enrollFailWindow))) {
		g.makeRoom(now)
		if s := g.find(key, net48, now); s != nil {
			return s // makeRoom merged key's /48
		}
	}
	if len(g.sources) >= g.max {
		return g.untracked
	}
	s := &enrollSource{key: key, net48: net48}
	g.sources[key] = s
	return s
}

// makeRoom makes room for track, or sets rescan when it can make none.
//
// First it forgets the sources whose window has ended. Then it merges the
// /64s (not in flight) of each /48 that holds two or more of them, or has
// a source of its own already, into that /48's source: it keeps all their
// wrong codes, counted from the latest of their windows (so no refused
// /64 is let go sooner), and every /64 of the /48 counts against it until
// its window ends (find). Merging forgets no wrong code, so it comes
// before forgetting any, and all of it at once, so that one scan frees all
// an attacker's /64s. A /48 is what one end site is given (RFC 6177), so
// merging never joins two sites of a network handing out /48s; one
// handing out /56s puts up to 256 customers in a /48, who share one limit
// only while the table is full and two of them have sent wrong codes.
// IPv4 addresses are never merged: a /24 is often a hosting provider's or
// a carrier-grade NAT's, shared by unrelated customers, and each address
// in the table costs an attacker one of its hosts.
//
// If the table is still full, it forgets the least suspect sources: those
// with the fewest wrong codes (the oldest first), a batch at a time so
// that a stream of new sources does not scan the table at each.
func (g *enrollGuard) makeRoom(now time.Time) {
	nets := map[string][]*enrollSource{} // /64s that may merge, by /48
	for key, s := range g.sources {
		s.expire(now)
		switch {
		case s.inflight > 0:
			// Its attempts end on it (enrollAttempt.src): kept.
		case s.fails == 0:
			delete(g.sources, key)
		case s.net48 != "":
			nets[s.net48] = append(nets[s.net48], s)
		}
	}
	if len(g.sources) < g.max {
		return
	}
	for net48, group := range nets {
		merged, ok := g.sources[net48]
		if !ok {
			if len(group) < 2 {
				continue // merging would free nothing
			}
			merged = &enrollSource{key: net48}
			g.sources[net48] = merged
		}
		for _, s := range group {
			merged.fails += s.fails
			if s.since.After(merged.since) {
				merged.since = s.since
			}
			delete(g.sources, s.key)
		}
	}
	if len(g.sources) < g.max {
		return
	}
	var suspects []*enrollSource
	var next time.Time // the first window to end
	for _, s := range g.sources {
		if s.fails > 0 && (next.IsZero() || s.since.Before(next)) {
			next = s.since
		}
		if s.inflight == 0 && s.fails < enrollFailLimit {
			suspects = append(suspects, s)
		}
	}
	if len(suspects) == 0 {
		// Only refused sources and attempts in flight: nothing to
		// forget until a window ends, or an attempt ends (end clears
		// rescan) or its source leaves.
		g.rescan = now.Add(enrollFailWindow)
		if !next.IsZero() {
			g.rescan = next.Add(enrollFailWindow)
		}
		return
	}
	slices.SortFunc(suspects, func(a, b *enrollSource) int {
		return cmp.Or(cmp.Compare(a.fails, b.fails), a.since.Compare(b.since))
	})
	for _, s := range suspects[:min(len(suspects), max(1, g.max/64))] {
		delete(g.sources, s.key)
	}
}

// sourceAddr is the IP address a request came from.
func sourceAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
