package sim

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// newConfig returns a config for a fresh in-process hub.
func newConfig(t *testing.T, h *hubtest.Hub, scenario string) Config {
	t.Helper()
	var progress bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("progress:\n%s", progress.String())
		}
	})
	return Config{
		HubURL:       h.URL,
		CAFile:       filepath.Join(h.DataDir, "ca.pem"),
		AdminToken:   h.Token(t, "sim-admin", store.ScopeAdmin),
		SCIMToken:    h.SCIMToken,
		StateDir:     t.TempDir(),
		Site:         "north",
		HubPID:       os.Getpid(), // the hub runs in this process
		Scenario:     scenario,
		Workers:      8,
		SetupTimeout: time.Minute, RoundTimeout: 20 * time.Second,
		Progress: &progress,
	}
}

func run(t *testing.T, cfg Config) *Result {
	t.Helper()
	s, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := s.Run(t.Context())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Errors != 0 || res.Stray != 0 {
		t.Fatalf("%d errors (%v), %d stray messages", res.Errors, res.ErrorSample, res.Stray)
	}
	var tbl bytes.Buffer
	if err := res.WriteTable(&tbl); err != nil {
		t.Fatal(err)
	}
	if _, err := json.Marshal(res); err != nil {
		t.Fatalf("result does not marshal: %v", err)
	}
	t.Logf("\n%s", tbl.String())
	return res
}

func metric(t *testing.T, r *Result, prefix string) Metric {
	t.Helper()
	for _, m := range r.Metrics {
		if strings.HasPrefix(m.Name, prefix) {
			return m
		}
	}
	t.Fatalf("no metric %q in %+v", prefix, r.Metrics)
	return Metric{}
}

func positive(t *testing.T, name string, v *float64) {
	t.Helper()
	if v == nil || !(*v > 0) || math.IsInf(*v, 0) {
		t.Errorf("%s = %v, want > 0", name, v)
	}
}

func TestLogins(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	cfg := newConfig(t, h, ScenarioLogins)
	cfg.Kiosks, cfg.Concurrency, cfg.Rounds, cfg.Duration = 6, 4, 2, 500*time.Millisecond
	res := run(t, cfg)
	positive(t, "logins/s", metric(t, res, "logins per second").Value)
	lat := metric(t, res, "login latency")
	positive(t, "latency p50", lat.P50)
	if *lat.P99 < *lat.P50 || *lat.Max < *lat.P99 {
		t.Errorf("latency p50 %v p99 %v max %v out of order", *lat.P50, *lat.P99, *lat.Max)
	}
	if res.HubMemory == nil || res.HubMemory.ConnectedRSSMiB <= 0 {
		t.Errorf("hub memory not measured: %+v", res.HubMemory)
	}
	for _, r := range res.PerRound {
		if r["logins"] < 1 {
			t.Errorf("a round without logins: %v", r)
		}
	}

	// A second run on the same state reuses kiosks and badges: no
	// enrollment, user or registration phase.
	res = run(t, cfg)
	for _, p := range res.Setup {
		if p.Name != "connecting kiosks" {
			t.Errorf("second run did setup phase %q", p.Name)
		}
	}
}

func TestLeaver(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	cfg := newConfig(t, h, ScenarioLeaver)
	cfg.Kiosks, cfg.Rounds, cfg.Sessions = 20, 3, 2
	res := run(t, cfg)
	if v := metric(t, res, "acks").Value; v == nil || *v != 6 {
		t.Errorf("acks = %v, want 6", v)
	}
	last := metric(t, res, "leaver: PATCH → last ack")
	positive(t, "last ack max", last.Max)
	first := metric(t, res, "leaver: PATCH → first ack")
	if *first.Max > *last.Max {
		t.Errorf("first ack %v after last ack %v", *first.Max, *last.Max)
	}
	if v := metric(t, res, "rounds with a machine stall").Value; v == nil || *v < 0 || *v > 3 {
		t.Errorf("rounds with a machine stall = %v, want a count of the 3 rounds", v)
	}
	for i, r := range res.PerRound {
		if s, ok := r[roundStallKey]; !ok || s < 0 || s > r[roundLastAck] {
			t.Errorf("round %d: %s = %v (present %v), want 0 ≤ it ≤ the round's %v ms", i+1, roundStallKey, s, ok, r[roundLastAck])
		}
	}
}

func TestMassRevoke(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	cfg := newConfig(t, h, ScenarioMassRevoke)
	cfg.Kiosks, cfg.Rounds, cfg.Concurrency = 20, 2, 8
	res := run(t, cfg)
	acks := metric(t, res, "acks per round")
	if acks.P50 == nil || *acks.P50 != 20 || *acks.Max != 20 {
		t.Errorf("acks per round = %+v, want 20", acks)
	}
	for _, r := range res.PerRound {
		if r["acks"] != 20 || r["logins"] != 20 {
			t.Errorf("round %v: want 20 logins and 20 acks", r)
		}
	}
	positive(t, "last ack", metric(t, res, "mass revoke: DELETE → last ack").P50)
	positive(t, "re-login throughput", metric(t, res, "re-login throughput").Value)

	// The role group is back, so the state serves the next run.
	cfg.Rounds = 1
	run(t, cfg)
}

func TestConfigValidate(t *testing.T) {
	good := Config{HubURL: "https://localhost:8443", CAFile: "ca.pem", AdminToken: "a", SCIMToken: "s", StateDir: "d", Scenario: ScenarioLeaver}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Config)
		want []string
	}{
		{"everything missing", func(c *Config) { *c = Config{} }, []string{"--hub", "--ca", "--admin-token", "--scim-token", "--state", "scenario"}},
		{"http", func(c *Config) { c.HubURL = "http://localhost:1" }, []string{"--hub"}},
		{"not this machine", func(c *Config) { c.HubURL = "https://hub.example.org:8443" }, []string{"only targets a hub on this machine"}},
		{"private address", func(c *Config) { c.HubURL = "https://10.0.0.5:8443" }, []string{"only targets a hub on this machine"}},
		{"concurrency above kiosks", func(c *Config) { c.Scenario, c.Kiosks, c.Concurrency = ScenarioLogins, 4, 8 }, []string{"--concurrency"}},
		{"sessions above kiosks", func(c *Config) { c.Kiosks, c.Sessions = 1, 2 }, []string{"--sessions"}},
		{"too many kiosks", func(c *Config) { c.Kiosks = 30000 }, []string{"--kiosks"}},
		{"bad site", func(c *Config) { c.Site = "a b" }, []string{"--site"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mod(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	tests := []struct {
		p, want float64
	}{{50, 3}, {99, 5}, {100, 5}, {1, 1}, {20, 1}, {21, 2}}
	for _, tt := range tests {
		if got := percentile(xs, tt.p); got != tt.want {
			t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
	if m := summarize("x", "", nil, ""); m.P50 != nil {
		t.Error("summary of nothing has a p50")
	}
}

func TestProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cpu, err := procCPU(os.Getpid())
	if err != nil || cpu < 0 {
		t.Fatalf("procCPU = %v, %v", cpu, err)
	}
	m, err := procMemory(os.Getpid())
	if err != nil || m.RSS <= 0 || m.HWM < m.RSS {
		t.Fatalf("procMemory = %+v, %v", m, err)
	}
}

// TestRevokedSession: the session of a session.revoke, read directly in
// the hub's form and by encoding/json in any other.
func TestRevokedSession(t *testing.T) {
	for data, want := range map[string]string{
		`{"session_id":"s-1","reason":"expired"}`:       "s-1",
		`{"reason":"expired","session_id":"s-2"}`:       "s-2",
		`{"session_id":"a\"b","reason":"x"}`:            `a"b`,
		`{"session_id":"\u0073-3"}`:                     "s-3",
		`{"reason":"expired"}`:                          "",
		`{"session_id":"","reason":"entitlement_gone"}`: "",
	} {
		if got := revokedSession([]byte(data)); got != want {
			t.Errorf("revokedSession(%s) = %q, want %q", data, got, want)
		}
	}
}
