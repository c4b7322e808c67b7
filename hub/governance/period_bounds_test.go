package governance_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// TestParsePeriodOutOfRange: a bound must be one the report can write and
// one that bounds something. Before, --until 9999-12-31 (a common "no end"
// in HR and GRC tools) became 10000-01-01, which JSON cannot write: the
// API answered 500 and `report --format json` failed after computing; and
// --until 0000-12-31 became the zero time, the open bound, so the period
// silently ran to the end of time. Each is now a usage error naming the
// bound, and every period ParsePeriod accepts can be written.
func TestParsePeriodOutOfRange(t *testing.T) {
	e := newEnv(t, t0)
	for _, tc := range []struct {
		since, until string
		bad          string // "" when the period is fine
	}{
		{"", "9999-12-31", "until"},
		{"2026-07-01", "9999-12-31T23:00:00-05:00", "until"},
		{"9999-12-31T23:00:00-05:00", "", "since"},
		{"", "0000-12-31", "until"},
		{"", "0001-01-01T00:00:00Z", "until"},
		{"0000-06-01T00:00:00+01:00", "", "since"},
		{"2026-07-01", "9999-12-30", ""},
		{"0001-01-01", "2026-09-30", ""}, // the very start: the same as no since
	} {
		p, err := governance.ParsePeriod(tc.since, tc.until)
		if tc.bad != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.bad+":") {
				t.Errorf("ParsePeriod(%q, %q) = %+v, %v; want an error about %s", tc.since, tc.until, p, err, tc.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParsePeriod(%q, %q): %v", tc.since, tc.until, err)
			continue
		}
		if tc.until != "" && p.Until.IsZero() {
			t.Errorf("ParsePeriod(%q, %q): until %q dropped", tc.since, tc.until, tc.until)
		}
		rep, err := e.gov.NumbersIn(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Errorf("report for ParsePeriod(%q, %q) cannot be written: %v", tc.since, tc.until, err)
			continue
		}
		var back struct{ Period governance.Period }
		if err := json.Unmarshal(b, &back); err != nil || !back.Period.Until.Equal(p.Until) || !back.Period.Since.Equal(p.Since) {
			t.Errorf("period written as %s (%v), want %+v", b, err, p)
		}
	}
}
