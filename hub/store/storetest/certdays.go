package storetest

import (
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// testCertificationDays: a certification's ExpiresDay comes back
// verbatim next to its Expires, a change of the day alone is written, and
// a backend refuses a day that is not a DayLayout date (a login could not
// read it), on create and on update, storing nothing.
func testCertificationDays(t *testing.T, s store.Store) {
	end := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	u := newUser("u1", "one", 0)
	u.Certifications = []store.Certification{{Name: "bls", Expires: end, ExpiresDay: "2026-12-31"}, {Name: "acls", Expires: end}}
	got := must[store.User](t, "create")(s.CreateUser(t.Context(), u))
	diff(t, "created certifications", u.Certifications, got.Certifications)
	got = must[store.User](t, "update")(s.UpdateUser(t.Context(), "u1", func(x store.User) (store.User, error) {
		// The same instant, sent as one. A new slice: fn's argument
		// shares its backing array with the row as read.
		x.Certifications = []store.Certification{{Name: "bls", Expires: end}, {Name: "acls", Expires: end}}
		return x, nil
	}))
	if got.Version != 2 || got.Certifications[0].ExpiresDay != "" {
		t.Errorf("after clearing the day: v%d, %+v; want v2 and no day", got.Version, got.Certifications)
	}
	u = got
	for _, bad := range []string{"2026-13-01", "2026-12-31T00:00:00Z", " 2026-12-31"} {
		t.Run(bad, func(t *testing.T) {
			b := newUser("u-bad", "bad", 1)
			b.Certifications = []store.Certification{{Name: "bls", Expires: end, ExpiresDay: bad}}
			if _, err := s.CreateUser(t.Context(), b); err == nil {
				t.Errorf("created a user with a certification expiry day %q", bad)
			}
			if _, err := s.UpdateUser(t.Context(), "u1", func(x store.User) (store.User, error) {
				x.Certifications = []store.Certification{{Name: "bls", Expires: end, ExpiresDay: bad}}
				return x, nil
			}); err == nil {
				t.Errorf("updated a user to a certification expiry day %q", bad)
			}
		})
	}
	diff(t, "user after refused days", u, must[store.User](t, "get")(s.GetUser(t.Context(), "u1")))
}
