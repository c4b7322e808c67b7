package cli

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseDurations: --session-warnings never panics; what it accepts is
// one lead time per comma-separated field, each what time.ParseDuration
// reads in it and at least 1s (hub.Config refuses less), so that the list
// printed back with commas parses to the same.
func FuzzParseDurations(f *testing.F) {
	for _, s := range []string{"10m,2m", "10m", " 1h , 30s ", "", ",", "0s", "999s,1ns", "-5m", "9223372036s", "1e3s", "1h\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ds, err := parseDurations(s)
		if err != nil {
			if !strings.Contains(err.Error(), "is not a duration of at least 1s") {
				t.Fatalf("parseDurations(%q): %v does not say what it takes", s, err)
			}
			return
		}
		fields := strings.Split(s, ",")
		if len(ds) != len(fields) {
			t.Fatalf("parseDurations(%q) = %v: %d lead times for %d fields", s, ds, len(ds), len(fields))
		}
		texts := make([]string, len(ds))
		for i, d := range ds {
			want, err := time.ParseDuration(strings.TrimSpace(fields[i]))
			if err != nil || d != want || d < time.Second {
				t.Fatalf("parseDurations(%q)[%d] = %v, field %q", s, i, d, fields[i])
			}
			texts[i] = d.String()
		}
		again, err := parseDurations(strings.Join(texts, ","))
		if err != nil || len(again) != len(ds) {
			t.Fatalf("%v printed back does not parse: %v", ds, err)
		}
		for i := range ds {
			if again[i] != ds[i] {
				t.Fatalf("%v printed back parses to %v", ds, again)
			}
		}
	})
}
