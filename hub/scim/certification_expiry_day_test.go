package scim

import (
	"testing"
	"time"
)

// TestCertExpiryDay: a bare-date expiry is the certification's last valid
// day, kept as sent with 24:00 of it in UTC as the instant (a login reads
// it at the kiosk's site); a date-time is an instant with no day; the
// placeholders keep their meanings (before 1900: expired; 9999: none).
func TestCertExpiryDay(t *testing.T) {
	for _, tc := range []struct {
		in      any
		wantDay string
		wantAt  time.Time
	}{
		{"2026-12-31", "2026-12-31", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-12-31T00:00:00Z", "", time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)},
		{"2026-12-31T17:00:00-08:00", "", time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC)},
		{"1899-12-30", "", longExpired},
		{"9999-12-31", "", time.Time{}},
		{"", "", time.Time{}},
		{nil, "", time.Time{}},
	} {
		day, at, err := certExpiry(tc.in)
		if err != nil || day != tc.wantDay || !at.Equal(tc.wantAt) || !at.IsZero() && at.Location() != time.UTC {
			t.Errorf("certExpiry(%v) = %q, %v, %v; want %q, %v in UTC", tc.in, day, at, err, tc.wantDay, tc.wantAt)
		}
	}
	if _, _, err := certExpiry("31.12.2026"); err == nil {
		t.Errorf("certExpiry took 31.12.2026")
	}
}
