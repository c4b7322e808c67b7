package sim

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/shiftgate/shiftgate/agent/authenticator"
)

// revocation is what one revoking request produced.
type revocation struct {
	want     int
	start    time.Time       // just before the request
	acks     []time.Duration // request sent → each ack written, sorted
	answered time.Duration   // request sent → HTTP answer
	// CPU time from just before the request: this process's to the last
	// ack (or the timeout), the hub's (when its PID is known) to the last
	// ack or, settled, until it is idle again (see hubSettled).
	hubCPU, simCPU time.Duration
	haveHubCPU     bool
}

// revoke installs a tracker on ks, runs send, and waits until every kiosk
// of ks has acked its session's revocation or the round timeout passes.
// Timings start just before send. With settle, the hub's CPU is read once
// it is idle again (hubSettled); without, at the last ack.
func (s *Sim) revoke(ctx context.Context, ks []*kiosk, send func(context.Context) error, settle bool) (rv revocation, err error) {
	t := newTracker(len(ks))
	for _, k := range ks {
		k.watch.Store(t)
	}
	defer func() {
		for _, k := range ks {
			k.watch.Store(nil)
		}
	}()
	rv = revocation{want: len(ks)}
	// The simulator stands in for thousands of kiosks, each with a CPU of
	// its own: its own garbage collector must not run during the round
	// and be counted against the hub. It did: with 10,000 kiosks in this
	// process, collections forced the kiosks' read loops to help mark
	// (GC assists were a quarter of the simulator's samples in a round,
	// by perf). A collection now leaves the whole of the heap's growth
	// allowance to the round.
	runtime.GC()
	var idle time.Duration // the hub's CPU per second with nothing to do
	if settle {
		s.hubQuiet(ctx) // the re-logins' deferred work: not this round's
		idle = s.hubIdleRate(ctx)
	}
	hub0, haveHub := s.hubCPU()
	sim0 := selfCPU()
	t0 := time.Now()
	rv.start = t0
	err = send(ctx)
	rv.answered = time.Since(t0)
	if err != nil {
		return rv, err
	}
	defer func() {
		rv.simCPU = selfCPU() - sim0
		read := s.hubCPU
		if settle {
			read = func() (time.Duration, bool) { return s.hubSettled(ctx, idle) }
		}
		if hub1, ok := read(); ok && haveHub {
			rv.hubCPU, rv.haveHubCPU = hub1-hub0, true
		}
	}()
	timer := time.NewTimer(s.cfg.RoundTimeout)
	defer timer.Stop()
	select {
	case <-t.done:
	case <-timer.C:
		err = fmt.Errorf("only %d of %d acks within %s", t.count.Load(), len(ks), s.cfg.RoundTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	for _, at := range t.times() {
		rv.acks = append(rv.acks, at.Sub(t0))
	}
	slices.Sort(rv.acks)
	return rv, err
}

// Settling. The last ack the kiosks send is not the end of the hub's
// work on a round: it reads acks still queued in its sockets, records
// them in a batch written when they pause (and after the revocation's
// own transaction), 65-98 ms of CPU for 10,000, and its checkpoint, every
// 500 ms, copies what the round wrote. A connected hub is never quite
// idle either: with 10,000 kiosks its timers and pings cost about a tenth
// of a core. So the round's CPU runs from the request until the hub is
// back at its idle rate (hubIdleRate, measured before the round), less
// that idle rate over the wait after the last ack.
const (
	settleWindow = 200 * time.Millisecond
	settleMax    = 5 * time.Second
	// After a logins run, the hub's deferred indexes start on its next
	// index tick (every 250 ms), and the checkpoint runs every 500 ms: a
	// quiet window must be longer than both. The passes take a few
	// seconds for some 300,000 rows after three rounds.
	settleWindowLogins = 600 * time.Millisecond
	settleMaxLogins    = 30 * time.Second
	idleSample         = 500 * time.Millisecond
)

// hubIdleRate measures the hub's CPU per second before a round: the
// lower of two idleSample windows, so that the checkpoint of the logins
// that opened the round's sessions does not count as idle.
func (s *Sim) hubIdleRate(ctx context.Context) time.Duration {
	rate := time.Duration(-1)
	for range 2 {
		a, ok := s.hubCPU()
		if !ok {
			return 0
		}
		t := time.Now()
		select {
		case <-time.After(idleSample):
		case <-ctx.Done():
			return 0
		}
		b, ok := s.hubCPU()
		if !ok {
			return 0
		}
		if r := time.Duration(float64(b-a) / time.Since(t).Seconds()); rate < 0 || r < rate {
			rate = r
		}
	}
	return rate
}

// hubQuiet waits, quietMax at most, until the hub spends no more than a
// quarter of a core over a settleWindowLogins: the work it deferred while
// a scenario's setup kept it busy (its index passes wait for a busy
// writer) is done, and what is measured next is the hub at rest. With
// 10,000 kiosks connected its timers and pings cost about a tenth of a
// core.
func (s *Sim) hubQuiet(ctx context.Context) {
	const share, quietMax = 0.25, 30 * time.Second
	prev, ok := s.hubCPU()
	if !ok {
		return
	}
	for deadline := time.Now().Add(quietMax); time.Now().Before(deadline) && ctx.Err() == nil; {
		t := time.Now()
		time.Sleep(settleWindowLogins)
		cur, ok := s.hubCPU()
		if !ok || float64(cur-prev) <= share*float64(time.Since(t)) {
			return
		}
		prev = cur
	}
}

// hubSettled waits, from the last ack, until a settleWindow adds no more
// than the idle rate allows (and one clock tick), or settleMax passes,
// and returns the hub's CPU time then less the idle rate over the wait.
func (s *Sim) hubSettled(ctx context.Context, idle time.Duration) (time.Duration, bool) {
	return s.hubSettledWithin(ctx, idle, settleWindow, settleMax)
}

// hubSettledWithin is hubSettled with a quiet window of window, waiting at
// most max.
func (s *Sim) hubSettledWithin(ctx context.Context, idle, window, max time.Duration) (time.Duration, bool) {
	start := time.Now()
	prev, ok := s.hubCPU()
	if !ok {
		return 0, false
	}
	allow := time.Duration(float64(idle)*window.Seconds()) + time.Second/userHZ
	for time.Since(start) < max && ctx.Err() == nil {
		time.Sleep(window)
		cur, ok := s.hubCPU()
		if !ok {
			break
		}
		if cur-prev <= allow {
			prev = cur
			break
		}
		prev = cur
	}
	waited := time.Duration(float64(idle) * time.Since(start).Seconds())
	return prev - waited, true
}

// runLeaver: each round a fresh user holds sessions on Sessions kiosks
// among Kiosks connected ones; the round measures SCIM PATCH active=false
// → the last of those kiosks has acked its session.revoke.
func (s *Sim) runLeaver(ctx context.Context) (*Result, error) {
	n, rounds, per := s.cfg.Kiosks, s.cfg.Rounds, s.cfg.Sessions
	if err := s.prepare(ctx, n, 0); err != nil {
		return nil, err
	}
	leavers, err := s.prepareLeavers(ctx, rounds)
	if err != nil {
		return nil, err
	}
	s.hubQuiet(ctx) // the everyday case: a hub at rest, not catching up on the setup
	res := &Result{Scenario: ScenarioLeaver, Hub: s.cfg.HubURL, Kiosks: n, Rounds: rounds, Sessions: per}
	probe := startStallProbe()
	defer probe.Stop()
	var (
		errs        errorLog
		last, first []float64
		http        []float64
		acked       int
	)
	for r, lv := range leavers {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RoundTimeout*2)
		ks := make([]*kiosk, per)
		for j := range per {
			ks[j] = s.kiosks[(r*per+j)%n]
		}
		err := s.openSessions(rctx, ks, lv.badge)
		var rv revocation
		if err == nil {
			rv, err = s.revoke(rctx, ks, func(ctx context.Context) error { return s.api.deactivateUser(ctx, lv.id) }, false)
		}
		cancel()
		if err != nil {
			errs.add(fmt.Errorf("round %d: %w", r+1, err))
		}
		acked += len(rv.acks)
		round := map[string]float64{"acks": float64(len(rv.acks)), "want": float64(per), "http_ms": ms(rv.answered)}
		if len(rv.acks) > 0 {
			round["first_ack_ms"], round[roundLastAck] = ms(rv.acks[0]), ms(rv.acks[len(rv.acks)-1])
			round[roundStallKey] = ms(probe.longest(rv.start, rv.start.Add(rv.acks[len(rv.acks)-1])))
			if len(rv.acks) == per {
				last = append(last, round[roundLastAck])
				first = append(first, round["first_ack_ms"])
				http = append(http, round["http_ms"])
			}
		}
		res.PerRound = append(res.PerRound, round)
		fmt.Fprintf(s.cfg.Progress, "leaver round %d/%d: %d/%d acks, last %.2f ms\n", r+1, rounds, len(rv.acks), per, round[roundLastAck])
		if ctx.Err() != nil {
			break
		}
	}
	res.Metrics = []Metric{
		summarize(MetricLeaverLastAck, "ms", last, "over rounds with every ack"),
		summarize("leaver: PATCH → first ack", "ms", first, ""),
		summarize("leaver: PATCH → HTTP answer", "ms", http, ""),
		value("acks", "", float64(acked), fmt.Sprintf("of %d expected", rounds*per)),
		stallMetric(res.PerRound),
	}
	res.Errors, res.ErrorSample = errs.n, errs.sample
	return res, ctx.Err()
}

type leaver struct {
	name, id string
	badge    *authenticator.Soft
}

// prepareLeavers creates this run's leavers (fresh users: a leaver stays
// gone), gives them a role and registers their badges.
func (s *Sim) prepareLeavers(ctx context.Context, rounds int) ([]leaver, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SetupTimeout)
	defer cancel()
	run := time.Now().UTC().Format("20060102t150405")
	ls := make([]leaver, rounds)
	var mu sync.Mutex
	todo := make([]int, rounds)
	for i := range todo {
		todo[i] = i
		ls[i].name = fmt.Sprintf("%s-%s-lv%s-%03d", s.st.Prefix, s.st.Site, run, i+1)
	}
	err := s.phase(ctx, "creating leavers", todo, s.cfg.Workers, func(ctx context.Context, i int) error {
		id, err := s.api.createUser(ctx, ls[i].name, s.cfg.Site)
		mu.Lock()
		ls[i].id = id
		mu.Unlock()
		return err
	})
	if err != nil {
		return nil, err
	}
	ids := make([]string, rounds)
	for i := range ls {
		ids[i] = ls[i].id
	}
	if _, err := s.api.createGroup(ctx, "SimLeaver-"+s.st.Prefix+"-"+run, ids); err != nil {
		return nil, fmt.Errorf("leavers' role group: %w", err)
	}
	// One registration per kiosk at a time: leaver i registers at kiosk
	// i mod n, and workers take kiosks, not leavers.
	n := len(s.kiosks)
	byKiosk := make([]int, 0, min(n, rounds))
	for k := range min(n, rounds) {
		byKiosk = append(byKiosk, k)
	}
	err = s.phase(ctx, "registering leaver badges", byKiosk, s.cfg.Workers, func(ctx context.Context, k int) error {
		for i := k; i < rounds; i += n {
			b, err := s.register(ctx, s.kiosks[k], ls[i].name)
			if err != nil {
				return err
			}
			ls[i].badge = b
		}
		return nil
	})
	return ls, err
}

// openSessions logs badge in at each kiosk of ks in turn (one badge is
// never used twice at once) and tells each kiosk its session.
func (s *Sim) openSessions(ctx context.Context, ks []*kiosk, badge authenticator.Authenticator) error {
	for _, k := range ks {
		ch, err := k.nextChallenge(ctx)
		if err != nil {
			return err
		}
		g, err := k.login(ctx, badge, ch)
		if err != nil {
			return err
		}
		k.expect(g.SessionID)
	}
	return nil
}

// runMassRevoke: every kiosk holds a session of its own user, all users
// hold the shift role; deleting the role's group revokes all sessions at
// once. Between rounds the group is created again and every kiosk logs in
// again, which is measured as login throughput too.
func (s *Sim) runMassRevoke(ctx context.Context) (*Result, error) {
	n, rounds := s.cfg.Kiosks, s.cfg.Rounds
	if err := s.prepare(ctx, n, n); err != nil {
		return nil, err
	}
	res := &Result{Scenario: ScenarioMassRevoke, Hub: s.cfg.HubURL, Kiosks: n, Rounds: rounds, Concurrency: s.cfg.Concurrency}
	var (
		errs                        errorLog
		last, first, http, p50, p99 []float64
		rates                       []float64
		acked                       []float64
		hubCPU, simCPU              []float64
	)
	groupID := s.st.ShiftGroup
	for r := range rounds {
		rctx, cancel := context.WithTimeout(ctx, s.cfg.RoundTimeout*3)
		round := map[string]float64{}
		err := func() error {
			if groupID == "" {
				id, err := s.createShiftGroup(rctx, n)
				if err != nil {
					return fmt.Errorf("re-create role group: %w", err)
				}
				groupID = id
			}
			fmt.Fprintf(s.cfg.Progress, "mass-revoke round %d/%d: %d kiosks logging in…\n", r+1, rounds, n)
			start := time.Now()
			ok, err := s.loginAll(rctx, n, &errs)
			el := time.Since(start)
			round["logins"], round["login_seconds"], round["logins_per_s"] = float64(len(ok)), el.Seconds(), float64(len(ok))/el.Seconds()
			rates = append(rates, round["logins_per_s"])
			if err != nil {
				return err
			}
			fmt.Fprintf(s.cfg.Progress, "mass-revoke round %d/%d: %d sessions (%.0f logins/s); deleting the role group…\n", r+1, rounds, len(ok), round["logins_per_s"])
			rv, err := s.revoke(rctx, ok, func(ctx context.Context) error { return s.api.deleteGroup(ctx, groupID) }, true)
			groupID = ""
			round["acks"], round["want"], round["http_ms"] = float64(len(rv.acks)), float64(n), ms(rv.answered)
			acked = append(acked, float64(len(rv.acks)))
			if len(rv.acks) > 0 {
				all := make([]float64, len(rv.acks))
				for i, d := range rv.acks {
					all[i] = ms(d)
				}
				round["first_ack_ms"], round[roundLastAck] = all[0], all[len(all)-1]
				round["p50_ack_ms"], round["p99_ack_ms"] = percentile(all, 50), percentile(all, 99)
				if len(rv.acks) == n {
					first, last = append(first, all[0]), append(last, all[len(all)-1])
					p50, p99 = append(p50, round["p50_ack_ms"]), append(p99, round["p99_ack_ms"])
					http = append(http, round["http_ms"])
					round["sim_cpu_ms"] = ms(rv.simCPU)
					simCPU = append(simCPU, round["sim_cpu_ms"])
					if rv.haveHubCPU {
						round["hub_cpu_ms"] = ms(rv.hubCPU)
						hubCPU = append(hubCPU, round["hub_cpu_ms"])
					}
				}
			}
			fmt.Fprintf(s.cfg.Progress, "mass-revoke round %d/%d: %d/%d acks, last %.1f ms\n", r+1, rounds, len(rv.acks), n, round[roundLastAck])
			return err
		}()
		cancel()
		res.PerRound = append(res.PerRound, round)
		if err != nil {
			errs.add(fmt.Errorf("round %d: %w", r+1, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	// Leave the role in place for the next run.
	if groupID == "" && ctx.Err() == nil {
		gctx, cancel := context.WithTimeout(ctx, s.cfg.RoundTimeout)
		id, err := s.createShiftGroup(gctx, n)
		cancel()
		if err != nil {
			errs.add(fmt.Errorf("re-create role group: %w", err))
		} else {
			s.st.ShiftGroup = id
			if err := s.st.save(s.cfg.StateDir); err != nil {
				errs.add(err)
			}
		}
	}
	res.Metrics = []Metric{
		summarize(MetricMassRevokeLastAck, "ms", last, "over rounds with all acks"),
		summarize("mass revoke: DELETE → first ack", "ms", first, ""),
		summarize("mass revoke: per-kiosk ack p50", "ms", p50, "each round's median ack, over rounds"),
		summarize(MetricMassRevokeP99, "ms", p99, "each round's p99 ack, over rounds"),
		summarize("mass revoke: DELETE → HTTP answer", "ms", http, ""),
		summarize("acks per round", "", acked, fmt.Sprintf("must be %d", n)),
		summarize("hub CPU, DELETE → round done", "ms", hubCPU, "utime+stime in 10 ms ticks until the hub is back at its idle rate (acks recorded, checkpoint), less that rate after the last ack; needs --hub-pid"),
		summarize("simulator CPU, DELETE → last ack", "ms", simCPU, "the kiosks' side: read, decode, ack"),
		value("re-login throughput", "/s", median(rates), fmt.Sprintf("median over rounds, %d kiosks, %d at once", n, s.cfg.Concurrency)),
	}
	res.Errors, res.ErrorSample = errs.n, errs.sample
	return res, ctx.Err()
}

// loginAll logs every kiosk of [0,n) in with its own badge, Concurrency at
// a time, and returns the kiosks that hold a session.
func (s *Sim) loginAll(ctx context.Context, n int, errs *errorLog) ([]*kiosk, error) {
	var (
		mu sync.Mutex
		ok = make([]*kiosk, 0, n)
		wg sync.WaitGroup
	)
	next := make(chan *kiosk)
	for range min(s.cfg.Concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				if err := s.openSessions(ctx, []*kiosk{k}, k.badge); err != nil {
					errs.add(err)
					continue
				}
				mu.Lock()
				ok = append(ok, k)
				mu.Unlock()
			}
		}()
	}
feed:
	for _, k := range s.kiosks[:n] {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return ok, err
	}
	if len(ok) < n {
		return ok, fmt.Errorf("%d of %d kiosks could not log in", n-len(ok), n)
	}
	return ok, nil
}
