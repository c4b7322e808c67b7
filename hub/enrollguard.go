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
// attacker to get 20 wrong codes checked from each of 10,000 of them
// (200,000 a window), to fill the table (enrollGuardMax) with refused
// /64s of its own, and then, window after window, to use up the one limit
// that sources beyond the table share (see track), so that no new site
// could enroll a kiosk while the attack lasted. So the /64s of a /48
// share a second limit: enrollNet48Limit wrong codes between them
// (enrollNet), after which the /48 is one source, refused until the
// window of its latest /64 ends (settle, merge); and a full table merges
// the /64s of each /48 that holds two or more, whatever their wrong codes
// (makeRoom). Either way the attacker's /64s take one entry, and every
// one of them is refused with the /48.
//
// The limit holds under concurrent requests: an attempt takes one of its
// source's turns before its code is checked (enrollGuard.begin), and a
// source has enrollFailLimit turns less its wrong codes, so at most that
// many of its codes are ever being checked or found wrong in a window
// (and a /48 has enrollNet48Limit turns less its /64s' wrong codes).
// An attempt that finds every turn taken by attempts still in flight
// waits for one to end (at most enrollTurnWait) rather than being
// refused: a site enrolling many kiosks at once is slowed, not turned
// away.
const (
	enrollFailLimit  = 20
	enrollFailWindow = 10 * time.Minute
	// enrollNet48Limit is how many wrong codes the /64s of one IPv6 /48
	// may send between them, in their windows, before the /48 is one
	// source (settle): four /64s' worth; attempts in flight hold turns
	// of it too (begin). An attacker holding the /48 gets 80 codes
	// checked a window, not 20 from each /64 the table has room for
	// (200,000), and holds at most 80 entries of the table. Legitimate
	// sites do not get near it: an ISP handing out /56s puts up to 256
	// customers in a /48, but a site enrolls its kiosks a few times a
	// year, a mistyped code is retyped rather than guessed, and no site
	// reaches the 20 of its own /64; 80 in 10 minutes would take, say,
	// 16 sites of one /48 mistyping 5 codes each in the same 10 minutes.
	// What it costs when it happens anyway: the /48 waits out one window
	// (10 minutes at most), as one site would. IPv4 has no such limit
	// (see makeRoom).
	enrollNet48Limit = 4 * enrollFailLimit
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
// its guardKey, its /48 (see merge), or untrackedKey.
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
	// attempts in flight, by guardKey, and the /48s their /64s merged
	// into, by prefix ("2001:db8:1::/48"). Every change to the table
	// goes through add and forget, which keep nets up to date.
	sources map[string]*enrollSource
	// nets are the /48s of the IPv6 /64s in sources, by prefix: one
	// for each /48 with a /64 in the table, so no more of them than
	// sources.
	nets map[string]*enrollNet
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
	// net48 is the /48 of an IPv6 /64, which it may merge into; "" for
	// the others.
	net48 string
	// net is net48's enrollNet while the /64 is in the table (add),
	// nil otherwise: every change of fails or inflight goes to it too.
	net   *enrollNet
	fails int // wrong codes in the window
	// since starts the window: the first of them (for a merged /48, the
	// latest of its /64s' windows: see merge).
	since    time.Time
	inflight int // attempts begun and not ended
	// freed is closed when an attempt ends, for attempts waiting for a
	// turn; nil while none waits.
	freed chan struct{}
}

// enrollNet is the /48 of IPv6 /64s in the table: what its /64s hold
// between them, which enrollNet48Limit bounds. Its counts are the sums
// of its members' own, kept so at each change (they never drift: see
// TestEnrollGuardNetInvariants), so that checking the /48's limit costs
// nothing; a member's window that has ended counts until the member is
// looked at, or settle looks at all of them.
type enrollNet struct {
	key     string // "2001:db8:1::/48"
	members map[*enrollSource]struct{}
	// fails and inflight are the sums of the members'.
	fails    int
	inflight int
	// No member's window started before first or after last (bounds,
	// exact after settle ends the windows that are over): settle need
	// not look at the members while first's window has not ended.
	first, last time.Time
	// freed is closed when an attempt of a member ends, for attempts
	// waiting for a turn of the /48's; nil while none waits.
	freed chan struct{}
}

// untrackedKey names the untracked sources in logs and answers.
const untrackedKey = "sources beyond the enrollment guard's table"

func newEnrollGuard() *enrollGuard {
	return &enrollGuard{
		max: enrollGuardMax, turnWait: enrollTurnWait,
		sources: map[string]*enrollSource{}, nets: map[string]*enrollNet{},
		untracked: &enrollSource{key: untrackedKey},
	}
}

// guardKey is the source a failure from addr counts against: the address
// itself for IPv4 (an IPv4-mapped IPv6 address is its IPv4 one), and its
// /64 for IPv6. A single IPv6 host is routinely given a whole /64 (SLAAC
// privacy addresses rotate within it, and a hosting provider hands one
// out per machine), so counting per address would give one attacker
// 2^64 fresh budgets, and let it fill the table with addresses of its
// own. What does not parse (a test's RemoteAddr) counts as itself. net48
// is the /48 an IPv6 source lies in (see enrollNet48Limit), "" for the
// others.
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

// add puts s, new, in the table, and in its /48's enrollNet.
func (g *enrollGuard) add(s *enrollSource) {
	g.sources[s.key] = s
	if s.net48 == "" {
		return
	}
	n := g.nets[s.net48]
	if n == nil {
		n = &enrollNet{key: s.net48, members: map[*enrollSource]struct{}{}}
		g.nets[s.net48] = n
	}
	n.members[s] = struct{}{}
	s.net = n
	n.fails += s.fails
	n.inflight += s.inflight
	n.started(s)
}

// forget takes s out of the table, and out of its /48's enrollNet,
// which goes when it has no member left. Its wrong codes go with it
// (unless merge kept them).
func (g *enrollGuard) forget(s *enrollSource) {
	delete(g.sources, s.key)
	n := s.net
	if n == nil {
		return
	}
	n.fails -= s.fails
	n.inflight -= s.inflight
	delete(n.members, s)
	s.net = nil
	if len(n.members) == 0 {
		delete(g.nets, n.key)
	}
}

// find returns the tracked source that an attempt from key (in net48)
// counts against: its /48's while a merge of it holds wrong codes or
// attempts, else its own; nil if neither is tracked. A /48 forgotten here
// leaves its /64s to count on their own again.
func (g *enrollGuard) find(key, net48 string, now time.Time) *enrollSource {
	if s, ok := g.sources[net48]; ok && net48 != "" {
		s.expire(now)
		if !s.idle() {
			return s
		}
		g.forget(s)
	}
	return g.sources[key]
}

// expire ends s's window when it is over at now (or starts after now:
// the hub's clock was set back).
func (s *enrollSource) expire(now time.Time) {
	if s.fails > 0 && (!now.Before(s.since.Add(enrollFailWindow)) || now.Before(s.since)) {
		if s.net != nil {
			s.net.fails -= s.fails
		}
		s.fails, s.since = 0, time.Time{}
	}
}

// fail counts a wrong code of s's at now.
func (s *enrollSource) fail(now time.Time) {
	s.expire(now)
	if s.fails == 0 {
		s.since = now
	}
	s.fails++
	if s.net != nil {
		s.net.fails++
		s.net.started(s)
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

// hasTurn reports whether s has a turn free: enrollFailLimit less its
// wrong codes and attempts in flight; and, for a /64, its /48
// enrollNet48Limit less its /64s'.
func (s *enrollSource) hasTurn() bool {
	return s.fails+s.inflight < enrollFailLimit && (s.net == nil || !s.net.full())
}

// takeTurn counts an attempt of s's in flight.
func (s *enrollSource) takeTurn() {
	s.inflight++
	if s.net != nil {
		s.net.inflight++
	}
}

// started widens n's bounds for the window of s, a member.
func (n *enrollNet) started(s *enrollSource) {
	if s.fails == 0 {
		return
	}
	if n.first.IsZero() || s.since.Before(n.first) {
		n.first = s.since
	}
	if s.since.After(n.last) {
		n.last = s.since
	}
}

// full reports whether n's /64s have no turn left between them.
func (n *enrollNet) full() bool { return n.fails+n.inflight >= enrollNet48Limit }

// settle runs when n is full: it ends its members' windows that are
// over (forgetting the members left idle), and when its members still
// hold enrollNet48Limit wrong codes, merges them into one source for the
// /48. Looking at the members costs at most enrollNet48Limit of them,
// since each holds a wrong code or an attempt and n is full, and happens
// only once a window of one of them may have ended (first, last).
func (g *enrollGuard) settle(n *enrollNet, now time.Time) {
	if n.fails > 0 && (!now.Before(n.first.Add(enrollFailWindow)) || now.Before(n.last)) {
		n.first, n.last = time.Time{}, time.Time{}
		for s := range n.members {
			s.expire(now)
			if s.idle() {
				g.forget(s)
				continue
			}
			n.started(s)
		}
	}
	if n.fails < enrollNet48Limit {
		return
	}
	// At the limit no member is in flight (fails+inflight never passes
	// it: begin), so all of them merge, and the /48 is refused.
	group := make([]*enrollSource, 0, len(n.members))
	for s := range n.members {
		if s.inflight == 0 {
			group = append(group, s)
		}
	}
	g.merge(n.key, group)
}

// merge merges group, /64s of net48 not in flight, into net48's source
// (made if need be): it keeps all their wrong codes, counted from the
// latest of their windows (so no refused /64 is let go sooner), and every
// /64 of the /48 counts against it until its window ends (find).
func (g *enrollGuard) merge(net48 string, group []*enrollSource) {
	merged, ok := g.sources[net48]
	if !ok {
		merged = &enrollSource{key: net48}
		g.add(merged)
	}
	for _, s := range group {
		merged.fails += s.fails
		if s.since.After(merged.since) {
			merged.since = s.since
		}
		g.forget(s)
	}
}

// blocked returns how long addr must wait before its next attempt, or 0,
// and the source it counts against (its guardKey or its /48): a check
// before the request is read. begin decides.
func (g *enrollGuard) blocked(addr string, now time.Time) (time.Duration, string) {
	key, net48 := guardKey(addr)
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.find(key, net48, now)
	if s == nil {
		return 0, key
	}
	wait := s.blockedFor(now)
	if s.idle() {
		g.forget(s)
	}
	return wait, s.key
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
		if s.hasTurn() {
			s.takeTurn()
			g.mu.Unlock()
			return &enrollAttempt{g: g, src: s}, nil
		}
		// Every turn left is taken by an attempt in flight, of the
		// source's or of its /48's other /64s: wait for one to end,
		// then look again (it may have been a wrong code).
		freed := &s.freed
		if n := s.net; s.fails+s.inflight < enrollFailLimit {
			freed = &n.freed // the /48's turns are taken
			if s.idle() {
				g.forget(s) // track added it for this attempt; n has other members
			}
		}
		if *freed == nil {
			*freed = make(chan struct{})
		}
		wake := *freed
		g.mu.Unlock()
		if timeout == nil {
			timer := time.NewTimer(g.turnWait)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-wake:
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
	n := s.net
	if n != nil {
		n.inflight--
	}
	if wrong {
		s.fail(now)
	}
	wake(&s.freed)
	if n != nil {
		wake(&n.freed)
	}
	if g.sources[s.key] != s {
		return // untracked
	}
	switch {
	case s.idle():
		g.forget(s)
	case s.inflight == 0 && (s.fails < enrollFailLimit || s.net48 != ""):
		g.rescan = time.Time{} // makeRoom may forget or merge it now
	}
	if wrong && n != nil && n.fails >= enrollNet48Limit {
		// The /48's last turn was a wrong code: it is one source from
		// now on, refused before its requests are read (blocked).
		g.settle(n, now)
	}
}

// wake wakes the attempts waiting on *freed, if any.
func wake(freed *chan struct{}) {
	if *freed != nil {
		close(*freed)
		*freed = nil
	}
}

// track returns the source an attempt from key (in net48, see guardKey)
// counts against, tracking key if neither it nor its /48 is tracked. When
// key's /48 has no turn left, settle brings it up to date first, and may
// merge it. When the table is full, makeRoom makes room: it forgets the
// sources whose window has ended, merges the /64s of each /48 holding two
// or more, and then forgets the least suspect sources. A source that is
// refused (enrollFailLimit wrong codes) or has attempts in flight is
// never forgotten before its window ends: filling the table does not free
// an abuser. When every source is one of those and none can merge, new
// sources count as one (untracked), with one limit between them: an
// attack from more sources than the table holds gets at most
// enrollFailLimit more wrong codes through per window, and sources the
// table knows are not held up by it. Getting there takes refused sources
// from as many IPv4 addresses or IPv6 /48s as the table holds (10,000),
// or as many attempts in flight at once: one /48 no longer can.
func (g *enrollGuard) track(key, net48 string, now time.Time) *enrollSource {
	s := g.find(key, net48, now)
	if n := g.nets[net48]; n != nil && (s == nil || s.net == n) && n.full() {
		g.settle(n, now)
		s = g.find(key, net48, now)
	}
	if s != nil {
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
	s = &enrollSource{key: key, net48: net48}
	g.add(s)
	return s
}

// makeRoom makes room for track, or sets rescan when it can make none.
//
// First it forgets the sources whose window has ended. Then it merges the
// /64s (not in flight) of each /48 that holds two or more of them, or has
// a source of its own already, into that /48's source (merge), whatever
// their wrong codes. Merging forgets no wrong code, so it comes before
// forgetting any, and all of it at once, so that one scan frees all an
// attacker's /64s. A /48 is what one end site is given (RFC 6177), so
// merging never joins two sites of a network handing out /48s; one
// handing out /56s puts up to 256 customers in a /48, who share one limit
// only while the table is full and two of them have sent wrong codes, or
// when they sent enrollNet48Limit between them (settle). IPv4 addresses
// are never merged: a /24 is often a hosting provider's or a
// carrier-grade NAT's, shared by unrelated customers, and each address in
// the table costs an attacker one of its hosts.
//
// If the table is still full, it forgets the least suspect sources: those
// with the fewest wrong codes (the oldest first), a batch at a time so
// that a stream of new sources does not scan the table at each.
func (g *enrollGuard) makeRoom(now time.Time) {
	groups := map[string][]*enrollSource{} // /64s that may merge, by /48
	for _, s := range g.sources {
		s.expire(now)
		switch {
		case s.inflight > 0:
			// Its attempts end on it (enrollAttempt.src): kept.
		case s.fails == 0:
			g.forget(s)
		case s.net48 != "":
			groups[s.net48] = append(groups[s.net48], s)
		}
	}
	if len(g.sources) < g.max {
		return
	}
	for net48, group := range groups {
		if _, ok := g.sources[net48]; ok || len(group) >= 2 { // else merging would free nothing
			g.merge(net48, group)
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
		g.forget(s)
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
