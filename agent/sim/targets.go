package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
)

// The names of the metrics the targets read. The scenarios report them
// under these names; a renamed metric shows as missing in the verdicts,
// never as a target held.
const (
	MetricLoginRate      = "logins per second"
	MetricLoginLatency   = "login latency tap→grant"
	MetricHubCPUPerLogin = "hub CPU per login"
	MetricLeaverLastAck  = "leaver: PATCH → last ack"
	MetricMassRevokeP99  = "mass revoke: per-kiosk ack p99"
	MetricFloorP99       = "floor: per-kiosk ack p99"

	// Figures the verdicts give beside the ones they are taken on: the
	// hub's CPU per login from the first round until it is idle again
	// (the index passes it defers past a login storm, which no round's
	// figure holds, included), and the rounds' request to last ack.
	MetricHubCPUPerLoginAllIn = "hub CPU per login, all in"
	MetricMassRevokeLastAck   = "mass revoke: DELETE → last ack"
	MetricFloorLastAck        = "floor: round start → last ack"

	// roundLastAck is the per-round figure of the revoking scenarios
	// (and the floor): request to the last ack, in ms.
	roundLastAck = "last_ack_ms"
)

// Target is one figure the project holds itself to on its reference
// machine (two cores, the simulator on the same cores as the hub): a
// metric of one scenario's result, one of its fields, compared with a
// limit.
type Target struct {
	Name     string  // what it says, e.g. "hub CPU per login"
	Scenario string  // the result it is read from
	Metric   string  // the metric's name ("" for the hub's peak RSS)
	Field    string  // "value", "p50", "p99" or "max"
	Cmp      string  // how the figure must compare with Limit: "<", "≤" or "≥"
	Limit    float64 // in Unit
	Unit     string
	Figure   string // which figure of the metric it is, for the table
	Kiosks   int    // the kiosks connected the target is for (0: any)
	// Concurrency is the kiosks tapping at once the target is for (0: any).
	Concurrency int
	// Round, when set, is the per-round figure the target's figure is
	// taken over: the verdict then says how many rounds missed the
	// limit, and how many of those a stall of the machine put over it.
	Round string
}

// holds reports whether x meets t.
func (t Target) holds(x float64) bool {
	switch t.Cmp {
	case "<":
		return x < t.Limit
	case "≤":
		return x <= t.Limit
	case "≥":
		return x >= t.Limit
	}
	return false
}

// targets are the benchmark targets of issue 3, as `make bench-sim` checks
// them. A figure over rounds is the median over the rounds (the metric's
// p50 field), as the issue asks for medians of repeated rounds.
var targets = []Target{
	{Name: "logins per second", Scenario: ScenarioLogins, Metric: MetricLoginRate, Field: "value", Cmp: "≥", Limit: 3000, Unit: "/s", Figure: "median over rounds", Concurrency: 64},
	{Name: "login p99, tap to grant", Scenario: ScenarioLogins, Metric: MetricLoginLatency, Field: "p99", Cmp: "<", Limit: 25, Unit: "ms", Figure: "median of the rounds' p99", Concurrency: 64},
	{Name: "hub CPU per login", Scenario: ScenarioLogins, Metric: MetricHubCPUPerLogin, Field: "p50", Cmp: "≤", Limit: 250, Unit: "µs", Figure: "median over rounds, sign-out included", Concurrency: 64},
	{Name: "one leaver among 10,000, p99", Scenario: ScenarioLeaver, Metric: MetricLeaverLastAck, Field: "p99", Cmp: "<", Limit: 10, Unit: "ms", Figure: "PATCH to last ack, p99 over rounds", Kiosks: 10000, Round: roundLastAck},
	{Name: "mass revoke of 10,000, p99", Scenario: ScenarioMassRevoke, Metric: MetricMassRevokeP99, Field: "p50", Cmp: "<", Limit: 200, Unit: "ms", Figure: "median of the rounds' per-kiosk ack p99", Kiosks: 10000},
	{Name: "hub RSS, 10,000 connected", Scenario: ScenarioMassRevoke, Field: "peak RSS", Cmp: "<", Limit: 1024, Unit: "MiB", Figure: "VmHWM", Kiosks: 10000},
}

// Verdict is a target checked against results.
type Verdict struct {
	Target
	Measured float64 // NaN when the results lack it
	Holds    bool
	Note     string // what else the reader needs: the floor of the same run, errors
}

// Check checks every target against results (one per scenario; a later
// result of a scenario replaces an earlier one). A scenario that reported
// errors, lost channels or unexpected messages holds none of its targets:
// the targets are for runs without them.
func Check(results []*Result) []Verdict {
	by := map[string]*Result{}
	for _, r := range results {
		if r != nil {
			by[r.Scenario] = r
		}
	}
	var out []Verdict
	for _, t := range targets {
		v := Verdict{Target: t, Measured: math.NaN()}
		r := by[t.Scenario]
		switch {
		case r == nil:
			v.Note = "no " + t.Scenario + " result"
		case t.Metric == "":
			if r.HubMemory != nil {
				v.Measured = r.HubMemory.PeakRSSMiB
			} else {
				v.Note = "no hub RSS: run with --hub-pid"
			}
		default:
			v.Measured = field(r, t.Metric, t.Field)
			if math.IsNaN(v.Measured) {
				v.Note = fmt.Sprintf("no %q %s in the %s result", t.Metric, t.Field, t.Scenario)
			}
		}
		if !math.IsNaN(v.Measured) {
			v.Holds = t.holds(v.Measured)
			// Each count on its own: summed, counts of a file edited or
			// damaged could cancel out or wrap around to none.
			if r.Errors != 0 || r.Lost != 0 || r.Stray != 0 {
				v.Holds = false
				v.Note = fmt.Sprintf("%d errors, %d lost channels, %d unexpected messages", r.Errors, r.Lost, r.Stray)
			} else if r.Kiosks < t.Kiosks {
				v.Holds = false
				v.Note = fmt.Sprintf("run with %d kiosks; the target is for %d", r.Kiosks, t.Kiosks)
			} else if t.Concurrency > 0 && r.Concurrency != t.Concurrency {
				v.Holds = false
				v.Note = fmt.Sprintf("run with %d kiosks tapping at once; the target is for %d", r.Concurrency, t.Concurrency)
			}
		}
		if t.Round != "" && r != nil && v.Note == "" {
			v.Note = roundsOver(t, r)
		}
		if t.Metric == MetricHubCPUPerLogin && v.Note == "" {
			if all := field(r, MetricHubCPUPerLoginAllIn, "value"); !math.IsNaN(all) {
				v.Note = fmt.Sprintf("all in %.0f µs (the work deferred past the rounds included)", all)
			}
		}
		if t.Metric == MetricMassRevokeP99 && v.Note == "" {
			v.Note = massRevokeNote(r, by[ScenarioFloor], v.Measured)
		}
		out = append(out, v)
	}
	return out
}

// massRevokeNote puts the mass revoke's figure (measured, the rounds'
// per-kiosk ack p99) beside the floor of the same run, and says when the
// last kiosk acked: the p99 stops the clock at the 9,900th ack of 10,000,
// and a tail of a few slow kiosks shows only in the last ack. Each figure
// is the median over rounds; floor may be nil.
func massRevokeNote(r, floor *Result, measured float64) string {
	var parts []string
	if floor != nil {
		if f := field(floor, MetricFloorP99, "p50"); !math.IsNaN(f) && f > 0 {
			parts = append(parts, fmt.Sprintf("floor of this run %.0f ms (×%.2f)", f, measured/f))
		}
	}
	if last := field(r, MetricMassRevokeLastAck, "p50"); !math.IsNaN(last) {
		s := fmt.Sprintf("DELETE to last ack %.0f ms", last)
		if floor != nil {
			if f := field(floor, MetricFloorLastAck, "p50"); !math.IsNaN(f) {
				s += fmt.Sprintf(" (the floor's %.0f ms)", f)
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// roundsOver says how many of r's rounds missed t's limit, and how many
// of those would have met it without the stall of the machine in them
// (see stallProbe); "" if none missed.
func roundsOver(t Target, r *Result) string {
	over, stalled := 0, 0
	for _, round := range r.PerRound {
		x, ok := round[t.Round]
		if !ok || t.holds(x) {
			continue
		}
		over++
		if s := round[roundStallKey]; s > 0 && t.holds(x-s) {
			stalled++
		}
	}
	if over == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d rounds over the limit, %d of them within it but for a stall of the machine", over, len(r.PerRound), stalled)
}

// field is one field of the named metric of r, NaN if r lacks it.
func field(r *Result, metric, f string) float64 {
	for _, m := range r.Metrics {
		if m.Name != metric {
			continue
		}
		var p *float64
		switch f {
		case "value":
			p = m.Value
		case "p50":
			p = m.P50
		case "p99":
			p = m.P99
		case "max":
			p = m.Max
		}
		if p != nil {
			return *p
		}
	}
	return math.NaN()
}

// WriteVerdicts prints the verdicts as a table, with a last line that
// counts the targets held.
func WriteVerdicts(w io.Writer, vs []Verdict) error {
	var b strings.Builder
	fmt.Fprintln(&b, "shiftgate-sim targets: issue 3's figures for a 2-core machine shared with the simulator")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tlimit\tmeasured\tholds\tfigure")
	held := 0
	for _, v := range vs {
		verdict := "no"
		if v.Holds {
			verdict, held = "yes", held+1
		}
		measured := "-"
		if !math.IsNaN(v.Measured) {
			measured = num(&v.Measured) + " " + v.Unit
		}
		note := v.Figure
		if v.Note != "" {
			note += "; " + v.Note
		}
		fmt.Fprintf(tw, "%s\t%s %s %s\t%s\t%s\t%s\n", v.Name, v.Cmp, num(&v.Limit), v.Unit, measured, verdict, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "%d of %d targets hold\n", held, len(vs))
	_, err := io.WriteString(w, b.String())
	return err
}

// maxResultBytes bounds a result file: a result is a few kilobytes, its
// per-round figures included.
const maxResultBytes = 16 << 20

// ReadResultFile reads a result written by shiftgate-sim --json-out.
func ReadResultFile(name string) (*Result, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxResultBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxResultBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a shiftgate-sim result", name, maxResultBytes>>20)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: not a shiftgate-sim result (write one with --json-out): %w", name, err)
	}
	if r.Scenario == "" {
		return nil, fmt.Errorf("%s: no scenario: not a shiftgate-sim result (write one with --json-out)", name)
	}
	// No run counts below zero: a file that does was edited or damaged,
	// and its verdicts would be of figures nobody measured.
	for _, c := range []struct {
		what string
		n    int64
	}{
		{"kiosks", int64(r.Kiosks)}, {"rounds", int64(r.Rounds)}, {"concurrency", int64(r.Concurrency)},
		{"sessions", int64(r.Sessions)}, {"errors", r.Errors}, {"unexpected messages", r.Stray}, {"lost channels", r.Lost},
	} {
		if c.n < 0 {
			return nil, fmt.Errorf("%s: negative %s (%d): not a shiftgate-sim result (write one with --json-out)", name, c.what, c.n)
		}
	}
	return &r, nil
}
