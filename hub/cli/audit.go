package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shiftgate/shiftgate/hub/audit"
)

func (e env) audit(ctx context.Context, args []string) error {
	return e.auditEvery(ctx, args, auditProgressEvery)
}

// auditEvery runs an audit command that reports progress on stderr every
// so many records.
func (e env) auditEvery(ctx context.Context, args []string, every int64) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: audit needs verify or export", errUsage)
	}
	fs := e.flags("audit " + args[0])
	data := fs.String("data", "", "hub data directory")
	var after *int64
	var export, anchor *string
	switch args[0] {
	case "export":
		after = fs.Int64("after", 0, "export only records after this sequence number")
	case "verify":
		export = fs.String("export", "", "verify this file written by audit export (- for stdin) instead of the database; the key is read from --data")
		after = fs.Int64("after", 0, "with --export: the --after the export was made with")
		anchor = fs.String("anchor", "", "also check the trail against a head kept from an earlier verify (SEQ:HASH, as verify prints it): catches records cut off the end, and a trail rewritten or replaced by whoever holds the key")
	default:
		return fmt.Errorf("%w: unknown audit command %q", errUsage, args[0])
	}
	if err := parse(fs, args[1:], "data"); err != nil {
		return err
	}
	var opts []audit.Option
	if anchor != nil && *anchor != "" {
		a, err := audit.ParseAnchor(*anchor)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		opts = append(opts, audit.WithAnchor(a))
	}
	if export != nil && *export != "" {
		// The key alone: an auditor's directory need hold no database.
		return e.verifyExport(*data, *export, *after, append(opts, e.progress("verified", every))...)
	}
	// Read-only: the database may be evidence, and these commands run
	// beside a hub. No migrations, no checkpoint, no write to the file.
	st, err := openHubReadOnly(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "export" {
		w := bufio.NewWriter(e.stdout)
		n, err := audit.Export(ctx, st, *after, w, e.progress("exported", every))
		if err == nil {
			err = w.Flush()
		}
		if cerr := st.Unchanged(); cerr != nil {
			return fmt.Errorf("%w: export again", cerr)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "exported %d audit records\n", n)
		return nil
	}
	key, err := audit.LoadKey(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "verifying the audit chain in %s\n", *data)
	rep, err := audit.Verify(ctx, key, st, append(opts, e.progress("verified", every))...)
	if cerr := st.Unchanged(); cerr != nil {
		// Whatever it found may come of the change: not a verdict.
		return fmt.Errorf("%w: verify again", cerr)
	}
	return e.verified(rep, err, "; restore the database from backup and compare with your exported copy")
}

// verified prints what a verification found: OK with the head, or BROKEN
// with where, exiting 1 (then says what to do).
func (e env) verified(rep audit.Report, err error, then string) error {
	var broken *audit.BrokenError
	if errors.As(err, &broken) {
		fmt.Fprintf(e.stdout, "BROKEN at record %d: %s\n", broken.Seq, broken.Reason)
		if broken.Anchored {
			return &exitError{code: 1, err: fmt.Errorf("%w; the records before it link up, but are not the trail your anchor was taken from: whoever holds audit.key may have rewritten them%s", err, then)}
		}
		return &exitError{code: 1, err: fmt.Errorf("%w; the %d records before it are intact%s", err, rep.Records, then)}
	}
	if err != nil {
		return err
	}
	if rep.HeadSeq == 0 {
		fmt.Fprintln(e.stdout, "OK: 0 records, the trail is empty")
		return nil
	}
	fmt.Fprintf(e.stdout, "OK: %d records, chain intact; head %s\n", rep.Records, rep.Anchor())
	fmt.Fprintf(e.stderr, "keep the head away from this host (a SIEM, a ticket) and check later runs with --anchor %s: without it, records cut off the end or a trail re-sealed with audit.key go unseen\n", rep.Anchor())
	return nil
}

// auditProgressEvery is how many records pass between progress lines.
const auditProgressEvery = 100_000

// progress reports on stderr how far a walk over a large trail has come,
// every so many records.
func (e env) progress(done string, every int64) audit.Option {
	var last int64
	return audit.WithProgress(func(rep audit.Report) {
		if rep.Records/every > last/every {
			fmt.Fprintf(e.stderr, "%s %d records (up to record %d)\n", done, rep.Records, rep.HeadSeq)
		}
		last = rep.Records
	})
}

// verifyExport checks a file written by audit export against the key in
// data, without the database: an auditor's copy, or what a SIEM holds.
func (e env) verifyExport(data, file string, after int64, opts ...audit.Option) error {
	key, err := audit.LoadKey(data)
	if err != nil {
		return err
	}
	var r io.Reader = os.Stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	fmt.Fprintf(e.stderr, "verifying the exported audit records in %s\n", file)
	rep, err := audit.VerifyExport(key, after, r, opts...)
	if err == nil && rep.Records == 0 {
		fmt.Fprintf(e.stdout, "OK: no records after %d\n", after)
		return nil
	}
	then := ""
	var broken *audit.BrokenError
	if errors.As(err, &broken) && rep.Records == 0 && !broken.Anchored {
		// The first line is wrong: most often an export made with
		// --after and verified without it, or with another.
		then = fmt.Sprintf("; if the export was made with audit export --after N, verify it with the same --after (given: %d)", after)
	}
	return e.verified(rep, err, then)
}
