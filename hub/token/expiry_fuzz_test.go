package token

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParseExpiry: an expiry typed on the command line or chosen in the
// console is the scope's default (""), or an instant in UTC after now and
// at most MaxExpiry(now): there is no "never". What is accepted is a
// number of days from now or the end of a day in UTC, and writing it back
// in that form reads the same instant. A refusal names the input and is
// valid UTF-8 (it is shown in the console).
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"", "90d", " 1d ", "730d", "2027-03-01", "2026-11-27", "2028-11-26", "2028-11-27", "800d",
		"9999d", "2026-11-26", "0d", "-5d", "+5d", "never", "0", "90", "d", "2027-3-1", "2027-02-30", "3m", "0090d", "\xff"} {
		f.Add(s, int64(0))
	}
	base := time.Date(2026, 11, 27, 5, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string, shift int64) {
		// now anywhere within some 30 years of base, to the nanosecond.
		now := base.Add(time.Duration(shift % int64(30*365*24*time.Hour)))
		got, err := ParseExpiry(s, now)
		trimmed := strings.TrimSpace(s)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, fmt.Sprintf("expiry %q: ", trimmed)) || !utf8.ValidString(msg) {
				t.Fatalf("ParseExpiry(%q) error %q does not name the input", s, msg)
			}
			if !got.IsZero() {
				t.Fatalf("ParseExpiry(%q) = %v with error %v", s, got, err)
			}
			return
		}
		if trimmed == "" {
			if !got.IsZero() {
				t.Fatalf("ParseExpiry(%q) = %v; want the default (zero)", s, got)
			}
			return
		}
		if got.Location() != time.UTC || !got.After(now) || got.After(MaxExpiry(now)) {
			t.Fatalf("ParseExpiry(%q) at %v = %v: not in UTC within (now, %v]", s, now, got, MaxExpiry(now))
		}
		var again string
		if strings.HasSuffix(trimmed, "d") {
			days := got.Sub(now) / (24 * time.Hour)
			if got.Sub(now) != days*24*time.Hour {
				t.Fatalf("ParseExpiry(%q) at %v = %v: not a whole number of days ahead", s, now, got)
			}
			again = strconv.Itoa(int(days)) + "d"
		} else {
			if !got.Equal(got.Truncate(24 * time.Hour)) {
				t.Fatalf("ParseExpiry(%q) = %v: not the end of a day in UTC", s, got)
			}
			again = got.AddDate(0, 0, -1).Format(time.DateOnly)
		}
		if back, err := ParseExpiry(again, now); err != nil || !back.Equal(got) {
			t.Fatalf("ParseExpiry(%q) = %v, written %q, reads back as %v, %v", s, got, again, back, err)
		}
	})
}

// FuzzParseOverlap: a rotation's overlap is from 0 to MaxOverlap, never
// negative; what is accepted reads back the same written as a duration;
// a refusal names the input.
func FuzzParseOverlap(f *testing.F) {
	for _, s := range []string{"", "0", "0s", "90m", "3d", "7d", "168h", "168h1s", "8d", "-1h", "-1d", "soon", "never",
		"+1h", "-0", "07d", "1.5h", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseOverlap(s)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, fmt.Sprintf("overlap %q: ", strings.TrimSpace(s))) || !utf8.ValidString(msg) {
				t.Fatalf("ParseOverlap(%q) error %q does not name the input", s, msg)
			}
			return
		}
		if got < 0 || got > MaxOverlap {
			t.Fatalf("ParseOverlap(%q) = %v: outside [0, %v]", s, got, MaxOverlap)
		}
		if strings.TrimSpace(s) == "" && got != DefaultOverlap {
			t.Fatalf("ParseOverlap(%q) = %v; want the default %v", s, got, DefaultOverlap)
		}
		if back, err := ParseOverlap(got.String()); err != nil || back != got {
			t.Fatalf("ParseOverlap(%q) = %v, written %q, reads back as %v, %v", s, got, got.String(), back, err)
		}
	})
}
