package sqlite

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// nanos is how a time is stored: Unix nanoseconds, 0 for the zero time.
// Callers check the range first with checkTimes.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos; the result is in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// utc is what a time looks like after a round trip through the database.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// checkTimes refuses times that do not fit in int64 nanoseconds.
func checkTimes(ts ...time.Time) error {
	minTime, maxTime := time.Unix(0, math.MinInt64), time.Unix(0, math.MaxInt64)
	for _, t := range ts {
		if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
			return fmt.Errorf("time %s outside the storable range %s to %s",
				t.Format(time.RFC3339), minTime.UTC().Format(time.RFC3339), maxTime.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// jsonText encodes a slice for a JSON text column: nil is "null" and an
// empty slice "[]", so both come back as they went in.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// fromJSON decodes a JSON text column into *v, with fast paths for the
// common null and empty cases and for lists of plain strings.
func fromJSON[T any](s string, v *[]T) error {
	switch s {
	case "", "null":
		*v = nil
		return nil
	case "[]":
		*v = []T{}
		return nil
	}
	if ss, ok := any(v).(*[]string); ok {
		if list, ok := plainStrings(s); ok {
			*ss = list
			return nil
		}
	}
	return json.Unmarshal([]byte(s), v)
}

// plainStrings decodes a JSON array of strings as json.Marshal writes it
// (no spaces) when no string holds an escape, and reports whether it
// could; the caller falls back to encoding/json otherwise. A session's
// apps and a user's sites are such lists, read on every login, every
// SCIM lookup and for each of ten thousand sessions in a mass revoke,
// where encoding/json's reflection cost more than the rest of the row.
func plainStrings(s string) ([]string, bool) {
	if len(s) < 4 || s[0] != '[' || s[len(s)-1] != ']' || !utf8.ValidString(s) {
		return nil, false
	}
	body := s[1 : len(s)-1]
	out := make([]string, 0, strings.Count(body, `","`)+1)
	for {
		if len(body) < 2 || body[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(body[1:], '"') + 1
		if end == 0 {
			return nil, false
		}
		str := body[1:end]
		for i := 0; i < len(str); i++ {
			if str[i] == '\\' || str[i] < 0x20 {
				return nil, false
			}
		}
		out = append(out, str)
		body = body[end+1:]
		if body == "" {
			return out, true
		}
		if body[0] != ',' {
			return nil, false
		}
		body = body[1:]
	}
}
