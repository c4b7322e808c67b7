package governance_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A report for a period counts only the joiners whose clock started, the
// leavers whose leaver event came and the review campaigns due in it: an
// auditor's quarter is not the hub's whole history.
func TestNumbersForAPeriod(t *testing.T) {
	e := newEnv(t, t0)
	minute, day := time.Minute, 24*time.Hour
	q1 := governance.Period{Since: t0.Add(-day), Until: t0.Add(30 * day)}
	q2 := governance.Period{Since: t0.Add(30 * day), Until: t0.Add(60 * day)}

	// Period one: ann joins, ready in 5 minutes; a campaign over her
	// access, due in the period, left undecided.
	ann := e.user("ann", []string{"north"}, nil)
	e.group("Nurse", ann.ID)
	e.at(t0.Add(5 * minute)).badge(ann.ID)
	e.itemsOf("january")

	// Period two: bo joins, ready in 10 minutes; ann leaves, with no
	// session live (done at once); a campaign due in it, decided.
	bo := e.at(t0.Add(40*day)).user("bo", []string{"north"}, nil)
	e.group("Nurse", bo.ID)
	e.at(t0.Add(40*day + 10*minute)).badge(bo.ID)
	e.at(t0.Add(41*day)).update(ann.ID, func(u *store.User) { u.Active = false })
	for _, it := range e.itemsOf("february") {
		if _, err := e.gov.Decide(context.Background(), decider, it.ID, governance.DecisionKeep, "still on the ward"); err != nil {
			t.Fatal(err)
		}
	}
	e.at(t0.Add(70 * day))

	numbers := func(p governance.Period) governance.Report {
		t.Helper()
		r, err := e.gov.NumbersIn(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	all, one, two := numbers(governance.Period{}), numbers(q1), numbers(q2)
	if all.Period != nil || one.Period == nil || !one.Period.Since.Equal(q1.Since) {
		t.Errorf("period in the reports: all %+v, q1 %+v", all.Period, one.Period)
	}
	if all.TimeToProvision.Count != 2 || one.TimeToProvision.Count != 1 || two.TimeToProvision.Count != 1 {
		t.Fatalf("joiners measured: all %d, q1 %d, q2 %d; want 2, 1, 1", all.TimeToProvision.Count, one.TimeToProvision.Count, two.TimeToProvision.Count)
	}
	if *one.TimeToProvision.Max != 300 || *two.TimeToProvision.Max != 600 {
		t.Errorf("time to provision: q1 %v, q2 %v; want 300 and 600", *one.TimeToProvision.Max, *two.TimeToProvision.Max)
	}
	if one.TimeToDeprovision.Count != 0 || two.TimeToDeprovision.Count != 1 || all.TimeToDeprovision.Count != 1 {
		t.Errorf("leavers measured: all %d, q1 %d, q2 %d; want 1, 0, 1", all.TimeToDeprovision.Count, one.TimeToDeprovision.Count, two.TimeToDeprovision.Count)
	}
	if one.Counts.ReviewItemsDue == 0 || one.Counts.ReviewItemsOnTime != 0 || two.Counts.ReviewItemsOnTime != two.Counts.ReviewItemsDue || two.Counts.ReviewItemsDue == 0 ||
		all.Counts.ReviewItemsDue != one.Counts.ReviewItemsDue+two.Counts.ReviewItemsDue {
		t.Errorf("review items (on time/due): all %d/%d, q1 %d/%d, q2 %d/%d", all.Counts.ReviewItemsOnTime, all.Counts.ReviewItemsDue,
			one.Counts.ReviewItemsOnTime, one.Counts.ReviewItemsDue, two.Counts.ReviewItemsOnTime, two.Counts.ReviewItemsDue)
	}
	if one.Counts.Accounts != all.Counts.Accounts {
		t.Errorf("accounts counted for the orphan rate: q1 %d, all %d; the rate is the current state's", one.Counts.Accounts, all.Counts.Accounts)
	}
	var csv bytes.Buffer
	if err := governance.WriteReportCSV(&csv, one); err != nil {
		t.Fatal(err)
	}
	if want := "metric,statistic,value\nperiod,since,2026-01-04T08:00:00Z\nperiod,until,2026-02-04T08:00:00Z\n"; !strings.HasPrefix(csv.String(), want) {
		t.Errorf("CSV of a period's report starts\n%s\nwant\n%s", csv.String()[:min(len(csv.String()), len(want))], want)
	}
}

func TestParsePeriod(t *testing.T) {
	p, err := governance.ParsePeriod("2026-07-01", "2026-09-30")
	if err != nil || !p.Since.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)) || !p.Until.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("third quarter by dates = %+v, %v; want [1 July, 1 October)", p, err)
	}
	p, err = governance.ParsePeriod("", "2026-09-30T12:00:00+02:00")
	if err != nil || !p.Since.IsZero() || !p.Until.Equal(time.Date(2026, 9, 30, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("open since, RFC 3339 until = %+v, %v", p, err)
	}
	for _, tc := range [][2]string{{"yesterday", ""}, {"", "2026-13-01"}, {"2026-09-30", "2026-07-01"}, {"2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z"}} {
		if _, err := governance.ParsePeriod(tc[0], tc[1]); err == nil {
			t.Errorf("ParsePeriod(%q, %q) accepted", tc[0], tc[1])
		}
	}
}
