package lifecycle

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// errSiteStore is the failure fakeSites gives for site X.
var errSiteStore = errors.New("site store unavailable")

// fakeSites is the site table dates.go reads: sites A and B with the
// fuzzed zones, X whose read fails, anything else unregistered (UTC). It
// counts its reads.
type fakeSites struct {
	zones map[string]string
	reads int
}

func (s *fakeSites) GetSiteByName(_ context.Context, name string) (store.Site, error) {
	s.reads++
	if strings.EqualFold(name, "X") {
		return store.Site{}, errSiteStore
	}
	for n, z := range s.zones {
		if strings.EqualFold(n, name) {
			return store.Site{ID: "site-" + n, Name: n, TimeZone: z}, nil
		}
	}
	return store.Site{}, store.ErrNotFound
}

func (s *fakeSites) CreateSite(context.Context, store.Site) (store.Site, error) {
	return store.Site{}, errors.New("fakeSites: read only")
}

func (s *fakeSites) ListSites(context.Context) ([]store.Site, error) {
	return nil, errors.New("fakeSites: read only")
}

func (s *fakeSites) UpdateSite(context.Context, string, func(store.Site) (store.Site, error)) (store.Site, error) {
	return store.Site{}, errors.New("fakeSites: read only")
}

// localDay is the calendar day of t in loc, comparable as an integer.
func localDay(t time.Time, loc *time.Location) int {
	y, m, d := t.In(loc).Date()
	return y*10000 + int(m)*100 + d
}

// dayNumber is localDay of a DayLayout date; ok is false for anything else.
func dayNumber(s string) (int, bool) {
	t, err := time.Parse(store.DayLayout, s)
	if err != nil {
		return 0, false
	}
	return localDay(t, time.UTC), true
}

// FuzzDates resolves arbitrary start and end days, sent instants, site
// time zones and site lists as dates.go does (checkZone, location,
// UserAt, resolveDates and spanOver) and checks what the rest of the hub
// relies on:
//
//   - nothing panics; a zone name checkZone refuses is ErrInvalid, one it
//     accepts loads; location never returns nil, reads a zone that does
//     not load as UTC, and hands out the same *time.Location each time;
//   - a store failure reading a site is returned wrapped, naming the
//     site; a user without calendar days is returned as it is, without a
//     read of the store;
//   - at every site, a valid start day begins at the first instant of
//     that day there (the instant before is on an earlier day) and a
//     valid end day ends at the first instant after it (the whole day is
//     covered: the instant before is still on it); a day that is not a
//     DayLayout date leaves the instant sent (or zero) in place;
//   - with both days valid and the start day not after the end day, the
//     end is after the start at every site where the days have an
//     instant, and never before it;
//   - resolveDates spans every site: the earliest start and the latest
//     end over the user's sites, UTC for a user without sites.
func FuzzDates(f *testing.F) {
	type seed struct {
		start, end   string
		zoneA, zoneB string
		sites        uint8 // bit 0: A, 1: B, 2: U (unregistered), 3: X (fails)
		sent0, sent1 int64 // StartDate, EndDate as Unix seconds; 0: none
	}
	for _, s := range []seed{
		{"2026-12-01", "2026-12-31", "America/Los_Angeles", "Asia/Tokyo", 0b011, 0, 0},
		{"2026-12-01", "", "Europe/Berlin", "", 0b001, 0, 1798761600},
		{"", "2026-12-31", "", "UTC", 0b110, 1764547200, 0},
		{"", "", "Europe/Berlin", "", 0b1111, 1764547200, 1798761600},
		{"2026-12-01", "2026-12-31", "Europe/Berlin", "", 0b1001, 0, 0},
		// Clocks that skip midnight: the day begins at the change.
		{"2024-09-08", "2024-09-07", "America/Santiago", "", 0b001, 0, 0},
		{"2024-09-07", "2024-09-08", "America/Santiago", "America/Havana", 0b011, 0, 0},
		{"2024-03-10", "2024-03-09", "America/Havana", "", 0b001, 0, 0},
		{"2018-11-04", "2018-11-03", "America/Sao_Paulo", "", 0b001, 0, 0},
		// Clocks that go back over midnight, and a day that never was.
		{"2024-04-07", "2024-04-06", "America/Santiago", "", 0b001, 0, 0},
		{"2011-12-30", "2011-12-30", "Pacific/Apia", "", 0b001, 0, 0},
		{"2011-12-29", "2011-12-31", "Pacific/Apia", "Pacific/Kiritimati", 0b011, 0, 0},
		{"2026-01-01", "2026-01-01", "Etc/GMT+12", "Etc/GMT-14", 0b011, 0, 0},
		// Not days, and zones that do not load.
		{"2026-02-30", "2026-1-1", "Local", "../../etc/passwd", 0b111, 1764547200, -62135596800},
		{" 2026-12-01", "2026-12-01T00:00:00Z", "Nowhere/Zone", "europe/berlin", 0b111, 0, 0},
		{"0000-01-01", "9999-12-31", "Pacific/Kiritimati", "Pacific/Niue", 0b111, 0, 0},
		{"2026-12-31", "2026-12-01", "Asia/Kolkata", "Asia/Kathmandu", 0b011, 0, 0},
	} {
		f.Add(s.start, s.end, s.zoneA, s.zoneB, s.sites, s.sent0, s.sent1)
	}
	f.Fuzz(func(t *testing.T, startDay, endDay, zoneA, zoneB string, sites uint8, sent0, sent1 int64) {
		ctx := context.Background()
		e := &Engine{log: slog.New(slog.DiscardHandler)}
		tx := &fakeSites{zones: map[string]string{"A": zoneA, "B": zoneB}}

		// checkZone and location.
		want := map[string]*time.Location{"U": time.UTC}
		for site, zone := range tx.zones {
			loc, loadErr := time.LoadLocation(zone)
			if err := CheckZone(zone); err == nil && (loadErr != nil || zone == "Local") {
				t.Errorf("CheckZone(%q) accepted a zone that does not load or is the host's (%v)", zone, loadErr)
			} else if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("CheckZone(%q) = %v, not ErrInvalid", zone, err)
			}
			got := e.location(site, zone)
			switch {
			case got == nil:
				t.Fatalf("location(%q) = nil", zone)
			case got != e.location(site, zone):
				t.Errorf("location(%q) loads the zone again", zone)
			case zone == "" || loadErr != nil:
				if got != time.UTC {
					t.Errorf("location(%q) = %v, want UTC (%v)", zone, got, loadErr)
				}
			case got.String() != loc.String():
				t.Errorf("location(%q) = %v, want %v", zone, got, loc)
			}
			want[site] = got
		}

		u := store.User{ID: "u", UserName: "u", StartDay: startDay, EndDay: endDay}
		if sent0 != 0 {
			u.StartDate = time.Unix(sent0, 0).UTC()
		}
		if sent1 != 0 {
			u.EndDate = time.Unix(sent1, 0).UTC()
		}
		for i, s := range []string{"A", "B", "U", "X"} {
			if sites&(1<<i) != 0 {
				u.Sites = append(u.Sites, s)
			}
		}
		calendar := startDay != "" || endDay != ""

		// resolveDates: errors, and a user without days left alone.
		resolved := u
		err := e.resolveDates(ctx, tx, &resolved)
		switch {
		case sites&8 != 0 && calendar:
			if !errors.Is(err, errSiteStore) || !strings.Contains(err.Error(), "site X") {
				t.Fatalf("resolveDates with site X failing: %v, want the store's error naming the site", err)
			}
		case err != nil:
			t.Fatalf("resolveDates: %v", err)
		}
		if !calendar {
			if tx.reads != 0 || !resolved.StartDate.Equal(u.StartDate) || !resolved.EndDate.Equal(u.EndDate) {
				t.Errorf("a user without days: %d store reads, dates %v..%v, want %v..%v", tx.reads, resolved.StartDate, resolved.EndDate, u.StartDate, u.EndDate)
			}
		}

		// UserAt at each site, checked against the calendar.
		sd, startOK := dayNumber(startDay)
		ed, endOK := dayNumber(endDay)
		var spanStart, spanEnd []time.Time
		for _, site := range []string{"A", "B", "U", "X"} {
			reads := tx.reads
			at, err := e.UserAt(ctx, tx, u, site)
			if !calendar {
				if err != nil || tx.reads != reads || !at.StartDate.Equal(u.StartDate) || !at.EndDate.Equal(u.EndDate) {
					t.Errorf("UserAt(%s) of a user without days: %v..%v, %v, %d reads", site, at.StartDate, at.EndDate, err, tx.reads-reads)
				}
				continue
			}
			if site == "X" {
				if !errors.Is(err, errSiteStore) {
					t.Errorf("UserAt(X) = %v, want the store's error", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("UserAt(%s): %v", site, err)
			}
			loc := want[site]
			s, end := at.StartDate, at.EndDate
			if startOK {
				if localDay(s, loc) < sd || localDay(s.Add(-time.Nanosecond), loc) >= sd {
					t.Errorf("start day %s at %s (%v) begins at %v, %v there", startDay, site, loc, s, s.In(loc))
				}
			} else if !s.Equal(u.StartDate) {
				t.Errorf("start day %q, not a day, at %s: start %v, want the instant sent %v", startDay, site, s, u.StartDate)
			}
			if endOK {
				if localDay(end, loc) <= ed || localDay(end.Add(-time.Nanosecond), loc) > ed {
					t.Errorf("end day %s at %s (%v) ends at %v, %v there: not the end of the day", endDay, site, loc, end, end.In(loc))
				}
			} else if !end.Equal(u.EndDate) {
				t.Errorf("end day %q, not a day, at %s: end %v, want the instant sent %v", endDay, site, end, u.EndDate)
			}
			if startOK && endOK && sd <= ed {
				// The days have an instant here unless the one day
				// there is was skipped (Pacific/Apia, 2011-12-30).
				exists := sd < ed || localDay(s, loc) == sd
				if end.Before(s) || exists && !end.After(s) {
					t.Errorf("days %s..%s at %s (%v): end %v is not after start %v", startDay, endDay, site, loc, end, s)
				}
			}
			if s.Location() != time.UTC && !s.IsZero() || end.Location() != time.UTC && !end.IsZero() {
				t.Errorf("UserAt(%s) returned %v..%v, not in UTC", site, s, end)
			}
			if site == "A" && sites&1 != 0 || site == "B" && sites&2 != 0 || site == "U" && sites&4 != 0 {
				spanStart, spanEnd = append(spanStart, s), append(spanEnd, end)
			}
		}

		// resolveDates spans the sites' days; without sites, UTC's.
		if !calendar || sites&8 != 0 {
			return
		}
		if len(spanStart) == 0 {
			utc := spanOver(u, []*time.Location{time.UTC})
			spanStart, spanEnd = []time.Time{utc.StartDate}, []time.Time{utc.EndDate}
			if at, _ := e.UserAt(ctx, tx, u, "U"); !at.StartDate.Equal(utc.StartDate) || !at.EndDate.Equal(utc.EndDate) {
				t.Errorf("a user without sites resolves to %v..%v, not UTC's %v..%v", utc.StartDate, utc.EndDate, at.StartDate, at.EndDate)
			}
		}
		first, last := spanStart[0], spanEnd[0]
		for i := range spanStart {
			if spanStart[i].Before(first) {
				first = spanStart[i]
			}
			if spanEnd[i].After(last) {
				last = spanEnd[i]
			}
		}
		if !resolved.StartDate.Equal(first) || !resolved.EndDate.Equal(last) {
			t.Errorf("resolveDates over %v: %v..%v, want the earliest start and latest end %v..%v", u.Sites, resolved.StartDate, resolved.EndDate, first, last)
		}
	})
}

// TestDaysWhereMidnightIsSkipped: where the clocks skip midnight, a start
// day begins at the change and an end day, and the day before the change,
// end at the next day's first instant: time.Date's reading of the missing
// 00:00 (23:00 of the day before) opened the start day an hour early and
// closed both end days an hour early. A day skipped whole (Apia went from
// 2011-12-29 to 2011-12-31) begins where the next one does, and the day
// before it ends there. Elsewhere nothing moves.
func TestDaysWhereMidnightIsSkipped(t *testing.T) {
	e := &Engine{log: slog.New(slog.DiscardHandler)}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		zone, start, end string
		wantStart        time.Time
		wantEnd          time.Time
	}{
		// Santiago goes from -04 to -03 at 24:00 on 2024-09-07.
		{"America/Santiago", "2024-09-08", "2024-09-07", utc("2024-09-08T04:00:00Z"), utc("2024-09-08T04:00:00Z")},
		{"America/Santiago", "2024-09-07", "2024-09-08", utc("2024-09-07T04:00:00Z"), utc("2024-09-09T03:00:00Z")},
		// Havana goes from -05 to -04 at 24:00 on 2024-03-09.
		{"America/Havana", "2024-03-10", "2024-03-09", utc("2024-03-10T05:00:00Z"), utc("2024-03-10T05:00:00Z")},
		{"Pacific/Apia", "2011-12-30", "2011-12-29", utc("2011-12-30T10:00:00Z"), utc("2011-12-30T10:00:00Z")},
		{"Europe/Berlin", "2026-03-29", "2026-03-29", utc("2026-03-28T23:00:00Z"), utc("2026-03-29T22:00:00Z")},
		{"UTC", "2026-12-01", "2026-12-31", utc("2026-12-01T00:00:00Z"), utc("2027-01-01T00:00:00Z")},
	} {
		tx := &fakeSites{zones: map[string]string{"A": tc.zone}}
		u := store.User{ID: "u", StartDay: tc.start, EndDay: tc.end, Sites: []string{"A"}}
		at, err := e.UserAt(t.Context(), tx, u, "A")
		if err != nil {
			t.Fatal(err)
		}
		if !at.StartDate.Equal(tc.wantStart) || !at.EndDate.Equal(tc.wantEnd) {
			t.Errorf("%s, days %s..%s: %v..%v, want %v..%v", tc.zone, tc.start, tc.end, at.StartDate, at.EndDate, tc.wantStart, tc.wantEnd)
		}
		if err := e.resolveDates(t.Context(), tx, &u); err != nil || !u.StartDate.Equal(tc.wantStart) || !u.EndDate.Equal(tc.wantEnd) {
			t.Errorf("%s, days %s..%s: resolved to %v..%v (%v), want %v..%v", tc.zone, tc.start, tc.end, u.StartDate, u.EndDate, err, tc.wantStart, tc.wantEnd)
		}
	}
}
