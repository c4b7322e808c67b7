package sim

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// results are the figures of one bench-sim run: logins, leaver, mass
// revoke and the floor, in the shape the scenarios report them.
func results() []*Result {
	return []*Result{
		{Scenario: ScenarioLogins, Kiosks: 64, Concurrency: 64, Metrics: []Metric{
			value(MetricLoginRate, "/s", 3953.4, ""),
			summary(MetricLoginLatency, "ms", 7.5, 20.2, 30, ""),
			summarize(MetricHubCPUPerLogin, "µs", []float64{313.8, 320, 300}, ""),
		}},
		{Scenario: ScenarioLeaver, Kiosks: 10000, Metrics: []Metric{summarize(MetricLeaverLastAck, "ms", []float64{1.4, 2.5, 1.9}, "")}},
		{Scenario: ScenarioMassRevoke, Kiosks: 10000, Metrics: []Metric{summarize(MetricMassRevokeP99, "ms", []float64{233.3, 240, 228}, "")},
			HubMemory: &HubMemory{PeakRSSMiB: 854.9}},
		{Scenario: ScenarioFloor, Metrics: []Metric{summarize(MetricFloorP99, "ms", []float64{162.4, 170, 150}, "")}},
	}
}

func verdicts(t *testing.T, rs []*Result) map[string]Verdict {
	t.Helper()
	vs := Check(rs)
	if len(vs) != len(targets) {
		t.Fatalf("%d verdicts for %d targets", len(vs), len(targets))
	}
	m := map[string]Verdict{}
	for _, v := range vs {
		m[v.Name] = v
	}
	return m
}

func TestCheckTargets(t *testing.T) {
	vs := verdicts(t, results())
	for _, tc := range []struct {
		name     string
		measured float64
		holds    bool
	}{
		{"logins per second", 3953.4, true},
		{"login p99, tap to grant", 20.2, true},
		{"hub CPU per login", 313.8, false}, // the median of the rounds
		{"one leaver among 10,000, p99", 2.5, true},
		{"mass revoke of 10,000, p99", 233.3, false},
		{"hub RSS, 10,000 connected", 854.9, true},
	} {
		v := vs[tc.name]
		if v.Measured != tc.measured || v.Holds != tc.holds {
			t.Errorf("%s: measured %v, holds %v; want %v, %v (%s)", tc.name, v.Measured, v.Holds, tc.measured, tc.holds, v.Note)
		}
	}
	if n := vs["mass revoke of 10,000, p99"].Note; !strings.Contains(n, "floor of this run 162 ms (×1.44)") {
		t.Errorf("mass revoke note %q does not give the floor of the run", n)
	}
}

func TestCheckTargetsLimits(t *testing.T) {
	rs := results()
	rs[0].Metrics[2] = summarize(MetricHubCPUPerLogin, "µs", []float64{250}, "") // "≤ 250": on the limit holds
	rs[1].Metrics[0] = summarize(MetricLeaverLastAck, "ms", []float64{10}, "")   // "< 10": on the limit does not
	vs := verdicts(t, rs)
	if !vs["hub CPU per login"].Holds {
		t.Error("hub CPU per login of exactly 250 µs: want it to hold (≤ 250)")
	}
	if vs["one leaver among 10,000, p99"].Holds {
		t.Error("leaver p99 of exactly 10 ms: want it not to hold (< 10)")
	}
}

// TestCheckTargetsRoundsOver: a target taken over rounds says how many
// rounds missed its limit and how many of those a machine stall put over
// it, whether or not its figure holds.
func TestCheckTargetsRoundsOver(t *testing.T) {
	const leaver = "one leaver among 10,000, p99"
	rs := results()
	check := func(rounds []map[string]float64) Verdict {
		var lasts []float64
		for _, r := range rounds {
			lasts = append(lasts, r[roundLastAck])
		}
		rs[1].PerRound = rounds
		rs[1].Metrics[0] = summarize(MetricLeaverLastAck, "ms", lasts, "")
		return verdicts(t, rs)[leaver]
	}
	rounds := make([]map[string]float64, 100)
	for i := range rounds {
		rounds[i] = map[string]float64{"last_ack_ms": 2, roundStallKey: 0}
	}
	rounds[7] = map[string]float64{"last_ack_ms": 31, roundStallKey: 23.4} // 7.6 ms without the stall
	if v := check(rounds); !v.Holds || v.Note != "1 of 100 rounds over the limit, 1 of them within it but for a stall of the machine" {
		t.Errorf("one slow round of 100: holds %v, note %q", v.Holds, v.Note)
	}

	rounds[8] = map[string]float64{"last_ack_ms": 12}                    // slow, no stall seen
	rounds[9] = map[string]float64{"last_ack_ms": 10, roundStallKey: 0}  // "< 10": on the limit is over
	rounds[10] = map[string]float64{"last_ack_ms": 19, roundStallKey: 6} // 13 ms without the stall: still over
	if v := check(rounds); v.Holds || v.Note != "4 of 100 rounds over the limit, 1 of them within it but for a stall of the machine" {
		t.Errorf("four slow rounds of 100: holds %v, note %q", v.Holds, v.Note)
	}

	if v := check(rounds[11:]); v.Note != "" {
		t.Errorf("no round over the limit: note %q, want none", v.Note)
	}
}

func TestCheckTargetsRefusesRunsWithErrors(t *testing.T) {
	rs := results()
	rs[0].Errors = 3
	rs[2].Lost = 1
	vs := verdicts(t, rs)
	for _, name := range []string{"logins per second", "login p99, tap to grant", "mass revoke of 10,000, p99", "hub RSS, 10,000 connected"} {
		if v := vs[name]; v.Holds || v.Note == "" {
			t.Errorf("%s holds (%v) in a run with errors or lost channels; note %q", name, v.Holds, v.Note)
		}
	}
	if !vs["one leaver among 10,000, p99"].Holds {
		t.Error("the leaver run had no errors: its target should still hold")
	}
}

func TestCheckTargetsAtScale(t *testing.T) {
	rs := results()
	rs[0].Concurrency = 8
	rs[1].Kiosks = 1000 // make bench-sim SIM_KIOSKS=1000
	vs := verdicts(t, rs)
	if v := vs["one leaver among 10,000, p99"]; v.Holds || !strings.Contains(v.Note, "run with 1000 kiosks") {
		t.Errorf("leaver among 1,000 kiosks: holds %v, note %q; want a miss that says the target is for 10,000", v.Holds, v.Note)
	}
	if v := vs["logins per second"]; v.Holds || !strings.Contains(v.Note, "8 kiosks tapping at once") {
		t.Errorf("logins with 8 kiosks tapping: holds %v, note %q; want a miss that says the target is for 64", v.Holds, v.Note)
	}
}

func TestCheckTargetsMissing(t *testing.T) {
	rs := results()
	rs[0].Metrics = rs[0].Metrics[:2] // no hub CPU (run without --hub-pid)
	rs[2].HubMemory = nil
	vs := verdicts(t, rs[:3]) // and no floor
	for _, name := range []string{"hub CPU per login", "hub RSS, 10,000 connected"} {
		if v := vs[name]; v.Holds || !math.IsNaN(v.Measured) || v.Note == "" {
			t.Errorf("%s without its figure: holds %v, measured %v, note %q; want a miss that says why", name, v.Holds, v.Measured, v.Note)
		}
	}
	if n := vs["mass revoke of 10,000, p99"].Note; n != "" {
		t.Errorf("mass revoke without a floor result: note %q, want none", n)
	}
	vs = verdicts(t, nil)
	for name, v := range vs {
		if v.Holds || !strings.HasPrefix(v.Note, "no ") {
			t.Errorf("%s with no results: holds %v, note %q", name, v.Holds, v.Note)
		}
	}
}

func TestWriteVerdicts(t *testing.T) {
	var b strings.Builder
	if err := WriteVerdicts(&b, Check(results())); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"hub CPU per login", "≤ 250 µs", "313.8 µs", "mass revoke of 10,000, p99", "< 200 ms", "233.3 ms",
		"floor of this run 162 ms", "4 of 6 targets hold\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestResultFiles: results written as --json-out writes them read back
// to the same verdicts; what is not a result is refused with a hint.
func TestResultFiles(t *testing.T) {
	dir := t.TempDir()
	var read []*Result
	for _, r := range results() {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, r.Scenario+".json")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadResultFile(name)
		if err != nil {
			t.Fatal(err)
		}
		read = append(read, got)
	}
	want, got := Check(results()), Check(read)
	for i := range want {
		if want[i].Measured != got[i].Measured || want[i].Holds != got[i].Holds || want[i].Note != got[i].Note {
			t.Errorf("%s after a round trip: %+v, want %+v", want[i].Name, got[i], want[i])
		}
	}

	for name, content := range map[string]string{"table.txt": "shiftgate-sim logins: hub …", "empty.json": "{}"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadResultFile(p); err == nil || !strings.Contains(err.Error(), "--json-out") {
			t.Errorf("%s: err %v, want a refusal that says how to write a result", name, err)
		}
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, make([]byte, maxResultBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResultFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversize file: err %v", err)
	}
	if _, err := ReadResultFile(filepath.Join(dir, "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: err %v, want not-exist", err)
	}
}
