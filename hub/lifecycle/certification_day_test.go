package lifecycle

import (
	"log/slog"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// TestUserAtCertificationDay: UserAt, which every login and every
// decision made again (redecide, otherBound, the scheduler's passes) reads
// the user through, resolves a certification expiry sent as a calendar
// day at the kiosk's site, for a user with no other day: the license that
// "expires 2026-12-31" holds until 24:00 of that day in Los Angeles. It
// was returned unread, as a user without days, so a login read the day
// as it ends in UTC, 16:00 there. A user whose expiries are instants is
// still returned without a read of the store.
func TestUserAtCertificationDay(t *testing.T) {
	e := &Engine{log: slog.New(slog.DiscardHandler)}
	tx := &fakeSites{zones: map[string]string{"LA": "America/Los_Angeles"}}
	utcEnd := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	u := store.User{ID: "u", Sites: []string{"LA"}, Certifications: []store.Certification{
		{Name: "bls", Expires: utcEnd, ExpiresDay: "2026-12-31"}, {Name: "acls", Expires: utcEnd}}}
	at, err := e.UserAt(t.Context(), tx, u, "LA")
	if err != nil {
		t.Fatal(err)
	}
	if got := at.Certifications; !got[0].Expires.Equal(time.Date(2027, 1, 1, 8, 0, 0, 0, time.UTC)) || !got[1].Expires.Equal(utcEnd) {
		t.Errorf("UserAt(LA) certifications %+v; want bls until 24:00 in Los Angeles, acls at its instant", got)
	}
	if !u.Certifications[0].Expires.Equal(utcEnd) {
		t.Errorf("UserAt changed the user it was given: %+v", u.Certifications[0])
	}

	u.Certifications = u.Certifications[1:]
	reads := tx.reads
	if at, err := e.UserAt(t.Context(), tx, u, "LA"); err != nil || tx.reads != reads || !at.Certifications[0].Expires.Equal(utcEnd) {
		t.Errorf("UserAt of a user whose expiries are instants: %+v, %v, %d store reads; want it as it is, none", at.Certifications, err, tx.reads-reads)
	}
}
