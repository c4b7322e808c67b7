package sqlite

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
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
// common null and empty cases.
func fromJSON[T any](s string, v *[]T) error {
	switch s {
	case "", "null":
		*v = nil
		return nil
	case "[]":
		*v = []T{}
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}
