package governance

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteFindingsCSV writes findings as CSV with a header row:
// id,kind,rule,user_id,user,entitlement,since,remediation,detail.
// since is RFC 3339 or empty. User names, entitlements and details come
// from the identity provider, and the file is meant for spreadsheets:
// every cell is valid UTF-8 (a run of invalid bytes becomes U+FFFD, as in
// the evidence CSV), and a cell a spreadsheet would run as a formula gets
// a leading single quote (see textCell).
func WriteFindingsCSV(w io.Writer, fs []Finding) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "kind", "rule", "user_id", "user", "entitlement", "since", "remediation", "detail"})
	for _, f := range fs {
		since := ""
		if f.Since != nil {
			since = f.Since.UTC().Format(time.RFC3339Nano)
		}
		row := []string{f.ID, f.Kind, f.Rule, f.UserID, f.User, f.Entitlement, since, f.Remediation, f.Detail}
		for i := range row {
			row[i] = textCell(strings.ToValidUTF8(row[i], "\uFFFD"))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// textCell keeps a spreadsheet from reading s as a formula (CSV
// injection): a cell that starts with = + - or @, or with a tab or a
// carriage return (which spreadsheets may drop before looking), gets a
// leading single quote, which they show as text. Other cells are
// unchanged.
func textCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// WriteReportCSV writes the report as CSV rows of metric,statistic,value
// with a header row. A value that was not measured is empty, never 0.
func WriteReportCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	cw.Write([]string{"metric", "statistic", "value"})
	if p := r.Period; p != nil {
		bound := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			// Exact, as in the JSON: a bound with a fraction of a
			// second is the instant the report was counted from.
			return t.UTC().Format(time.RFC3339Nano)
		}
		cw.Write([]string{"period", "since", bound(p.Since)})
		cw.Write([]string{"period", "until", bound(p.Until)})
	}
	for _, d := range []struct {
		name string
		d    Durations
	}{{"time_to_provision_seconds", r.TimeToProvision}, {"time_to_deprovision_seconds", r.TimeToDeprovision}} {
		cw.Write([]string{d.name, "p50", num(d.d.P50)})
		cw.Write([]string{d.name, "p95", num(d.d.P95)})
		cw.Write([]string{d.name, "max", num(d.d.Max)})
		cw.Write([]string{d.name, "count", strconv.Itoa(d.d.Count)})
		cw.Write([]string{d.name, "sum", strconv.FormatFloat(d.d.Sum, 'f', -1, 64)})
		cw.Write([]string{d.name, "pending", strconv.Itoa(d.d.Pending)})
	}
	cw.Write([]string{"orphaned_account_rate", "value", num(r.OrphanedAccountRate)})
	cw.Write([]string{"orphaned_account_rate", "orphaned_accounts", strconv.Itoa(r.Counts.OrphanedAccounts)})
	cw.Write([]string{"orphaned_account_rate", "accounts", strconv.Itoa(r.Counts.Accounts)})
	cw.Write([]string{"access_review_completion_rate", "value", num(r.AccessReviewCompletionRate)})
	cw.Write([]string{"access_review_completion_rate", "items_due", strconv.Itoa(r.Counts.ReviewItemsDue)})
	cw.Write([]string{"access_review_completion_rate", "items_decided_on_time", strconv.Itoa(r.Counts.ReviewItemsOnTime)})
	cw.Flush()
	return cw.Error()
}
