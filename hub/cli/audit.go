package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
)

func (e env) audit(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: audit needs verify or export", errUsage)
	}
	fs := e.flags("audit " + args[0])
	data := fs.String("data", "", "hub data directory")
	var after *int64
	var export *string
	switch args[0] {
	case "export":
		after = fs.Int64("after", 0, "export only records after this sequence number")
	case "verify":
		export = fs.String("export", "", "verify this file written by audit export (- for stdin) instead of the database; the key is read from --data")
		after = fs.Int64("after", 0, "with --export: the --after the export was made with")
	default:
		return fmt.Errorf("%w: unknown audit command %q", errUsage, args[0])
	}
	if err := parse(fs, args[1:], "data"); err != nil {
		return err
	}
	if err := existingHub(*data); err != nil {
		return err
	}
	if export != nil && *export != "" {
		return e.verifyExport(*data, *export, *after)
	}
	st, err := hub.OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "export" {
		w := bufio.NewWriter(e.stdout)
		n, err := audit.Export(ctx, st, *after, w)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "exported %d audit records\n", n)
		return w.Flush()
	}
	key, err := audit.LoadKey(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "verifying the audit chain in %s\n", *data)
	rep, err := audit.Verify(ctx, key, st)
	return e.verified(rep, err, "; restore the database from backup and compare with your exported copy")
}

// verified prints what a verification found: OK with the head, or BROKEN
// with where, exiting 1 (then says what to do).
func (e env) verified(rep audit.Report, err error, then string) error {
	var broken *audit.BrokenError
	if errors.As(err, &broken) {
		fmt.Fprintf(e.stdout, "BROKEN at record %d: %s\n", broken.Seq, broken.Reason)
		return &exitError{code: 1, err: fmt.Errorf("%w; the %d records before it are intact%s", err, rep.Records, then)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "OK: %d records, chain intact; head %d %s\n", rep.Records, rep.HeadSeq, hex.EncodeToString(rep.HeadHash))
	return nil
}

// verifyExport checks a file written by audit export against the key in
// data, without the database: an auditor's copy, or what a SIEM holds.
func (e env) verifyExport(data, file string, after int64) error {
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
	rep, err := audit.VerifyExport(key, after, bufio.NewReader(r))
	if err == nil && rep.Records == 0 {
		fmt.Fprintf(e.stdout, "OK: no records after %d\n", after)
		return nil
	}
	return e.verified(rep, err, "")
}
