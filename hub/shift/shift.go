// Package shift owns a worker's working windows: the rules every set of
// shifts follows, whichever way it arrives (SCIM, the admin API, the HR/WFM
// CSV import), and the parser of that import.
//
// Rules (Normalize):
//   - every shift has a start and an end after it, both between the years
//     2000 and 2199;
//   - a shift lasts at most MaxLength: longer duty is written as
//     back-to-back shifts, which policy treats as one window;
//   - shifts do not overlap (back-to-back ones may touch);
//   - a user has at most MaxShifts shifts.
package shift

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Limits on a user's shifts.
const (
	// MaxShifts bounds the shifts of one user: more than a year of daily
	// shifts. Drop past shifts to stay under it.
	MaxShifts = 500
	// MaxLength bounds one shift. Longer duty is split into back-to-back
	// shifts.
	MaxLength = 24 * time.Hour
)

// Years outside [minYear, maxYear) are refused: they are data errors, and
// they stay far inside what the store can keep.
const (
	minYear = 2000
	maxYear = 2200
)

// ErrInvalid marks shifts that break a rule; the message says which and
// what to change.
var ErrInvalid = errors.New("invalid shifts")

// maxProblems caps how many problems one error lists.
const maxProblems = 20

// Normalize returns shifts in UTC, sorted by start, or an error (wrapping
// ErrInvalid) that names every broken rule, up to a limit. nil and empty
// input give an empty result: no shifts.
func Normalize(shifts []store.Shift) ([]store.Shift, error) {
	out := make([]store.Shift, len(shifts))
	var problems []string
	for i, s := range shifts {
		out[i] = store.Shift{Start: s.Start.UTC(), End: s.End.UTC()}
		// Checked as stored, in UTC, as the import checks its rows: the
		// years are UTC years whatever offset a time was sent with.
		if p := check(out[i]); p != "" {
			problems = append(problems, fmt.Sprintf("shift %d (%s): %s", i+1, Format(s), p))
		}
	}
	if len(out) > MaxShifts {
		problems = append(problems, fmt.Sprintf("%d shifts: at most %d per user; leave out shifts that are over", len(out), MaxShifts))
	}
	if len(problems) == 0 {
		slices.SortStableFunc(out, func(a, b store.Shift) int { return a.Start.Compare(b.Start) })
		for i := 1; i < len(out); i++ {
			if out[i].Start.Before(out[i-1].End) {
				problems = append(problems, fmt.Sprintf("shifts %s and %s overlap: a worker is in one shift at a time (back-to-back shifts may touch)", Format(out[i-1]), Format(out[i])))
			}
		}
	}
	if len(problems) > 0 {
		return nil, invalid(problems)
	}
	return out, nil
}

// check returns what is wrong with one shift, or "".
func check(s store.Shift) string {
	switch {
	case s.Start.IsZero() || s.End.IsZero():
		return "needs a start and an end"
	case !s.End.After(s.Start):
		return "ends before it starts, or when it starts: the end must be later"
	case s.Start.UTC().Year() < minYear || s.End.UTC().Year() >= maxYear:
		return fmt.Sprintf("times must lie between the years %d and %d", minYear, maxYear-1)
	case s.End.Sub(s.Start) > MaxLength:
		return fmt.Sprintf("lasts %s, longer than %s: split it into back-to-back shifts", s.End.Sub(s.Start), MaxLength)
	}
	return ""
}

func invalid(problems []string) error {
	more := ""
	if len(problems) > maxProblems {
		more = fmt.Sprintf("; and %d more", len(problems)-maxProblems)
		problems = problems[:maxProblems]
	}
	return fmt.Errorf("%w: %s%s", ErrInvalid, strings.Join(problems, "; "), more)
}

// Format shows a shift as start–end in RFC 3339, UTC.
func Format(s store.Shift) string {
	return stamp(s.Start) + "–" + stamp(s.End)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}

// Equal reports whether two lists hold the same shifts in the same order.
func Equal(a, b []store.Shift) bool {
	return slices.EqualFunc(a, b, func(x, y store.Shift) bool { return x.Start.Equal(y.Start) && x.End.Equal(y.End) })
}

// Diff counts what replacing before with after changes: the shifts of
// after that before lacks (added) and those of before that after lacks
// (removed). Shifts are the same when they start and end at the same
// instants; order and zone do not matter. Both zero: unchanged.
func Diff(before, after []store.Shift) (added, removed int) {
	type span struct{ start, startNs, end, endNs int64 } // UnixNano overflows past 2262
	key := func(s store.Shift) span {
		return span{s.Start.Unix(), int64(s.Start.Nanosecond()), s.End.Unix(), int64(s.End.Nanosecond())}
	}
	left := make(map[span]int, len(before))
	for _, s := range before {
		left[key(s)]++
	}
	for _, s := range after {
		if k := key(s); left[k] > 0 {
			left[k]--
		} else {
			added++
		}
	}
	for _, n := range left {
		removed += n
	}
	return added, removed
}
