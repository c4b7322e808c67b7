package store

import (
	"testing"
	"time"
)

// TestCertificationExpiresInZone: an expiry sent as a calendar day ends at
// 24:00 of that day in the zone asked for (UTC for nil), an instant is the
// same everywhere; InZone reads every certification so, on a copy, and
// leaves those of the user it was called on alone.
func TestCertificationExpiresInZone(t *testing.T) {
	la, tokyo := mustZone(t, "America/Los_Angeles"), mustZone(t, "Asia/Tokyo")
	utcEnd := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	day := Certification{Name: "bls", Expires: utcEnd, ExpiresDay: "2026-12-31"}
	instant := Certification{Name: "acls", Expires: utcEnd}
	for _, tc := range []struct {
		name string
		c    Certification
		loc  *time.Location
		want time.Time
	}{
		{"day in Los Angeles", day, la, time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)},
		{"day in Tokyo", day, tokyo, time.Date(2026, 12, 31, 15, 0, 0, 0, time.UTC)},
		{"day in no zone", day, nil, utcEnd},
		{"instant in Los Angeles", instant, la, utcEnd},
		{"no expiry", Certification{Name: "cpr"}, la, time.Time{}},
	} {
		if got := tc.c.ExpiresIn(tc.loc); !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("%s: expires %v, want %v in UTC", tc.name, got, tc.want)
		}
	}

	u := User{Certifications: []Certification{instant, day}}
	if !u.HasDays() || (User{Certifications: []Certification{instant}}).HasDays() {
		t.Errorf("HasDays: a user with an expiry day must have days, one with instants only none")
	}
	seen := u.InZone(la)
	if got := seen.Certifications; !got[0].Expires.Equal(utcEnd) || !got[1].Expires.Equal(time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)) || got[1].ExpiresDay != "2026-12-31" {
		t.Errorf("InZone(Los Angeles) certifications %+v; want the instant kept and the day ending at 24:00 there", got)
	}
	if u.Certifications[1] != day {
		t.Errorf("InZone changed the user it was called on: %+v", u.Certifications[1])
	}

	if !day.Equal(day) || day.Equal(instant) || day.Equal(Certification{Name: "bls", Expires: utcEnd}) {
		t.Errorf("Equal: a day and the same instant sent as one must differ")
	}
}
