package cli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/cli"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestGovernanceCommands: review, findings and report on a data
// directory; usage mistakes exit 2 and say what to fix.
func TestGovernanceCommands(t *testing.T) {
	dir := t.TempDir()
	withHub(t, dir, func(store.Store, *lifecycle.Engine) {}) // review start makes no hub
	due := time.Now().Add(48 * time.Hour).UTC().Format(time.DateOnly)
	code, out, errs := run(t, "review", "start", "--data", dir, "--name", "q1", "--due", due, "--role", "Nurse", "--privileged")
	if code != 0 || len(strings.TrimSpace(out)) != 36 {
		t.Fatalf("review start: %d %q %q", code, out, errs)
	}
	id := strings.TrimSpace(out)
	code, out, _ = run(t, "review", "list", "--data", dir, "--format", "json")
	var o struct {
		Campaigns []struct {
			ID    string
			Scope struct {
				Roles      []string
				Privileged bool
			}
			Progress struct{ Total int }
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &o) != nil || len(o.Campaigns) != 1 || o.Campaigns[0].ID != id || !o.Campaigns[0].Scope.Privileged {
		t.Errorf("review list: %d %s", code, out)
	}
	if code, out, _ := run(t, "review", "show", "--data", dir, "--id", id); code != 0 || !strings.Contains(out, "q1") {
		t.Errorf("review show: %d %s", code, out)
	}
	if code, _, errs := run(t, "review", "show", "--data", dir, "--id", "nope"); code != 1 || !strings.Contains(errs, "no campaign nope") {
		t.Errorf("review show unknown: %d %s", code, errs)
	}
	code, out, _ = run(t, "review", "run", "--data", dir)
	if code != 0 || !strings.Contains(out, `"campaigns_started"`) {
		t.Errorf("review run: %d %s", code, out)
	}

	code, out, _ = run(t, "report", "--data", dir)
	var rep map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("report: %d %s", code, out)
	}
	for _, k := range []string{"time_to_provision_seconds", "time_to_deprovision_seconds", "orphaned_account_rate", "access_review_completion_rate"} {
		if _, ok := rep[k]; !ok {
			t.Errorf("report lacks %s: %s", k, out)
		}
	}
	if rep["orphaned_account_rate"] != nil || rep["time_to_provision_seconds"].(map[string]any)["p95"] != nil {
		t.Errorf("an empty hub reports numbers it never measured: %s", out)
	}
	code, out, _ = run(t, "report", "--data", dir, "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(rows) != 19 || strings.Join(rows[0], ",") != "metric,statistic,value" {
		t.Errorf("report csv: %d %v %q", code, err, out)
	}
	code, out, _ = run(t, "report", "--data", dir, "--format", "csv", "--since", "2026-07-01", "--until", "2026-09-30")
	if code != 0 || !strings.HasPrefix(out, "metric,statistic,value\nperiod,since,2026-07-01T00:00:00Z\nperiod,until,2026-10-01T00:00:00Z\n") {
		t.Errorf("report csv for the third quarter: %d %q", code, out)
	}
	code, out, _ = run(t, "findings", "--data", dir, "--format", "csv", "--dormant-days", "7")
	if code != 0 || !strings.HasPrefix(out, "id,kind,rule,user_id,user,entitlement,since,remediation,detail\n") {
		t.Errorf("findings csv: %d %q", code, out)
	}
	if code, out, _ := run(t, "findings", "--data", dir); code != 0 || !strings.Contains(out, `"findings": []`) {
		t.Errorf("findings json: %d %q", code, out)
	}

	for _, args := range [][]string{
		{"report", "--data", dir, "--format", "xml"},
		{"report", "--data", dir, "--since", "soon"},
		{"report", "--data", dir, "--since", "2026-09-30", "--until", "2026-07-01"},
		{"findings", "--data", dir, "--dormant-days", "0"},
		{"review", "start", "--data", dir, "--name", "x", "--due", "soon"},
		{"review", "start", "--data", dir, "--name", "x", "--due", "2020-01-01"},
		{"review", "start", "--data", dir, "--due", due},
		{"review", "decide", "--data", dir},
		{"review"},
		{"report"},
	} {
		if code, _, errs := run(t, args...); code != 2 || !strings.Contains(errs, "shiftgate-hub: ") {
			t.Errorf("%v: exit %d %q, want 2 with a message", args, code, errs)
		}
	}
}

// openEngine opens (making it if needed) the hub in dir, with its audit
// log and a lifecycle engine on them, as the CLI's commands do. The
// caller closes the store.
func openEngine(t *testing.T, dir string) (store.Store, *audit.Log, *lifecycle.Engine) {
	t.Helper()
	st, err := hub.OpenStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := audit.LoadOrCreateKey(t.Context(), dir, st)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	return st, log, eng
}

// TestPrivilegedReviewUsesStoredPolicy: the CLI's reviews read which roles
// are privileged from the policy the hub stored, not from the defaults:
// a policy that makes Pharmacist privileged puts its holders in a
// privileged review.
func TestPrivilegedReviewUsesStoredPolicy(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, _, eng := openEngine(t, dir)
	admin := lifecycle.Actor{Name: "test", System: "api"}
	p, err := eng.LoadPolicy(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	rules := policy.DefaultRules()
	rules.Roles["Pharmacist"] = policy.RoleRule{Apps: []string{"pharmacy"}, Privileged: true}
	if _, err := eng.UpdatePolicy(ctx, admin, p.Version, rules); err != nil {
		t.Fatal(err)
	}
	pia, err := eng.CreateUser(ctx, admin, store.User{UserName: "pia", Active: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.CreateGroup(ctx, admin, store.Group{DisplayName: "Pharmacist", Members: []string{pia.ID}}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	due := time.Now().Add(48 * time.Hour).UTC().Format(time.DateOnly)
	code, out, errs := run(t, "review", "start", "--data", dir, "--name", "privileged", "--due", due, "--privileged")
	if code != 0 {
		t.Fatalf("review start: %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, "review", "list", "--data", dir, "--format", "json")
	var o struct {
		Campaigns []struct{ Progress struct{ Total int } }
	}
	if code != 0 || json.Unmarshal([]byte(out), &o) != nil || len(o.Campaigns) != 1 || o.Campaigns[0].Progress.Total != 1 {
		t.Errorf("review list: %d %s; want one campaign of one item (pia's Pharmacist role)", code, out)
	}
}

// TestReadCommandsNeedAHub: the commands that only read a hub refuse a
// data directory without one (a mistyped --data) rather than create an
// empty hub and report on it.
func TestReadCommandsNeedAHub(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	for _, args := range [][]string{
		{"audit", "verify", "--data", dir},
		{"audit", "export", "--data", dir},
		{"report", "--data", dir},
		{"findings", "--data", dir},
	} {
		code, out, errs := run(t, args...)
		if code != 1 || !strings.Contains(errs, "holds no hub") || out != "" {
			t.Errorf("%v: %d %q %q, want exit 1 saying there is no hub there", args, code, out, errs)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data directory was created: %v", err)
	}
}

// TestReviewStartChecksBeforeHub: every limit the campaign rules put on
// review start's flags (the name's length, how many sites and roles a
// scope lists and their names' length, a blank one) is a usage mistake
// found before the hub is opened: exit 2 with the command's -h, and a
// --data that does not exist is not made.
func TestReviewStartChecksBeforeHub(t *testing.T) {
	due := time.Now().Add(72 * time.Hour).UTC().Format(time.DateOnly)
	many := func(flag string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, "--"+flag, fmt.Sprintf("%s-%d", flag, i))
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"long name", []string{"--name", strings.Repeat("q", 201)}, "the name is longer than 200 bytes"},
		{"101 sites", many("site", 101), "at most 100 sites in a scope"},
		{"101 roles", many("role", 101), "at most 100 roles in a scope"},
		{"long site", []string{"--site", strings.Repeat("s", 129)}, "a site name longer than 128 bytes"},
		{"long role", []string{"--role", strings.Repeat("r", 129)}, "a role name longer than 128 bytes"},
		{"blank role", []string{"--role", "Nurse", "--role", " "}, "an empty role name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "typo")
			args := append([]string{"review", "start", "--data", dir, "--name", "q", "--due", due}, tc.flags...)
			code, out, errs := run(t, args...)
			if code != 2 || out != "" || !strings.Contains(errs, "review start: "+tc.want) ||
				!strings.Contains(errs, "Run 'shiftgate-hub review start -h' for its flags.") || strings.Contains(errs, "invalid request") {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 saying %q and pointing to -h", code, out, errs, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the data directory was made: %v", err)
			}
		})
	}
	// At the limits, the flags are fine: the missing hub is what is wrong.
	dir := filepath.Join(t.TempDir(), "typo")
	args := append([]string{"review", "start", "--data", dir, "--name", strings.Repeat("q", 200), "--due", due,
		"--site", strings.Repeat("s", 128)}, many("role", 100)...)
	if code, _, errs := run(t, args...); code != 1 || !strings.Contains(errs, "holds no hub") {
		t.Errorf("flags at the limits: exit %d, %q; want 1 and no hub", code, errs)
	}
}
