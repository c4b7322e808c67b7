package hub

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestEnrollGuardNet48Limit: the /64s of one IPv6 /48 share a limit of
// enrollNet48Limit wrong codes, whatever the table's fill: once they sent
// that many between them in their windows, the /48 is one source, refused
// until the latest of their windows ends, and every address in it counts
// against it. What counts is wrong codes, not refused /64s; windows that
// ended do not count; IPv4 and other /48s are not touched.
func TestEnrollGuardNet48Limit(t *testing.T) {
	const perNet = enrollNet48Limit / enrollFailLimit // refused /64s that fill a /48's limit: 4
	t.Run("refused /64s", func(t *testing.T) {
		g := newEnrollGuard()
		for i := range perNet { // refused, the last 3 minutes in
			wrongCodes(t, g, fmt.Sprintf("2001:db8:a:%x::1", i), enrollFailLimit, guardT0.Add(time.Duration(i)*time.Minute))
		}
		now := guardT0.Add(perNet * time.Minute)
		mustBlock(t, g, fmt.Sprintf("2001:db8:a:%x::1", perNet), "2001:db8:a::/48", now) // the next /64, at once
		mustBlock(t, g, "2001:db8:a:ffff::1", "2001:db8:a::/48", now)
		mustBlock(t, g, "2001:db8:a:0::1", "2001:db8:a::/48", now)
		if wait, _ := g.blocked("2001:db8:a:1234::5", now); wait <= 0 {
			t.Error("a new /64 of the /48 is not refused before its request is read")
		}
		if len(g.sources) != 1 || len(g.nets) != 0 {
			t.Errorf("%d sources and %d /48s of /64s tracked, want the merged /48 alone", len(g.sources), len(g.nets))
		}
		// IPv4 addresses of one /24, and another /48, are their own.
		for i := range perNet + 1 {
			wrongCodes(t, g, fmt.Sprintf("198.51.100.%d", i), enrollFailLimit, now)
		}
		mustTake(t, g, "198.51.100.200", "198.51.100.200", now)
		wrongCodes(t, g, "2001:db8:b:1::1", enrollFailLimit-1, now)
		mustTake(t, g, "2001:db8:b:2::1", "2001:db8:b:2::/64", now)
		// Refused as long as its latest /64's window, a fresh start after.
		last := guardT0.Add((perNet-1)*time.Minute + enrollFailWindow)
		mustBlock(t, g, "2001:db8:a:0::1", "2001:db8:a::/48", last.Add(-time.Nanosecond))
		mustTake(t, g, "2001:db8:a:0::1", "2001:db8:a::/64", last)
		wrongCodes(t, g, fmt.Sprintf("2001:db8:a:%x::1", perNet), enrollFailLimit, last)
	})
	t.Run("wrong codes, not refused /64s", func(t *testing.T) {
		// 19 from each of many /64s refuses none of them: the /48
		// counts them all.
		g := newEnrollGuard()
		const n = enrollNet48Limit / (enrollFailLimit - 1)
		for i := range n {
			wrongCodes(t, g, fmt.Sprintf("2001:db8:c:%x::1", i), enrollFailLimit-1, guardT0)
		}
		rest := enrollNet48Limit - n*(enrollFailLimit-1)
		wrongCodes(t, g, "2001:db8:c:100::1", rest-1, guardT0)
		mustTake(t, g, "2001:db8:c:101::1", "2001:db8:c:101::/64", guardT0) // one turn left, a right code
		wrongCodes(t, g, "2001:db8:c:101::1", 1, guardT0)
		mustBlock(t, g, "2001:db8:c:102::1", "2001:db8:c::/48", guardT0)
		if s := g.sources["2001:db8:c::/48"]; s == nil || s.fails != enrollNet48Limit || !s.since.Equal(guardT0) {
			t.Errorf("the /48's source: %+v, want %d wrong codes since %v", s, enrollNet48Limit, guardT0)
		}
	})
	t.Run("windows that ended", func(t *testing.T) {
		// Wrong codes whose window ended count for nothing, even when
		// nothing looked at their /64s since.
		g := newEnrollGuard()
		for i := range perNet - 1 {
			wrongCodes(t, g, fmt.Sprintf("2001:db8:d:%x::1", i), enrollFailLimit, guardT0)
		}
		later := guardT0.Add(enrollFailWindow)
		wrongCodes(t, g, "2001:db8:d:100::1", enrollFailLimit, later)
		mustTake(t, g, "2001:db8:d:101::1", "2001:db8:d:101::/64", later)
		n := g.nets["2001:db8:d::/48"]
		if n == nil || n.fails != enrollFailLimit || len(n.members) != 1 || len(g.sources) != 1 {
			t.Errorf("the /48 after the old windows ended: %+v, %d sources; want the one refused /64 with its %d wrong codes", n, len(g.sources), enrollFailLimit)
		}
		wrongCodes(t, g, "2001:db8:d:101::1", enrollFailLimit, later)
	})
	t.Run("clock set back", func(t *testing.T) {
		// Windows that start after the hub's clock count for nothing
		// either (enrollSource.expire), nor hold the /48's turns.
		g := newEnrollGuard()
		g.turnWait = 10 * time.Millisecond
		for i := range perNet {
			wrongCodes(t, g, fmt.Sprintf("2001:db8:f:%x::1", i), enrollFailLimit-1, guardT0.Add(5*time.Minute))
		}
		rest := enrollNet48Limit - perNet*(enrollFailLimit-1)
		wrongCodes(t, g, "2001:db8:f:100::1", rest-1, guardT0)
		inFlight, err := g.begin(t.Context(), "2001:db8:f:100::1", fixedNow(guardT0))
		if err != nil {
			t.Fatal(err)
		}
		mustTake(t, g, "2001:db8:f:101::1", "2001:db8:f:101::/64", guardT0)
		inFlight.end(true, guardT0)
		if n := g.nets["2001:db8:f::/48"]; n == nil || n.fails != rest || len(n.members) != 1 {
			t.Errorf("the /48 after the clock was set back: %+v, want its one /64 of now with %d wrong codes", n, rest)
		}
	})
	t.Run("turns of the /48", func(t *testing.T) {
		// Attempts in flight hold the /48's turns too: with its last
		// turn in flight, an attempt from another /64 waits, and is
		// refused with the /48 when that one turns out a wrong code.
		g := newEnrollGuard()
		for i := range perNet - 1 {
			wrongCodes(t, g, fmt.Sprintf("2001:db8:e:%x::1", i), enrollFailLimit, guardT0)
		}
		wrongCodes(t, g, "2001:db8:e:100::1", enrollFailLimit-1, guardT0)
		lastTurn, err := g.begin(t.Context(), "2001:db8:e:100::1", fixedNow(guardT0))
		if err != nil {
			t.Fatal(err)
		}
		waiting := make(chan error, 1)
		go func() {
			a, err := g.begin(t.Context(), "2001:db8:e:200::1", fixedNow(guardT0))
			if err == nil {
				a.end(false, guardT0)
			}
			waiting <- err
		}()
		select {
		case err := <-waiting:
			t.Fatalf("with the /48's last turn in flight, an attempt from another /64 returned at once (%v), want it to wait", err)
		case <-time.After(20 * time.Millisecond):
		}
		lastTurn.end(true, guardT0)
		var blocked *enrollBlockedError
		if err := <-waiting; !errors.As(err, &blocked) || blocked.Source != "2001:db8:e::/48" {
			t.Errorf("the last turn was a wrong code: %v, want the waiting attempt refused as the /48's", err)
		}
	})
}

// TestEnrollGuardNet48Concurrent: wrong codes sent all at once from many
// /64s of one /48 get enrollNet48Limit checked between them, however they
// interleave, and the rest refused. Right codes sent all at once from
// many /64s of one /48 all go through: at most enrollNet48Limit at a time,
// the others wait.
func TestEnrollGuardNet48Concurrent(t *testing.T) {
	g := newEnrollGuard()
	const nets = 50
	checked, denied := sendWrongCodesAtOnce(t, g, nets*enrollFailLimit, func(i int) string { return fmt.Sprintf("2001:db8:a:%x::%x", i%nets, i) })
	if checked != enrollNet48Limit || denied != nets*enrollFailLimit-enrollNet48Limit {
		t.Errorf("%d concurrent wrong codes from %d /64s of one /48: %d checked, %d refused; want %d checked, the rest refused", nets*enrollFailLimit, nets, checked, denied, enrollNet48Limit)
	}

	var (
		wg                  sync.WaitGroup
		mu                  sync.Mutex
		failed              int
		inFlight, inFlightN int
		start               = make(chan struct{})
	)
	for i := range 4 * enrollNet48Limit {
		wg.Go(func() {
			<-start
			a, err := g.begin(t.Context(), fmt.Sprintf("2001:db8:b:%x::1", i), fixedNow(guardT0))
			if err != nil {
				mu.Lock()
				failed++
				mu.Unlock()
				return
			}
			mu.Lock()
			inFlight++
			inFlightN = max(inFlightN, inFlight)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			a.end(false, guardT0)
		})
	}
	close(start)
	wg.Wait()
	if failed != 0 || inFlightN > enrollNet48Limit {
		t.Errorf("%d concurrent right codes from as many /64s of one /48: %d failed, at most %d in flight; want none failed, at most %d in flight", 4*enrollNet48Limit, failed, inFlightN, enrollNet48Limit)
	}
	if len(g.sources) != 1 || len(g.nets) != 0 {
		t.Errorf("%d sources and %d /48s of /64s tracked, want the attacker's /48 alone", len(g.sources), len(g.nets))
	}
}

// TestEnrollGuardNetInvariants: after every step of random sequences of
// attempts (wrong codes, right codes, attempts left in flight), checks
// before reading, a clock that moves on and now and then back, and a
// table small enough to fill, each /48's counts are exactly the sums of
// its /64s', and it lists exactly the /64s of the table in it.
func TestEnrollGuardNetInvariants(t *testing.T) {
	done, cancel := context.WithCancel(t.Context())
	cancel() // begin returns rather than wait
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 1))
		g := newEnrollGuard()
		g.max = []int{3, 6, 12, 1000}[seed%4]
		tick := []int{1, 5, 60}[seed%3]   // seconds: how fast windows end
		begins := []int{40, 65}[seed%5/4] // in 100: how many attempts stay in flight
		addr := func() string {
			if rng.IntN(5) == 0 {
				return fmt.Sprintf("192.0.2.%d", rng.IntN(4))
			}
			return fmt.Sprintf("2001:db8:%x:%x::%x", rng.IntN(2), rng.IntN(16), rng.IntN(3))
		}
		now := guardT0
		var attempts []*enrollAttempt
		for step := range 3000 {
			switch r := rng.IntN(1000); {
			case r < 2:
				now = now.Add(enrollFailWindow)
			case r < 5:
				now = now.Add(-time.Duration(rng.IntN(60)) * time.Second) // the clock set back
			case r < 300:
				now = now.Add(time.Duration(rng.IntN(tick)) * time.Second)
			}
			switch r := rng.IntN(100); {
			case r < begins || len(attempts) == 0:
				a, err := g.begin(done, addr(), fixedNow(now))
				var blocked *enrollBlockedError
				switch {
				case err == nil:
					attempts = append(attempts, a)
				case !errors.As(err, &blocked) && !errors.Is(err, context.Canceled):
					t.Fatalf("seed %d step %d: begin: %v", seed, step, err)
				}
			case r < 95:
				i := rng.IntN(len(attempts))
				attempts[i].end(rng.IntN(4) != 0, now)
				attempts = append(attempts[:i], attempts[i+1:]...)
			default:
				_, _ = g.blocked(addr(), now)
			}
			if err := checkEnrollGuard(g, attempts); err != nil {
				t.Fatalf("seed %d step %d: %v", seed, step, err)
			}
		}
	}
}

// checkEnrollGuard returns what is inconsistent in g, with attempts the
// attempts in flight.
func checkEnrollGuard(g *enrollGuard, attempts []*enrollAttempt) error {
	if len(g.sources) > g.max {
		return fmt.Errorf("%d sources tracked, more than %d", len(g.sources), g.max)
	}
	for key, s := range g.sources {
		switch {
		case s.key != key:
			return fmt.Errorf("source %q under key %q", s.key, key)
		case s.idle():
			return fmt.Errorf("source %q idle in the table", key)
		case s.net48 == "" && s.net != nil:
			return fmt.Errorf("source %q outside any /48 has a net", key)
		case s.net48 != "" && (s.net == nil || g.nets[s.net48] != s.net):
			return fmt.Errorf("/64 %q is not in its /48 %q", key, s.net48)
		}
		if s.net != nil {
			if _, ok := s.net.members[s]; !ok {
				return fmt.Errorf("/64 %q is not a member of its /48 %q", key, s.net48)
			}
		}
	}
	for key, n := range g.nets {
		var fails, inflight int
		for s := range n.members {
			if g.sources[s.key] != s || s.net != n || s.net48 != key {
				return fmt.Errorf("/48 %q lists %q (net48 %q), which is not its /64 in the table", key, s.key, s.net48)
			}
			if s.fails > 0 && (s.since.Before(n.first) || s.since.After(n.last)) {
				return fmt.Errorf("/48 %q: its /64 %q's window started at %v, outside its bounds [%v, %v]", key, s.key, s.since, n.first, n.last)
			}
			fails += s.fails
			inflight += s.inflight
		}
		switch {
		case n.key != key:
			return fmt.Errorf("/48 %q under key %q", n.key, key)
		case len(n.members) == 0:
			return fmt.Errorf("/48 %q has no /64 in the table", key)
		case n.fails != fails || n.inflight != inflight:
			return fmt.Errorf("/48 %q counts %d wrong codes and %d in flight; its /64s %d and %d", key, n.fails, n.inflight, fails, inflight)
		case fails+inflight > enrollNet48Limit:
			return fmt.Errorf("/48 %q: %d wrong codes and %d in flight, more than %d", key, fails, inflight, enrollNet48Limit)
		}
	}
	inflight := map[*enrollSource]int{}
	for _, a := range attempts {
		inflight[a.src]++
		if g.sources[a.src.key] != a.src && a.src != g.untracked {
			return fmt.Errorf("source %q has an attempt in flight and left the table", a.src.key)
		}
	}
	for s, n := range inflight {
		if s.inflight != n {
			return fmt.Errorf("source %q counts %d attempts in flight, has %d", s.key, s.inflight, n)
		}
	}
	for _, s := range g.sources {
		if s.inflight != inflight[s] {
			return fmt.Errorf("source %q counts %d attempts in flight, has %d", s.key, s.inflight, inflight[s])
		}
	}
	return nil
}
