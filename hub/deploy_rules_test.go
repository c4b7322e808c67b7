package hub

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
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

	b, err := os.ReadFile("deploy/prometheus-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
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
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("deploy/prometheus-rules.yml: %v", err)
	}
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
	// The alerts operators need most are there.
	for _, m := range []string{"shiftgate_audit_last_break_timestamp_seconds", "shiftgate_audit_checked_seq", "shiftgate_revocation_ack_seconds", "shiftgate_api_token_expiry_timestamp_seconds", "shiftgate_deprovision_pending"} {
		if !used[m] {
			t.Errorf("no rule alerts on %s", m)
		}
	}
}
