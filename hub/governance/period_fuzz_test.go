package governance_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
)

// FuzzParsePeriod: a report's period comes from the command line or a
// query. A refusal names the bound at fault; a period accepted has UTC
// bounds a report can write (JSON, RFC 3339: years 0001 to 9999) and read
// back, since before until, a date as until counting whole, and each
// bound written in RFC 3339 reads back as the same period.
func FuzzParsePeriod(f *testing.F) {
	for _, tc := range [][2]string{
		{"", "9999-12-31"}, {"2026-07-01", "9999-12-31T23:00:00-05:00"}, {"9999-12-31T23:00:00-05:00", ""},
		{"", "0000-12-31"}, {"", "0001-01-01T00:00:00Z"}, {"0000-06-01T00:00:00+01:00", ""}, {"2026-07-01", "9999-12-30"},
		{"0001-01-01", "2026-09-30"}, {"2026-07-01T00:00:00.5Z", "2026-09-30T23:59:59.999Z"}, {"2026-09-30", "2026-07-01"},
		{" 2026-07-01 ", "2026-07-01"}, {"", ""}, {"yesterday", ""},
	} {
		f.Add(tc[0], tc[1])
	}
	f.Fuzz(func(t *testing.T, since, until string) {
		p, err := governance.ParsePeriod(since, until)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "since: ") && !strings.HasPrefix(msg, "until: ") && !strings.HasPrefix(msg, "period: ") {
				t.Fatalf("ParsePeriod(%q, %q) error does not name the bound: %v", since, until, err)
			}
			return
		}
		for _, b := range []time.Time{p.Since, p.Until} {
			if !b.IsZero() && (b.Location() != time.UTC || b.Before(time.Time{}) || b.Year() > 9999) {
				t.Fatalf("ParsePeriod(%q, %q) = %+v: a bound a report cannot write", since, until, p)
			}
		}
		if strings.TrimSpace(until) != "" && p.Until.IsZero() {
			t.Fatalf("ParsePeriod(%q, %q): until dropped (the open bound)", since, until)
		}
		if !p.Since.IsZero() && !p.Until.IsZero() && !p.Since.Before(p.Until) {
			t.Fatalf("ParsePeriod(%q, %q) = %+v: empty period", since, until, p)
		}
		if d, err := time.Parse(time.DateOnly, strings.TrimSpace(until)); err == nil && !p.Until.Equal(d.AddDate(0, 0, 1)) {
			t.Fatalf("ParsePeriod(%q, %q): until %v; want the end of that day", since, until, p.Until)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("period %+v cannot be written: %v", p, err)
		}
		var back governance.Period
		if err := json.Unmarshal(b, &back); err != nil || !back.Since.Equal(p.Since) || !back.Until.Equal(p.Until) {
			t.Fatalf("period %+v written as %s reads back as %+v, %v", p, b, back, err)
		}
		text := func(b time.Time) string {
			if b.IsZero() {
				return ""
			}
			return b.Format(time.RFC3339Nano)
		}
		again, err := governance.ParsePeriod(text(p.Since), text(p.Until))
		if err != nil || !again.Since.Equal(p.Since) || !again.Until.Equal(p.Until) {
			t.Fatalf("period %+v in RFC 3339 reads back as %+v, %v", p, again, err)
		}
	})
}
