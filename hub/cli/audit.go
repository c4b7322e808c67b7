package cli

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"

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
	if args[0] == "export" {
		after = fs.Int64("after", 0, "export only records after this sequence number")
	}
	if args[0] != "verify" && args[0] != "export" {
		return fmt.Errorf("%w: unknown audit command %q", errUsage, args[0])
	}
	if err := parse(fs, args[1:], "data"); err != nil {
		return err
	}
	if err := existingHub(*data); err != nil {
		return err
	}
	st, err := hub.OpenStore(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if after != nil {
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
	var broken *audit.BrokenError
	if errors.As(err, &broken) {
		fmt.Fprintf(e.stdout, "BROKEN at record %d: %s\n", broken.Seq, broken.Reason)
		return &exitError{code: 1, err: fmt.Errorf("%w; the %d records before it are intact; restore the database from backup and compare with your exported copy", err, rep.Records)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "OK: %d records, chain intact; head %d %s\n", rep.Records, rep.HeadSeq, hex.EncodeToString(rep.HeadHash))
	return nil
}
