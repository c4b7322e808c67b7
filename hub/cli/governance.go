package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

// cliActor is who the audit log names for changes made from the command line.
var cliActor = lifecycle.Actor{Name: "cli", System: "cli"}

// withGovernance opens the data directory's governance service for fn.
// Decisions and remediations, which end sessions on kiosks, are left to
// the API of the running hub: only it can push them.
func withGovernance(ctx context.Context, dir string, fn func(*governance.Service) error) error {
	return withAudit(ctx, dir, func(st store.Store, log *audit.Log) error {
		// The login policy as stored: which roles are privileged decides
		// what a privileged review covers.
		rules, err := storedRules(ctx, st)
		if err != nil {
			return err
		}
		eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now, Rules: rules})
		if err != nil {
			return err
		}
		g, err := governance.New(governance.Config{Store: st, Audit: log, Engine: eng, Now: time.Now})
		if err != nil {
			return err
		}
		return fn(g)
	})
}

// storedRules returns the login policy the hub stored, or the defaults a
// hub starts with when none is stored yet.
func storedRules(ctx context.Context, st store.Store) (policy.Rules, error) {
	pv, err := st.GetPolicy(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return policy.DefaultRules(), nil
	}
	if err != nil {
		return policy.Rules{}, err
	}
	rules, err := policy.ParseDocument(pv.Document)
	if err != nil {
		return policy.Rules{}, fmt.Errorf("stored login policy version %d: %w", pv.Version, err)
	}
	return rules, nil
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// usageErr marks a bad value as a usage error; other errors pass through.
func usageErr(err error) error {
	if errors.Is(err, lifecycle.ErrInvalid) {
		return fmt.Errorf("%w: %s", errUsage, invalidText(err))
	}
	return err
}

// invalidText is the message of a lifecycle.ErrInvalid error without
// that error's own prefix: what is wrong, for the command line.
func invalidText(err error) string {
	return strings.TrimPrefix(err.Error(), lifecycle.ErrInvalid.Error()+": ")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func checkFormat(f string, allowed ...string) error {
	for _, a := range allowed {
		if f == a {
			return nil
		}
	}
	return fmt.Errorf("%w: --format %q: use %s", errUsage, f, strings.Join(allowed, " or "))
}

func (e env) review(ctx context.Context, args []string) error {
	return e.reviewWith(ctx, args, nil, governance.MaxItemCount)
}

// reviewWith is review with the ticks of review show's progress lines
// given (longProgress; nil ticks every backupProgressEvery) and the items
// it reads a page (governance.MaxItemCount for the command).
func (e env) reviewWith(ctx context.Context, args []string, ticks <-chan time.Time, page int) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: review needs start, list, show or run", errUsage)
	}
	fs := e.flags("review " + args[0])
	data := fs.String("data", "", "hub data directory")
	switch args[0] {
	case "start":
		name := fs.String("name", "", "campaign name")
		due := fs.String("due", "", "due date: 2026-12-01 (end of that day, UTC) or RFC 3339")
		var sites, roles listFlag
		fs.Var(&sites, "site", "review only this site (repeat for several)")
		fs.Var(&roles, "role", "review only this role (repeat for several)")
		priv := fs.Bool("privileged", false, "review only privileged roles")
		ext := fs.Bool("external", false, "review only contractors, vendors and temps")
		if err := parse(fs, args[1:], "data", "name", "due"); err != nil {
			return err
		}
		d, err := governance.ParseDue(*due)
		if err != nil {
			return usageErr(err)
		}
		req := governance.CampaignRequest{Name: *name, Due: d, Scope: store.ReviewScope{Sites: sites, Roles: roles, Privileged: *priv, External: *ext}}
		// Before the hub is opened: a mistake changes nothing in --data.
		// Check is every rule StartCampaign has for the flags' values
		// (name, due date, scope lists and names): none is left for
		// after the hub is opened.
		if err := req.Check(time.Now()); err != nil {
			return fmt.Errorf("%w: review start: %s", errUsage, invalidText(err))
		}
		return withGovernance(ctx, *data, func(g *governance.Service) error {
			c, err := g.StartCampaign(ctx, cliActor, req)
			if err != nil {
				return usageErr(err)
			}
			fmt.Fprintf(e.stderr, "started campaign %q with %d items, due %s\n", c.Name, c.Progress.Total, c.Due.Format(time.RFC3339))
			fmt.Fprintln(e.stdout, c.ID)
			return nil
		})
	case "list":
		format := fs.String("format", "text", "text or json")
		if err := parse(fs, args[1:], "data"); err != nil {
			return err
		}
		if err := checkFormat(*format, "text", "json"); err != nil {
			return err
		}
		return e.withReports(ctx, *data, func(g *governance.Service, e env) error {
			o, err := g.Campaigns(ctx)
			if err != nil {
				return err
			}
			if *format == "json" {
				return writeJSON(e.stdout, o)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tDUE\tITEMS\tDECIDED\tESCALATED\tCOMPLETION\tOVERDUE")
			for _, c := range o.Campaigns {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%v\n", c.ID, shown(c.Name), c.Due.Format(time.RFC3339), c.Progress.Total,
					c.Progress.Decided, c.Progress.Escalated, percent(c.Progress.CompletionRate), c.Overdue)
			}
			return tw.Flush()
		})
	case "show":
		id := fs.String("id", "", "campaign ID (from review list)")
		format := fs.String("format", "text", "text, json, or csv (the evidence export: one row per item with its audit record)")
		out := fs.String("out", "", "with --format csv, the file to write (replaced only by a complete export) instead of stdout")
		if err := parse(fs, args[1:], "data", "id"); err != nil {
			return err
		}
		if err := checkFormat(*format, "text", "json", "csv"); err != nil {
			return err
		}
		if *out != "" && *format != "csv" {
			return fmt.Errorf("%w: review show: --out is for --format csv", errUsage)
		}
		return e.withReports(ctx, *data, func(g *governance.Service, e env) error {
			notFound := func(err error) error {
				if errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("no campaign %s: see 'shiftgate-hub review list --data %s'", *id, *data)
				}
				return err
			}
			if *format == "csv" {
				// Read a page of items at a time, as the items of the
				// other formats are (showCampaign), but written whole
				// or not at all (evidenceCSV).
				return notFound(e.evidenceCSV(ctx, g, *id, *out))
			}
			prog, stop := e.longProgress(ticks)
			defer stop()
			// Through a temporary file, as the CSV: what readHub holds
			// back of a campaign of tens of thousands of items is tens
			// of megabytes, which it held in memory.
			return notFound(e.spoolStdout("review-show", func(w io.Writer) error {
				return showCampaignProgress(ctx, w, g, *id, *format, page, prog)
			}))
		})
	case "run":
		if err := parse(fs, args[1:], "data"); err != nil {
			return err
		}
		return withGovernance(ctx, *data, func(g *governance.Service) error {
			out, err := g.RunDueAs(ctx, cliActor)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "started %d default campaigns, escalated %d overdue items, handed on %d items of reviewers who left\n", len(out.Campaigns), out.Escalated, out.Reassigned)
			return writeJSON(e.stdout, out)
		})
	}
	return fmt.Errorf("%w: unknown review command %q", errUsage, args[0])
}

// campaignPages reads a campaign's items a page at a time: what
// showCampaign needs of governance.Service.
type campaignPages interface {
	CampaignItems(ctx context.Context, id string, p governance.ItemPage) (governance.CampaignPage, error)
}

// showCampaign writes campaign id with every one of its items to w, as
// text or as the JSON of governance.CampaignView, reading and writing
// them size at a time (governance.CampaignItems, in the campaign's
// order): a campaign over a large site has tens of thousands of items,
// which the command held all at once, with the deleted users of every
// one of them. The JSON is what the whole CampaignView encodes to, byte
// for byte; the text aligns its columns a page at a time.
func showCampaign(ctx context.Context, w io.Writer, g campaignPages, id, format string, size int) error {
	return showCampaignProgress(ctx, w, g, id, format, size, progressLines{})
}

// showCampaignProgress is showCampaign that says on prog how many of the
// items it has written.
func showCampaignProgress(ctx context.Context, w io.Writer, g campaignPages, id, format string, size int, prog progressLines) error {
	c, err := g.CampaignItems(ctx, id, governance.ItemPage{StartIndex: 1, Count: size})
	if err != nil {
		return err
	}
	// each calls fn with c's items and then every later page's.
	each := func(fn func([]governance.ItemView) error) error {
		for p := c; len(p.Items) > 0; {
			if err := fn(p.Items); err != nil {
				return err
			}
			next := p.StartIndex + len(p.Items)
			prog.step(func() string {
				return fmt.Sprintf("review show: %d of %d items written", next-1, p.TotalResults)
			})
			if next > p.TotalResults {
				return nil
			}
			if p, err = g.CampaignItems(ctx, id, governance.ItemPage{StartIndex: next, Count: size}); err != nil {
				return err
			}
		}
		return nil
	}
	if format == "json" {
		return writeCampaignJSON(w, c, each)
	}
	fmt.Fprintf(w, "%s  due %s  %d/%d decided (%s)\n\n", shown(c.Name), c.Due.Format(time.RFC3339), c.Progress.Decided, c.Progress.Total, percent(c.Progress.CompletionRate))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ITEM\tUSER\tKIND\tENTITLEMENT\tREVIEWER\tDECISION\tESCALATED")
	err = each(func(items []governance.ItemView) error {
		for _, it := range items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", it.ID, shown(it.User), shown(it.Kind), shown(it.Entitlement), shown(it.Reviewer), it.Decision, stampPtr(it.Escalated))
		}
		// Flushed each page: the tabwriter holds what it has not.
		return tw.Flush()
	})
	if err != nil {
		return err
	}
	return tw.Flush() // the header of a campaign without items
}

// writeCampaignJSON writes what writeJSON writes of c's CampaignView
// with every item each gives it in Items, an item at a time: the view
// without items, then its last field, "items", spliced in before its
// closing brace (omitted when there are none, as omitempty does).
func writeCampaignJSON(w io.Writer, c governance.CampaignPage, each func(func([]governance.ItemView) error) error) error {
	head, err := json.MarshalIndent(c.CampaignView, "", "  ")
	if err != nil {
		return err
	}
	if len(c.Items) == 0 {
		_, err := fmt.Fprintf(w, "%s\n", head)
		return err
	}
	head = bytes.TrimSuffix(head, []byte("\n}"))
	if _, err := fmt.Fprintf(w, "%s,\n  \"items\": [", head); err != nil {
		return err
	}
	sep := "\n    "
	err = each(func(items []governance.ItemView) error {
		for _, it := range items {
			b, err := json.MarshalIndent(it, "    ", "  ")
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s%s", sep, b); err != nil {
				return err
			}
			sep = ",\n    "
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n  ]\n}\n")
	return err
}

func (e env) findings(ctx context.Context, args []string) error {
	return e.findingsTicks(ctx, args, nil)
}

// findingsTicks is findings with the ticks of its progress lines given
// (longProgress); nil ticks every backupProgressEvery.
func (e env) findingsTicks(ctx context.Context, args []string, ticks <-chan time.Time) error {
	fs := e.flags("findings")
	data := fs.String("data", "", "hub data directory")
	format := fs.String("format", "json", "json or csv")
	days := fs.String("dormant-days", "", fmt.Sprintf("days without a login that make an account dormant (default %d)", int(governance.DefaultDormantAfter/(24*time.Hour))))
	if err := parse(fs, args, "data"); err != nil {
		return err
	}
	if err := checkFormat(*format, "json", "csv"); err != nil {
		return err
	}
	dormant, err := governance.ParseDormantDays(*days)
	if err != nil {
		return usageErr(err)
	}
	return e.withTrailReport(ctx, *data, "findings", ticks, func(g *governance.Service, e env) error {
		list, err := g.Findings(ctx, governance.FindingsOptions{DormantAfter: dormant})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%d findings\n", len(list))
		if *format == "csv" {
			return governance.WriteFindingsCSV(e.stdout, list)
		}
		return writeJSON(e.stdout, map[string]any{"generated_at": time.Now().UTC(), "findings": list})
	})
}

func (e env) report(ctx context.Context, args []string) error {
	return e.reportTicks(ctx, args, nil)
}

// reportTicks is report with the ticks of its progress lines given
// (longProgress); nil ticks every backupProgressEvery.
func (e env) reportTicks(ctx context.Context, args []string, ticks <-chan time.Time) error {
	fs := e.flags("report")
	data := fs.String("data", "", "hub data directory")
	format := fs.String("format", "json", "json or csv")
	since := fs.String("since", "", "count only joiners, leavers and review campaigns from this date (2026-07-01, UTC) or time (RFC 3339)")
	until := fs.String("until", "", "… up to this date, included (2026-09-30), or before this time (RFC 3339)")
	if err := parse(fs, args, "data"); err != nil {
		return err
	}
	if err := checkFormat(*format, "json", "csv"); err != nil {
		return err
	}
	period, err := governance.ParsePeriod(*since, *until)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return e.withTrailReport(ctx, *data, "report", ticks, func(g *governance.Service, e env) error {
		rep, err := g.NumbersIn(ctx, period)
		if err != nil {
			return err
		}
		if *format == "csv" {
			return governance.WriteReportCSV(e.stdout, rep)
		}
		return writeJSON(e.stdout, rep)
	})
}

// withTrailReport is withReports for a report that folds the whole audit
// trail (findings, report: who moved, joined and left, and when), with
// progress lines of how much of it is read: millions of records on a hub
// of some years, read for minutes before the report prints a line.
func (e env) withTrailReport(ctx context.Context, dir, what string, ticks <-chan time.Time, fn func(g *governance.Service, e env) error) error {
	return e.readHub(ctx, dir, func(st *sqlite.ReadOnly, e env) error {
		prog, stop := e.longProgress(ticks)
		defer stop()
		g, err := reportService(ctx, &trailReads{Store: st, p: prog, what: what})
		if err != nil {
			return err
		}
		return fn(g, e)
	})
}

// trailReads is a store.Store that counts the audit records read through
// it, for withTrailReport's progress lines.
type trailReads struct {
	store.Store
	p       progressLines
	what    string
	records int
	seq     int64 // of the last record read
}

func (s *trailReads) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditRecord, error) {
	recs, err := s.Store.ListAudit(ctx, q)
	if err == nil && len(recs) > 0 {
		s.records += len(recs)
		s.seq = recs[len(recs)-1].Seq
		s.p.step(func() string {
			return fmt.Sprintf("%s: read %d audit records (up to record %d)", s.what, s.records, s.seq)
		})
	}
	return recs, err
}

// evidenceTotals says on stderr what the CSV leaves to the JSON form: the
// campaign's totals, and how many rows the audit trail does not back.
func (e env) evidenceTotals(ev governance.Evidence) {
	t := ev.Totals
	fmt.Fprintf(e.stderr, "campaign %q: %d items, %d decided (%d kept, %d revoked, %d already gone), %d pending, completion %s; audit head %s\n",
		ev.Campaign.Name, t.Items, t.Decided, t.Kept, t.Revoked, t.Gone, t.Pending, percent(t.CompletionRate), ev.AuditHead)
	if t.AuditUnmatched > 0 {
		fmt.Fprintf(e.stderr, "warning: %d items do not match their review.decide audit record (audit_check missing or mismatch)\n", t.AuditUnmatched)
	}
}

func percent(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", *r*100)
}

func stampPtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return stamp(*t)
}

var _ flag.Value = (*listFlag)(nil)
