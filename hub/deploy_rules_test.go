package hub

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"go.yaml.in/yaml/v3"
)

// exportedNames returns the names of every metric s can export, whether or
// not it has a value yet.
func exportedNames(t *testing.T, s *Server) map[string]bool {
	t.Helper()
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for _, c := range s.metrics.collectors {
		ch := make(chan *prometheus.Desc)
		go func() { c.Describe(ch); close(ch) }()
		for d := range ch {
			m := fq.FindStringSubmatch(d.String())
			if m == nil {
				t.Fatalf("no name in %s", d)
			}
			names[m[1]] = true
		}
	}
	return names
}

// alertRules is deploy/prometheus-rules.yml.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// deployRules reads deploy/prometheus-rules.yml, refusing unknown fields.
func deployRules(t *testing.T) alertRules {
	t.Helper()
	b, err := os.ReadFile("deploy/prometheus-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc alertRules
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("deploy/prometheus-rules.yml: %v", err)
	}
	return doc
}

// TestDeployAlertRules: the Prometheus alerting rules shipped in
// deploy/prometheus-rules.yml are well formed, and every shiftgate_* metric
// they name (a histogram's _bucket, _sum and _count included) is one the
// hub exports: a rule on a renamed metric would never fire.
func TestDeployAlertRules(t *testing.T) {
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names := exportedNames(t, s)
	for _, n := range []string{"shiftgate_audit_chain_breaks_total", "shiftgate_kiosk_logins_total", "shiftgate_fido_metadata_number", "shiftgate_time_to_deprovision_seconds"} {
		if !names[n] {
			t.Fatalf("the hub's metrics do not list %s: %v", n, names)
		}
	}

	doc := deployRules(t)
	metric := regexp.MustCompile(`\bshiftgate_[a-z0-9_]+`)
	alertName := regexp.MustCompile(`^Shiftgate[A-Z][A-Za-z0-9]+$`)
	duration := regexp.MustCompile(`^[0-9]+[smhd]$`)
	seen, used := map[string]bool{}, map[string]bool{}
	n := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			n++
			switch {
			case !alertName.MatchString(r.Alert) || seen[r.Alert]:
				t.Errorf("alert %q: want a unique name ShiftgateSomething", r.Alert)
			case strings.TrimSpace(r.Expr) == "":
				t.Errorf("alert %s has no expr", r.Alert)
			case r.For != "" && !duration.MatchString(r.For):
				t.Errorf("alert %s: for %q is not a duration", r.Alert, r.For)
			case !map[string]bool{"critical": true, "warning": true, "info": true}[r.Labels["severity"]]:
				t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
			case r.Annotations["summary"] == "" || r.Annotations["description"] == "":
				t.Errorf("alert %s: want a summary and a description", r.Alert)
			}
			seen[r.Alert] = true
			if strings.Count(r.Expr, "(") != strings.Count(r.Expr, ")") {
				t.Errorf("alert %s: unbalanced parentheses in %q", r.Alert, r.Expr)
			}
			for _, m := range metric.FindAllString(r.Expr, -1) {
				base := m
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if b, ok := strings.CutSuffix(m, suffix); ok && names[b] {
						base = b
					}
				}
				if !names[base] {
					t.Errorf("alert %s names %s, which the hub does not export", r.Alert, m)
				}
				used[base] = true
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules")
	}
	// The alerts operators need most are there: a kiosk away for long
	// among them, and the age of what the metrics read from the store,
	// which serve the last good values when a read fails.
	for _, m := range []string{"shiftgate_audit_last_break_timestamp_seconds", "shiftgate_audit_checked_seq", "shiftgate_revocation_ack_seconds", "shiftgate_api_token_expiry_timestamp_seconds", "shiftgate_deprovision_pending",
		"shiftgate_kiosks_offline", "shiftgate_api_tokens_read_timestamp_seconds", "shiftgate_kiosks_listed_timestamp_seconds", "shiftgate_governance_computed_timestamp_seconds"} {
		if !used[m] {
			t.Errorf("no rule alerts on %s", m)
		}
	}
}

// TestDeployAlertSelectors: what the alerting rules select is what a hub
// exports from its start, as the type the rule's function needs.
//
//   - A selector with label matchers selects a series of a freshly started
//     hub. A counter child that appears only with its first increment is
//     invisible to increase() until its second sample: the first burst of
//     invalid assertions after a start (the counter appearing at, say, 50)
//     would not set off ShiftgateInvalidAssertions. A matcher on a renamed
//     label value would never match at all.
//   - rate(), irate() and increase() take counters (or a histogram's
//     _bucket, _count and _sum), histogram_quantile() a histogram's
//     _bucket: on a gauge they give numbers that mean nothing.
//   - The metrics follow Prometheus's naming rules (promlint: _total on
//     counters, base units) and carry no label that grows with users,
//     sessions or kiosks.
func TestDeployAlertSelectors(t *testing.T) {
	s, err := New(t.Context(), Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, mf := range mfs {
		types[mf.GetName()] = mf.GetType().String()
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "user", "user_id", "username", "session", "session_id", "device", "device_id", "kiosk", "credential", "ip":
					t.Errorf("%s has a label %s: one series per value, without bound", mf.GetName(), l.GetName())
				}
			}
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric %s: %s", p.Metric, p.Text)
	}

	// selects reports whether a series of the fresh hub has name and
	// the labels the equality matchers ask for.
	selects := func(name string, want map[string]string) bool {
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		series:
			for _, m := range mf.GetMetric() {
				have := map[string]string{}
				for _, l := range m.GetLabel() {
					have[l.GetName()] = l.GetValue()
				}
				for k, v := range want {
					if have[k] != v {
						continue series
					}
				}
				return true
			}
		}
		return false
	}
	selector := regexp.MustCompile(`\b(shiftgate_[a-z0-9_]+)\{([^}]*)\}`)
	matcher := regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*$`)
	// The first metric named after the function's parenthesis is what
	// it works on: rate's argument, histogram_quantile's buckets.
	call := regexp.MustCompile(`\b(rate|irate|increase|histogram_quantile)\([^"]*?\b(shiftgate_[a-z0-9_]+)`)
	checked := 0
	for _, g := range deployRules(t).Groups {
		for _, r := range g.Rules {
			for _, sel := range selector.FindAllStringSubmatch(r.Expr, -1) {
				want := map[string]string{}
				for _, part := range strings.Split(sel[2], ",") {
					m := matcher.FindStringSubmatch(part)
					if m == nil {
						t.Fatalf("alert %s: cannot read matcher %q", r.Alert, part)
					}
					if m[2] == "=" {
						want[m[1]] = m[3]
					}
				}
				if !selects(sel[1], want) {
					t.Errorf("alert %s: %s selects no series a started hub exports (want it there at 0 from the start)", r.Alert, sel[0])
				}
				checked++
			}
			for _, c := range call.FindAllStringSubmatch(r.Expr, -1) {
				fn, name := c[1], c[2]
				var ok bool
				base, suffix := cutSeriesSuffix(name)
				if types[base] == "" {
					base, suffix = name, ""
				}
				switch {
				case fn == "histogram_quantile":
					ok = suffix == "_bucket" && types[base] == "HISTOGRAM"
				case suffix != "":
					ok = types[base] == "HISTOGRAM" || types[base] == "SUMMARY" && suffix != "_bucket"
				default:
					ok = types[name] == "COUNTER"
				}
				if !ok {
					t.Errorf("alert %s: %s() of %s, a series of %s (%s)", r.Alert, fn, name, base, types[base])
				}
				checked++
			}
		}
	}
	if checked == 0 {
		t.Fatal("no selector or function checked")
	}
}

// cutSeriesSuffix splits a histogram's or summary's series name into the
// metric's name and the suffix (_bucket, _count, _sum); suffix is "" for
// any other name.
func cutSeriesSuffix(name string) (base, suffix string) {
	for _, sfx := range []string{"_bucket", "_count", "_sum"} {
		if b, ok := strings.CutSuffix(name, sfx); ok {
			return b, sfx
		}
	}
	return name, ""
}
