package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// runLogins: Concurrency kiosks tap in closed loops for Duration per round.
// Each iteration takes the challenge the hub sent with its last answer (or
// fetches one), taps (badge signs, login sent), and on the grant signs
// out. The latency is tap → session.grant.
func (s *Sim) runLogins(ctx context.Context) (*Result, error) {
	c := s.cfg.Concurrency
	if err := s.prepare(ctx, s.cfg.Kiosks, c); err != nil {
		return nil, err
	}
	res := &Result{Scenario: ScenarioLogins, Hub: s.cfg.HubURL, Kiosks: s.cfg.Kiosks, Rounds: s.cfg.Rounds,
		Concurrency: c, Duration: s.cfg.Duration.String()}
	var (
		errs                    errorLog
		rates, p50s, p99s, maxs []float64
		cpus, simCPUs           []float64
		totalLogins             int
	)
	// The hub defers work past a login storm (its deferred indexes wait
	// while the writer is busy, the checkpoint follows the log): the CPU
	// it spends until it is back at its idle rate counts too, in the
	// all-in figure.
	idle := s.hubIdleRate(ctx)
	cpuStart, haveStart := s.hubCPU()
	for r := range s.cfg.Rounds {
		fmt.Fprintf(s.cfg.Progress, "logins round %d/%d: %d kiosks tapping for %s…\n", r+1, s.cfg.Rounds, c, s.cfg.Duration)
		rctx, cancel := context.WithTimeout(ctx, s.cfg.Duration+s.cfg.RoundTimeout)
		cpu0, haveCPU := s.hubCPU()
		sim0 := selfCPU()
		start := time.Now()
		end := start.Add(s.cfg.Duration)
		lats := make([][]time.Duration, c)
		var wg sync.WaitGroup
		for w := range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lats[w] = s.tapLoop(rctx, s.kiosks[w], end, &errs)
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		cpu1, haveCPU1 := s.hubCPU()
		sim1 := selfCPU()
		cancel()
		var all []float64
		for _, l := range lats {
			for _, d := range l {
				all = append(all, ms(d))
			}
		}
		n := len(all)
		totalLogins += n
		rate := float64(n) / elapsed.Seconds()
		rates = append(rates, rate)
		round := map[string]float64{"logins": float64(n), "seconds": elapsed.Seconds(), "logins_per_s": rate}
		if n > 0 {
			p50s = append(p50s, percentile(all, 50))
			p99s = append(p99s, percentile(all, 99))
			maxs = append(maxs, percentile(all, 100))
			round["p50_ms"], round["p99_ms"], round["max_ms"] = p50s[len(p50s)-1], p99s[len(p99s)-1], maxs[len(maxs)-1]
		}
		if haveCPU && haveCPU1 && n > 0 {
			us := float64(cpu1-cpu0) / float64(time.Microsecond) / float64(n)
			cpus = append(cpus, us)
			round["hub_cpu_us_per_login"] = us
		}
		if n > 0 {
			us := float64(sim1-sim0) / float64(time.Microsecond) / float64(n)
			simCPUs = append(simCPUs, us)
			round["sim_cpu_us_per_login"] = us
		}
		res.PerRound = append(res.PerRound, round)
		fmt.Fprintf(s.cfg.Progress, "logins round %d/%d: %d logins, %.0f/s, p99 %.1f ms\n", r+1, s.cfg.Rounds, n, rate, round["p99_ms"])
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	var allIn float64
	if haveStart && totalLogins > 0 {
		fmt.Fprintf(s.cfg.Progress, "logins: waiting for the hub to settle (deferred indexes, checkpoint)…\n")
		if end, ok := s.hubSettledWithin(ctx, idle, settleWindowLogins, settleMaxLogins); ok {
			allIn = float64(end-cpuStart) / float64(time.Microsecond) / float64(totalLogins)
		}
	}
	res.Metrics = []Metric{
		value(MetricLoginRate, "/s", median(rates), fmt.Sprintf("median over rounds (slowest %.0f, fastest %.0f)", percentile(rates, 1), percentile(rates, 100))),
		summary(MetricLoginLatency, "ms", median(p50s), median(p99s), median(maxs), "each: median over rounds of the round's p50/p99/max"),
		value("logins", "", float64(totalLogins), "granted, all rounds"),
	}
	if len(cpus) > 0 {
		res.Metrics = append(res.Metrics, summarize(MetricHubCPUPerLogin, "µs", cpus, "utime+stime / logins, over rounds; includes challenge and sign-out"))
		if allIn > 0 {
			res.Metrics = append(res.Metrics, value(MetricHubCPUPerLoginAllIn, "µs", allIn, "from the first round until the hub is back at its idle rate (its deferred indexes, checkpoint), over all logins"))
		}
	} else {
		res.Metrics = append(res.Metrics, value(MetricHubCPUPerLogin, "µs", math.NaN(), "give --hub-pid"))
	}
	res.Metrics = append(res.Metrics, summarize("simulator CPU per login", "µs", simCPUs, "the kiosks' side, badge signatures included; shares the hub's cores"))
	res.Errors, res.ErrorSample = errs.n, errs.sample
	return res, nil
}

// tapLoop is one kiosk's closed loop until end; it returns the latencies of
// its granted logins.
func (s *Sim) tapLoop(ctx context.Context, k *kiosk, end time.Time, errs *errorLog) []time.Duration {
	var lats []time.Duration
	for time.Now().Before(end) && ctx.Err() == nil {
		ch, err := k.nextChallenge(ctx)
		if err != nil {
			errs.add(err)
			if errors.Is(err, errClosed) {
				return lats
			}
			continue
		}
		t0 := time.Now()
		g, err := k.login(ctx, k.badge, ch)
		lat := time.Since(t0)
		if err != nil {
			errs.add(err)
			if errors.Is(err, errClosed) {
				return lats
			}
			continue
		}
		lats = append(lats, lat)
		if err := k.signout(ctx, g.SessionID); err != nil {
			errs.add(err)
		}
	}
	return lats
}
