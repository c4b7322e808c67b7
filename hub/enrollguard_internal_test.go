package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

var guardT0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// fixedNow is a clock for the guard that stays at t.
func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

// wrongCodes sends n wrong codes from addr at t, one after the other, and
// fails the test if one is refused.
func wrongCodes(t *testing.T, g *enrollGuard, addr string, n int, at time.Time) {
	t.Helper()
	for i := range n {
		a, err := g.begin(t.Context(), addr, fixedNow(at))
		if err != nil {
			t.Fatalf("wrong code %d from %s: %v", i, addr, err)
		}
		a.end(true, at)
	}
}

// mustBlock fails the test unless an attempt from addr at t is refused
// as its source's (source) after too many wrong codes.
func mustBlock(t *testing.T, g *enrollGuard, addr, source string, at time.Time) {
	t.Helper()
	a, err := g.begin(t.Context(), addr, fixedNow(at))
	var blocked *enrollBlockedError
	if !errors.As(err, &blocked) || blocked.Source != source || blocked.Wait <= 0 {
		if a != nil {
			a.end(false, at)
		}
		t.Fatalf("attempt from %s: %v, want it refused as %s's", addr, err, source)
	}
}

// mustTake fails the test unless an attempt from addr at t gets a turn,
// counted against source; the attempt ends with a right code.
func mustTake(t *testing.T, g *enrollGuard, addr, source string, at time.Time) {
	t.Helper()
	a, err := g.begin(t.Context(), addr, fixedNow(at))
	if err != nil {
		t.Fatalf("attempt from %s: %v, want a turn", addr, err)
	}
	if a.source() != source {
		t.Errorf("attempt from %s counted against %q, want %q", addr, a.source(), source)
	}
	a.end(false, at)
}

// TestEnrollGuardConcurrentWrongCodes: wrong codes sent all at once from
// one source get no more than enrollFailLimit checks, however they
// interleave; the rest are refused, not checked.
func TestEnrollGuardConcurrentWrongCodes(t *testing.T) {
	g := newEnrollGuard()
	const n = 10 * enrollFailLimit
	checked, denied := sendWrongCodesAtOnce(t, g, n, func(i int) string { return fmt.Sprintf("2001:db8::%x", i) })
	if checked != enrollFailLimit || denied != n-enrollFailLimit {
		t.Errorf("%d concurrent wrong codes from one /64: %d checked, %d refused; want %d checked, the rest refused", n, checked, denied, enrollFailLimit)
	}
	mustBlock(t, g, "2001:db8::1", "2001:db8::/64", guardT0.Add(enrollFailWindow-time.Nanosecond))
	mustTake(t, g, "2001:db8::1", "2001:db8::/64", guardT0.Add(enrollFailWindow))
}

// TestEnrollGuardTurns: a source has enrollFailLimit turns less its wrong
// codes. An attempt that finds them all taken by attempts in flight
// waits for one to end instead of being refused, so that a site
// enrolling many kiosks at once is slowed, not turned away; if the one
// that ended was a wrong code that used the last turn, the waiting
// attempt is refused then. Waiting ends with the request, or after
// turnWait (errEnrollBusy).
func TestEnrollGuardTurns(t *testing.T) {
	g := newEnrollGuard()
	g.turnWait = 100 * time.Millisecond
	const addr = "192.0.2.7"
	begin := func(ctx context.Context) <-chan error {
		done := make(chan error, 1)
		go func() {
			a, err := g.begin(ctx, addr, fixedNow(guardT0))
			if err == nil {
				a.end(false, guardT0)
			}
			done <- err
		}()
		return done
	}

	// enrollFailLimit right codes in flight: the next waits, and goes on
	// when one of them ends.
	var inFlight []*enrollAttempt
	for i := range enrollFailLimit {
		a, err := g.begin(t.Context(), addr, fixedNow(guardT0))
		if err != nil {
			t.Fatalf("attempt %d in flight: %v", i, err)
		}
		inFlight = append(inFlight, a)
	}
	waiting := begin(t.Context())
	select {
	case err := <-waiting:
		t.Fatalf("with every turn in flight, an attempt returned at once (%v), want it to wait", err)
	case <-time.After(20 * time.Millisecond):
	}
	inFlight[0].end(false, guardT0)
	inFlight[0].end(true, guardT0) // a second end counts for nothing
	if err := <-waiting; err != nil {
		t.Errorf("after a right code ended: %v, want the waiting attempt to go on", err)
	}
	a, err := g.begin(t.Context(), addr, fixedNow(guardT0)) // every turn in flight again
	if err != nil {
		t.Fatal(err)
	}
	inFlight[0] = a
	if err := <-begin(t.Context()); !errors.Is(err, errEnrollBusy) {
		t.Errorf("nothing ends within turnWait: %v, want errEnrollBusy", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	waiting = begin(ctx)
	cancel()
	if err := <-waiting; !errors.Is(err, context.Canceled) {
		t.Errorf("request ended while waiting: %v, want context.Canceled", err)
	}
	for _, a := range inFlight {
		a.end(false, guardT0)
	}
	if len(g.sources) != 0 {
		t.Errorf("right codes only: %d sources remembered, want none", len(g.sources))
	}

	// One turn left and taken: the waiting attempt is refused when that
	// one turns out a wrong code.
	wrongCodes(t, g, addr, enrollFailLimit-1, guardT0)
	last, err := g.begin(t.Context(), addr, fixedNow(guardT0))
	if err != nil {
		t.Fatalf("the last turn: %v", err)
	}
	waiting = begin(t.Context())
	time.Sleep(20 * time.Millisecond)
	last.end(true, guardT0)
	var blocked *enrollBlockedError
	if err := <-waiting; !errors.As(err, &blocked) {
		t.Errorf("waiting for the last turn, which was a wrong code: %v, want refused", err)
	}
}

// TestEnrollGuardTableFull: a full table forgets sources whose window
// has ended first, then the least suspect (fewest wrong codes, oldest);
// never a refused source nor one with attempts in flight, so that filling
// the table frees no abuser. Once it holds only those, new sources share
// one limit: more sources than the table holds get enrollFailLimit wrong
// codes through between them, the sources it tracks keep their own
// limits, and a right code from a new source still goes through until the
// shared limit is reached. A table found full of those is not scanned
// again until a window or an attempt in flight ends.
func TestEnrollGuardTableFull(t *testing.T) {
	t.Run("window ended", func(t *testing.T) {
		g := newEnrollGuard()
		g.max = 4
		for i := range 4 {
			wrongCodes(t, g, fmt.Sprintf("192.0.2.%d", i), enrollFailLimit, guardT0)
		}
		later := guardT0.Add(enrollFailWindow)
		wrongCodes(t, g, "198.51.100.1", 1, later)
		if _, ok := g.sources["198.51.100.1"]; !ok || len(g.sources) != 1 {
			t.Errorf("after the window: %d sources tracked, want the new one only", len(g.sources))
		}
	})
	t.Run("least suspect forgotten", func(t *testing.T) {
		g := newEnrollGuard()
		g.max = 4
		wrongCodes(t, g, "192.0.2.1", enrollFailLimit, guardT0)                            // refused
		wrongCodes(t, g, "192.0.2.2", 2, guardT0)                                          // two wrong codes
		wrongCodes(t, g, "192.0.2.3", 1, guardT0.Add(time.Minute))                         // one, later
		wrongCodes(t, g, "192.0.2.4", 1, guardT0)                                          // one, earlier: forgotten first
		wrongCodes(t, g, "2001:db8:1:2::1", 1, guardT0.Add(2*time.Minute))                 // new: tracked
		wrongCodes(t, g, "2001:db8:1:2::2", enrollFailLimit-1, guardT0.Add(2*time.Minute)) // the same /64
		now := guardT0.Add(3 * time.Minute)
		mustBlock(t, g, "2001:db8:1:2::3", "2001:db8:1:2::/64", now)
		mustBlock(t, g, "192.0.2.1", "192.0.2.1", now)
		if _, ok := g.sources["192.0.2.4"]; ok {
			t.Error("the source with the fewest and oldest wrong codes is still tracked")
		}
		for _, key := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8:1:2::/64"} {
			if _, ok := g.sources[key]; !ok {
				t.Errorf("%s was forgotten", key)
			}
		}
	})
	t.Run("only refused or in flight", func(t *testing.T) {
		g := newEnrollGuard()
		g.max = 4
		for i := range 3 {
			wrongCodes(t, g, fmt.Sprintf("192.0.2.%d", i), enrollFailLimit, guardT0)
		}
		inFlight, err := g.begin(t.Context(), "192.0.2.9", fixedNow(guardT0))
		if err != nil {
			t.Fatal(err)
		}
		now := guardT0.Add(time.Minute)
		// A right code from a new source goes through, counted with the
		// other untracked sources.
		mustTake(t, g, "198.51.100.1", untrackedKey, now)
		for i := range enrollFailLimit {
			wrongCodes(t, g, fmt.Sprintf("203.0.113.%d", i), 1, now)
		}
		mustBlock(t, g, "198.51.100.200", untrackedKey, now)
		mustBlock(t, g, "2001:db8:ffff::1", untrackedKey, now)
		for i := range 3 {
			mustBlock(t, g, fmt.Sprintf("192.0.2.%d", i), fmt.Sprintf("192.0.2.%d", i), now)
		}
		// The tracked source in flight keeps its own turns.
		mustTake(t, g, "192.0.2.9", "192.0.2.9", now)
		inFlight.end(false, now)

		// Its window over, a new source is tracked on its own again.
		later := guardT0.Add(enrollFailWindow)
		wrongCodes(t, g, "198.51.100.7", 1, later)
		if _, ok := g.sources["198.51.100.7"]; !ok {
			t.Error("after the windows ended, a new source is not tracked")
		}
		mustTake(t, g, "198.51.100.200", "198.51.100.200", later)
	})
	t.Run("room again when an attempt ends", func(t *testing.T) {
		g := newEnrollGuard()
		g.max = 4
		for i := range 3 {
			wrongCodes(t, g, fmt.Sprintf("192.0.2.%d", i), enrollFailLimit, guardT0)
		}
		wrongCodes(t, g, "192.0.2.9", 1, guardT0)
		inFlight, err := g.begin(t.Context(), "192.0.2.9", fixedNow(guardT0))
		if err != nil {
			t.Fatal(err)
		}
		now := guardT0.Add(time.Minute)
		mustTake(t, g, "198.51.100.1", untrackedKey, now) // 192.0.2.9 is in flight: nothing to forget
		mustTake(t, g, "198.51.100.2", untrackedKey, now) // and no scan finds otherwise
		inFlight.end(false, now)
		wrongCodes(t, g, "198.51.100.3", 1, now)
		if _, ok := g.sources["198.51.100.3"]; !ok {
			t.Error("once the attempt in flight ended, a new source is not tracked")
		}
		if _, ok := g.sources["192.0.2.9"]; ok {
			t.Error("the source with one wrong code, no longer in flight, was not forgotten for it")
		}
	})
}

// TestEnrollGuardKey: the source an address counts against (guardKey),
// and the /48 it may be merged into: an IPv4 address (also written
// IPv4-mapped) is itself and never merged; an IPv6 address is its /64,
// in its /48.
func TestEnrollGuardKey(t *testing.T) {
	for _, tc := range []struct{ name, addr, key, net48 string }{
		{"IPv4", "192.0.2.7", "192.0.2.7", ""},
		{"IPv4-mapped IPv6", "::ffff:192.0.2.7", "192.0.2.7", ""},
		{"IPv6", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64", "2001:db8:1::/48"},
		{"IPv6 with a zone", "fe80::1%eth0", "fe80::/64", "fe80::/48"},
		{"not an address", "pipe", "pipe", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, net48 := guardKey(tc.addr)
			if key != tc.key || net48 != tc.net48 {
				t.Errorf("guardKey(%q) = %q, %q; want %q, %q", tc.addr, key, net48, tc.key, tc.net48)
			}
		})
	}
}

// TestEnrollGuardMergeNet48: a full table merges the /64s of each /48
// that holds two or more into one source for the /48, before it forgets
// anything. The merged source keeps every wrong code, counted from the
// latest window; every /64 of the /48, tracked or new, counts against it
// until its window ends. /64s in flight stay (their attempts end on
// them), and merge into the /48's source at the next scan. A /64 alone
// in its /48 and IPv4 addresses are not merged.
func TestEnrollGuardMergeNet48(t *testing.T) {
	t.Run("an attacker's /48 takes one entry", func(t *testing.T) {
		// Three refused /64s, the last 2 minutes in: fewer wrong codes
		// than the /48's own limit (enrollNet48Limit), so it is the
		// full table that merges them.
		g := newEnrollGuard()
		g.max = 3
		for i := range 3 {
			wrongCodes(t, g, fmt.Sprintf("2001:db8:a:%x::1", i), enrollFailLimit, guardT0.Add(time.Duration(i)*time.Minute))
		}
		now := guardT0.Add(3 * time.Minute)
		mustBlock(t, g, "2001:db8:a:100::1", "2001:db8:a::/48", now) // a new /64 of it: the scan merges
		mustBlock(t, g, "2001:db8:a:2::1", "2001:db8:a::/48", now)   // a merged one
		if len(g.sources) != 1 {
			t.Errorf("after the merge: %d sources tracked, want the /48 alone", len(g.sources))
		}
		// Other networks are tracked on their own.
		wrongCodes(t, g, "198.51.100.1", 1, now)
		wrongCodes(t, g, "2001:db8:b:1::1", 1, now)
		mustTake(t, g, "198.51.100.1", "198.51.100.1", now)
		mustTake(t, g, "2001:db8:b:1::2", "2001:db8:b:1::/64", now)
		// The /48 is refused as long as its last refused /64 was, and
		// its /64s count on their own again after.
		last := guardT0.Add(2*time.Minute + enrollFailWindow)
		mustBlock(t, g, "2001:db8:a:0::1", "2001:db8:a::/48", last.Add(-time.Nanosecond))
		mustTake(t, g, "2001:db8:a:0::1", "2001:db8:a::/64", last)
		if _, ok := g.sources["2001:db8:a::/48"]; ok {
			t.Error("the /48's window ended and it is still tracked")
		}
	})
	t.Run("merged wrong codes keep counting", func(t *testing.T) {
		g := newEnrollGuard()
		g.max = 5
		wrongCodes(t, g, "192.0.2.1", enrollFailLimit, guardT0)
		wrongCodes(t, g, "192.0.2.2", enrollFailLimit, guardT0)
		wrongCodes(t, g, "2001:db8:c:1::1", 3, guardT0)
		wrongCodes(t, g, "2001:db8:c:2::1", 4, guardT0.Add(time.Minute))
		wrongCodes(t, g, "2001:db8:c:3::1", 1, guardT0.Add(2*time.Minute))
		inFlight, err := g.begin(t.Context(), "2001:db8:c:3::2", fixedNow(guardT0.Add(2*time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		now := guardT0.Add(3 * time.Minute)
		wrongCodes(t, g, "198.51.100.1", 1, now) // the scan merges :1 and :2, not :3 (in flight)
		merged := g.sources["2001:db8:c::/48"]
		if merged == nil || merged.fails != 7 || !merged.since.Equal(guardT0.Add(time.Minute)) {
			t.Fatalf("the /48's source: %+v, want 7 wrong codes since the latest window (1m)", merged)
		}
		if _, ok := g.sources["198.51.100.1"]; !ok {
			t.Error("the new source was not tracked in the room the merge made")
		}
		// Every /64 of the /48 counts against it, the one in flight too
		// (its attempt in flight still ends on its own).
		mustTake(t, g, "2001:db8:c:3::1", "2001:db8:c::/48", now)
		wrongCodes(t, g, "2001:db8:c:99::1", enrollFailLimit-7, now)
		inFlight.end(true, now)
		if s := g.sources["2001:db8:c:3::/64"]; s == nil || s.fails != 2 {
			t.Errorf("the /64 in flight at the merge: %+v, want its own 2 wrong codes", s)
		}
		mustBlock(t, g, "2001:db8:c:1234::1", "2001:db8:c::/48", now)
		mustBlock(t, g, "2001:db8:c:3::1", "2001:db8:c::/48", now)
		// At the next scan the /64 left over merges into the /48.
		wrongCodes(t, g, "198.51.100.2", 1, now)
		wrongCodes(t, g, "198.51.100.3", 1, now)
		if _, ok := g.sources["2001:db8:c:3::/64"]; ok {
			t.Error("the /64 whose attempt was in flight did not merge into its /48's source")
		}
		if s := g.sources["2001:db8:c::/48"]; s == nil || s.fails != enrollFailLimit+2 {
			t.Errorf("the /48's source after the second merge: %+v, want %d wrong codes", s, enrollFailLimit+2)
		}
	})
	t.Run("not merged", func(t *testing.T) {
		g := newEnrollGuard()
		g.max = 4
		wrongCodes(t, g, "192.0.2.1", enrollFailLimit, guardT0)
		wrongCodes(t, g, "192.0.2.2", enrollFailLimit, guardT0)
		wrongCodes(t, g, "2001:db8:d:1::1", enrollFailLimit, guardT0)
		wrongCodes(t, g, "2001:db8:e:1::1", enrollFailLimit, guardT0)
		now := guardT0.Add(time.Minute)
		// Four networks, each refused: nothing to merge or forget.
		mustTake(t, g, "198.51.100.1", untrackedKey, now)
		mustBlock(t, g, "::ffff:192.0.2.1", "192.0.2.1", now)
		mustBlock(t, g, "2001:db8:d:1::2", "2001:db8:d:1::/64", now)
		if len(g.sources) != 4 {
			t.Errorf("%d sources tracked, want the 4 refused ones", len(g.sources))
		}
	})
	t.Run("scan again when a /64 is refused", func(t *testing.T) {
		g := newEnrollGuard()
		g.max = 4
		wrongCodes(t, g, "192.0.2.1", enrollFailLimit, guardT0)
		wrongCodes(t, g, "192.0.2.2", enrollFailLimit, guardT0)
		wrongCodes(t, g, "2001:db8:f:1::1", enrollFailLimit, guardT0)
		wrongCodes(t, g, "2001:db8:f:2::1", enrollFailLimit-1, guardT0)
		lastTurn, err := g.begin(t.Context(), "2001:db8:f:2::1", fixedNow(guardT0))
		if err != nil {
			t.Fatal(err)
		}
		now := guardT0.Add(time.Minute)
		mustTake(t, g, "198.51.100.1", untrackedKey, now) // :2 is in flight: nothing to merge
		lastTurn.end(true, now)                           // :2 is refused, and may merge
		mustTake(t, g, "198.51.100.2", "198.51.100.2", now)
		mustBlock(t, g, "2001:db8:f:3::1", "2001:db8:f::/48", now)
	})
}

// sendWrongCodesAtOnce has g begin n attempts at once, the i-th from
// addr(i), each holding its turn a moment (its code being checked) and
// ending as a wrong code, and returns how many were checked and how many
// were refused (enrollBlockedError).
func sendWrongCodesAtOnce(t *testing.T, g *enrollGuard, n int, addr func(i int) string) (checked, denied int) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		start = make(chan struct{})
	)
	for i := range n {
		wg.Go(func() {
			<-start
			a, err := g.begin(t.Context(), addr(i), fixedNow(guardT0))
			var blocked *enrollBlockedError
			switch {
			case errors.As(err, &blocked):
				mu.Lock()
				denied++
				mu.Unlock()
				return
			case err != nil:
				t.Errorf("attempt %d: %v", i, err)
				return
			}
			time.Sleep(time.Millisecond) // the code is being checked
			mu.Lock()
			checked++
			mu.Unlock()
			a.end(true, guardT0)
		})
	}
	close(start)
	wg.Wait()
	return checked, denied
}
