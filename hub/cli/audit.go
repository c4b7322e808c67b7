package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
)

func (e env) audit(ctx context.Context, args []string) error {
	return e.auditEvery(ctx, args, auditProgressEvery)
}

// auditEvery runs an audit command that reports progress on stderr every
// so many records.
func (e env) auditEvery(ctx context.Context, args []string, every int64) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: audit needs verify, export, public-key or reindex", errUsage)
	}
	switch args[0] {
	case "public-key":
		return e.auditPublicKey(args[1:])
	case "reindex":
		return e.auditReindex(ctx, args[1:], every)
	}
	fs := e.flags("audit " + args[0])
	data := fs.String("data", "", "hub data directory")
	var after *int64
	export, anchor, pubFile, checkpoints := new(string), new(string), new(string), new(string)
	switch args[0] {
	case "export":
		after = fs.Int64("after", 0, "export only records after this sequence number")
	case "verify":
		fs.StringVar(export, "export", "", "verify this file written by audit export (- for stdin) instead of the database, with the key in --data, or the public key in --public-key, or both")
		after = fs.Int64("after", 0, "with --export: the --after the export was made with")
		fs.StringVar(anchor, "anchor", "", "also check the trail against a head kept from an earlier verify (SEQ:HASH, as verify prints it): catches records cut off the end, and a trail rewritten or replaced by whoever holds the key")
		fs.StringVar(pubFile, "public-key", "", "with --export: check the export's signature with this public key (PEM, as audit public-key prints it); without --data, nothing else is needed: no audit.key. With --checkpoints: the key the checkpoints are signed with")
		fs.StringVar(checkpoints, "checkpoints", "", "with --data and --public-key: also check the trail against the newest signed checkpoint in this log of the hub's (JSON lines, as a SIEM keeps them): catches records cut off the end, and a trail rewritten by whoever holds audit.key")
	default:
		return fmt.Errorf("%w: unknown audit command %q", errUsage, args[0])
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	// Every mistake in the command line before any file is opened.
	switch {
	case *checkpoints != "" && (*export != "" || *pubFile == ""):
		return fmt.Errorf("%w: %s: --checkpoints checks the database (--data) with the public key they are signed with: give --public-key FILE, and no --export", errUsage, fs.Name())
	case *export == "" && *pubFile != "" && *checkpoints == "":
		return fmt.Errorf("%w: %s: --public-key checks an export or checkpoints: give --export FILE or --checkpoints FILE", errUsage, fs.Name())
	case *export == "" && *data == "":
		return fmt.Errorf("%w: %s needs --data", errUsage, fs.Name())
	case *export != "" && *data == "" && *pubFile == "":
		return fmt.Errorf("%w: %s: --export needs --public-key (the hub's public key) or --data (a directory holding audit.key)", errUsage, fs.Name())
	case args[0] == "verify" && *export == "" && *after != 0:
		return fmt.Errorf("%w: %s: --after goes with --export (a verify of the database checks every record)", errUsage, fs.Name())
	case *after < 0:
		return fmt.Errorf("%w: %s: --after %d: a sequence number, 0 or more", errUsage, fs.Name(), *after)
	}
	var opts []audit.Option
	var given int64 // the highest record an anchor given on the command line names
	if *anchor != "" {
		a, err := audit.ParseAnchor(*anchor)
		if err != nil {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		opts = append(opts, audit.WithAnchor(a))
		given = a.Seq
	}
	if *checkpoints != "" {
		heads, err := e.checkpointAnchors(*checkpoints, *pubFile)
		if err != nil {
			return err
		}
		for _, a := range heads {
			opts = append(opts, audit.WithAnchor(a))
			given = max(given, a.Seq)
		}
	}
	if *export != "" {
		// The key or the public key alone: an auditor's directory need
		// hold no database.
		return e.verifyExport(*data, *pubFile, *export, *after, append(opts, e.progress("verified", every))...)
	}
	// Read-only: the database may be evidence, and these commands run
	// beside a hub. No migrations, no checkpoint, no write to the file.
	st, err := openHubReadOnly(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "export" {
		return e.export(ctx, st, *data, *after, every)
	}
	key, err := audit.LoadKey(*data)
	if err != nil {
		return err
	}
	// Read before the records: the hub wrote it after the record it
	// names was committed, so every read from here on has that record.
	head, ok, err := audit.LoadHead(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "verifying the audit chain in %s\n", *data)
	if ok {
		fmt.Fprintf(e.stderr, "also against %s, the newest record the hub checked: %s\n", audit.HeadFile, head)
		opts = append(opts, audit.WithAnchor(head))
	}
	rep, err := audit.Verify(ctx, key, st, append(opts, e.progress("verified", every))...)
	// The search indexes too: the chain does not cover them, and an
	// index edited in hub.db hides records from searches by user or
	// action, or shows them under another, with every record intact.
	ierr := st.CheckAuditIndexes(ctx)
	if cerr := st.Unchanged(); cerr != nil {
		// Whatever it found may come of the change: not a verdict.
		return fmt.Errorf("%w: verify again", cerr)
	}
	var badIndex *store.AuditIndexError
	if ierr != nil && !errors.As(ierr, &badIndex) {
		return ierr
	}
	then := "; restore the database from backup and compare with your exported copy"
	var broken *audit.BrokenError
	if errors.As(err, &broken) {
		var headSeq int64 // audit.head's record, when it is the anchor the trail ends before
		if ok && head.Seq > rep.HeadSeq && head.Seq >= given {
			headSeq = head.Seq
		}
		then = rolledBack(ctx, st, rep, broken, headSeq, then)
		if badIndex != nil {
			then += "; besides, " + badIndex.Error()
		}
	}
	if err == nil && badIndex != nil {
		return e.badIndex(rep, badIndex, *data)
	}
	return e.verified(rep, err, true, then)
}

// badIndex reports search indexes of an intact trail that disagree with
// its records (CheckAuditIndexes), exiting 1: nothing the hub writes
// leaves them so, and what someone wrote instead misleads whoever searches
// the trail by user or action.
func (e env) badIndex(rep audit.Report, bad *store.AuditIndexError, data string) error {
	fmt.Fprintf(e.stdout, "BROKEN: %s\n", bad)
	chain := "the trail is empty"
	if rep.HeadSeq > 0 {
		chain = fmt.Sprintf("%d records, head %s", rep.Records, rep.Anchor())
	}
	return &exitError{code: 1, err: fmt.Errorf("%w; the hash chain is intact (%s): no record was changed, but searches by user or action (the console's audit trail of a user, the audit page's filters) show records under the wrong user or action, or miss them: hub.db was written outside the hub, treat it as an incident; %s", bad, chain, reindexAdvice(data))}
}

// reindexAdvice says how to rebuild the audit search indexes of the hub in
// data from its records: audit reindex, which keeps a copy of hub.db
// aside as evidence first (see auditReindex).
func reindexAdvice(data string) string {
	return fmt.Sprintf("the indexes are rebuilt from the records: stop the hub and run shiftgate-hub audit reindex --data %s, which keeps a copy of %s aside as evidence first, rebuilds them, records the rebuild in the trail and checks them; then start the hub again",
		data, hub.DBFile)
}

// rolledBack is what audit verify of the database says after a break
// that a restore from an older backup leaves too, in place of otherwise:
// a trail that ends before an anchor (audit.head, whose record is headSeq
// when it is that anchor, or one given), or that
// has another record where an anchor was taken (it grew again after the
// restore). Telling the operator to restore a backup would be wrong after
// one; what tells a restore from records cut off or rewritten is when a
// backup was restored, and the rollbacks the hub's audit watch recorded
// in the trail (recordedRollbacks), which it names. Other breaks (a
// record edited or removed inside) get otherwise.
func rolledBack(ctx context.Context, st store.Store, rep audit.Report, broken *audit.BrokenError, headSeq int64, otherwise string) string {
	end, _, err := st.AuditHead(ctx)
	if err != nil {
		return otherwise
	}
	cut := !broken.Anchored && broken.Seq == rep.HeadSeq+1 && end == rep.HeadSeq
	if !cut && !broken.Anchored {
		return otherwise
	}
	rollbacks, err := recordedRollbacks(ctx, st, broken.Seq)
	if err != nil {
		return otherwise
	}
	var b strings.Builder
	switch {
	case cut && headSeq > 0:
		fmt.Fprintf(&b, "; records %d to %d, which the hub had checked (%s), are gone: a database restored from an older backup looks just like this until the hub has recorded the rollback: if one was restored, start the hub, which records it in the trail (audit.alert) and goes on from the restored trail, then verify again", rep.HeadSeq+1, headSeq, audit.HeadFile)
	case cut:
		fmt.Fprintf(&b, "; records after %d are gone: a database restored from a backup older than the anchor looks just like this: if one was restored, verify against the head the backup printed instead", rep.HeadSeq)
	}
	switch {
	case len(rollbacks) > 0:
		if broken.Anchored {
			b.WriteString("; or a backup was restored after the anchor was taken")
		}
		what := "a rollback"
		if len(rollbacks) > 1 {
			what = "rollbacks"
		}
		fmt.Fprintf(&b, "; the trail records %s by the hub's audit watch, as a restore from an older backup leaves: %s: if the anchor was taken before that, the restore is why it no longer matches: verify against the backup's head, and anchors taken since, instead",
			what, strings.Join(rollbacks, "; "))
	case !cut:
		return otherwise
	}
	b.WriteString("; if nobody restored a backup, treat it as tampering: keep this database aside as evidence and compare its trail with your exported copy")
	return b.String()
}

// recordedRollbacks describes the audit.alert records of the hub's audit
// watch that say the trail was rolled back (records checked before were
// gone or replaced, and the trail as it then stood verified: what a
// restore from an older backup leaves) to a record before seq, the
// newest three. An alert after seq is past the break, so not checked:
// it says so.
func recordedRollbacks(ctx context.Context, st store.Store, seq int64) ([]string, error) {
	alerts, err := st.ListAudit(ctx, store.AuditQuery{Action: "audit.alert"})
	if err != nil {
		return nil, err
	}
	var found []string
	for _, r := range alerts {
		var d struct {
			Checked    string `json:"checked"`
			WholeTrail string `json:"whole_trail"`
		}
		if r.Actor != "audit-watch" || json.Unmarshal(r.Detail, &d) != nil || !strings.HasPrefix(d.WholeTrail, "verifies") {
			continue
		}
		// "verifies, N records, head SEQ:HASH": the trail it went on from.
		_, h, _ := strings.Cut(d.WholeTrail, "head ")
		to, err := audit.ParseAnchor(h)
		if err != nil || to.Seq >= seq {
			continue
		}
		s := fmt.Sprintf("record %d (audit.alert, %s): rolled back to record %d", r.Seq, r.Time.UTC().Format(time.RFC3339), to.Seq)
		if d.Checked != "" {
			s += fmt.Sprintf(", the record %s it had checked gone", d.Checked)
		}
		if r.Seq > seq {
			s += " (after the break: not checked)"
		}
		found = append(found, s)
	}
	return found[max(0, len(found)-3):], nil
}

// export writes the records after `after` on stdout, signed with the
// signing key in data when it has one (and audit.key, which the records
// are checked against before they are signed, and audit.head, which the
// trail must still hold: records cut off the end leave the rest intact
// under the key, and the hub must not sign a trail its audit verify calls
// broken).
func (e env) export(ctx context.Context, st *sqlite.ReadOnly, data string, after, every int64) error {
	opts := []audit.Option{e.progress("exported", every)}
	signer, err := audit.LoadSigner(data)
	var (
		key    []byte
		anchor string // what the trail was checked against, for a refusal
	)
	if err == nil {
		// The records are checked against it before they are signed.
		key, err = audit.LoadKey(data)
	}
	switch {
	case err == nil:
		opts = append(opts, audit.WithSigner(signer, key))
		// Read before the records, as verify reads it: the hub wrote it
		// after the record it names was committed.
		head, ok, herr := audit.LoadHead(data)
		if herr != nil {
			return herr
		}
		if ok {
			opts = append(opts, audit.WithAnchor(head))
			anchor = fmt.Sprintf(" (the anchor is %s, the newest record the hub's audit watch checked)", audit.HeadFile)
		}
	case errors.Is(err, audit.ErrSignKeyMissing) || errors.Is(err, audit.ErrKeyMissing):
		// A hub from before signed exports, or a copy of its database
		// without its keys: what it holds is still worth exporting.
		signer = nil
		fmt.Fprintf(e.stderr, "warning: this export is UNSIGNED and verifies only with audit.key, not with the hub's public key: %v\n", err)
	default:
		// A key that is there but wrong (readable by others, damaged)
		// is not quietly passed over.
		return err
	}
	w := bufio.NewWriter(e.stdout)
	n, err := audit.Export(ctx, st, after, w, opts...)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if cerr := st.Unchanged(); cerr != nil {
		return fmt.Errorf("%w: export again", cerr)
	}
	var broken *audit.BrokenError
	if errors.As(err, &broken) {
		return &exitError{code: 1, err: fmt.Errorf("exported %d audit records UNSIGNED: %w%s; run audit verify --data %s", n, broken, anchor, data)}
	}
	if err != nil {
		return err
	}
	if signer == nil {
		fmt.Fprintf(e.stderr, "exported %d audit records\n", n)
		return nil
	}
	fmt.Fprintf(e.stderr, "exported %d audit records, signed by key %s (audit public-key prints its public key)\n", n, signer.KeyID())
	return nil
}

// auditPublicKey prints the public key of the hub's export signing key:
// PEM on stdout, its key id on stderr. It reads the private key file (the
// key exports are signed with, whatever audit-sign.pub says), writes
// nothing and takes no lock.
func (e env) auditPublicKey(args []string) error {
	fs := e.flags("audit public-key")
	data := fs.String("data", "", "hub data directory")
	if err := parse(fs, args, "data"); err != nil {
		return err
	}
	if err := existingHub(*data); err != nil {
		return err
	}
	s, err := audit.LoadSigner(*data)
	if err != nil {
		return err
	}
	pem := audit.MarshalPublicKey(s.PublicKey())
	if _, err := e.stdout.Write(pem); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "key id %s: give this public key to auditors, and the key id by another channel they trust, for audit verify --export FILE --public-key FILE\n", s.KeyID())
	pubPath := filepath.Join(*data, audit.PublicKeyFile)
	if b, err := os.ReadFile(pubPath); err == nil && !bytes.Equal(b, pem) {
		fmt.Fprintf(e.stderr, "warning: %s is not this key's public key (the hub rewrites it when it starts): give auditors the key printed here\n", pubPath)
	}
	return nil
}

// verified prints what a verification found: OK with the head, or BROKEN
// with where, exiting 1 (then says what to do). keyed: the records'
// hashes were recomputed under audit.key, so those before a break hold.
func (e env) verified(rep audit.Report, err error, keyed bool, then string) error {
	var (
		broken *audit.BrokenError
		badSig *audit.SignatureError
	)
	switch {
	case errors.As(err, &broken):
		fmt.Fprintf(e.stdout, "BROKEN at record %d: %s\n", broken.Seq, broken.Reason)
		if broken.Anchored {
			return &exitError{code: 1, err: fmt.Errorf("%w; the records before it link up, but are not the trail your anchor was taken from: whoever holds audit.key may have rewritten them%s", err, then)}
		}
		if !keyed {
			return &exitError{code: 1, err: fmt.Errorf("%w; no record of this export can be trusted: the signature covers the whole file%s", err, then)}
		}
		return &exitError{code: 1, err: fmt.Errorf("%w; the %d records before it are intact%s", err, rep.Records, then)}
	case errors.As(err, &badSig):
		fmt.Fprintf(e.stdout, "BROKEN: signature: %s\n", badSig.Reason)
		if keyed {
			return &exitError{code: 1, err: fmt.Errorf("%w; the %d records hold under audit.key, but are not the export the hub signed%s", err, rep.Records, then)}
		}
		return &exitError{code: 1, err: fmt.Errorf("%w; no record of this export can be trusted%s", err, then)}
	case errors.Is(err, audit.ErrUnsigned):
		fmt.Fprintln(e.stdout, "NOT VERIFIED: the export has no signature trailer")
		return &exitError{code: 1, err: fmt.Errorf("%w; verify it with audit.key (--data DIR), or export it again from a hub that signs", err)}
	case err != nil:
		return err
	}
	if rep.HeadSeq == 0 {
		fmt.Fprintln(e.stdout, "OK: 0 records, the trail is empty")
		return nil
	}
	fmt.Fprintf(e.stdout, "OK: %d records, chain intact; head %s\n", rep.Records, rep.Anchor())
	e.keepHead(rep)
	return nil
}

// keepHead says, on stderr, to keep the head a verification reached where
// this host cannot change it, and to check later runs against it.
func (e env) keepHead(rep audit.Report) {
	fmt.Fprintf(e.stderr, "keep the head away from this host (a SIEM, a ticket) and check later runs with --anchor %s: without it, records cut off the end or a trail re-sealed with audit.key go unseen\n", rep.Anchor())
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

// verifyExport checks a file written by audit export without the
// database: with the key in data (the records' hashes recomputed), with
// the public key in pubFile (the signature checked), or both: an
// auditor's copy, or what a SIEM holds.
func (e env) verifyExport(data, pubFile, file string, after int64, opts ...audit.Option) error {
	var (
		key []byte
		pub ed25519.PublicKey
		err error
	)
	if data != "" {
		if key, err = audit.LoadKey(data); err != nil {
			return err
		}
	}
	if pubFile != "" {
		if pub, err = audit.ReadPublicKey(pubFile); err != nil {
			return err
		}
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
	var rep audit.Report
	switch {
	case key == nil:
		fmt.Fprintf(e.stderr, "verifying the exported audit records in %s with public key %s, without audit.key\n", file, audit.KeyID(pub))
		rep, err = audit.VerifySignedExport(pub, after, r, opts...)
	case pub != nil:
		fmt.Fprintf(e.stderr, "verifying the exported audit records in %s with audit.key and public key %s\n", file, audit.KeyID(pub))
		rep, err = audit.VerifyExport(key, after, r, append(opts, audit.WithPublicKey(pub))...)
	default:
		fmt.Fprintf(e.stderr, "verifying the exported audit records in %s with audit.key\n", file)
		rep, err = audit.VerifyExport(key, after, r, opts...)
	}
	then := ""
	var broken *audit.BrokenError
	if errors.As(err, &broken) && rep.Records == 0 && !broken.Anchored {
		// The first line is wrong: most often an export made with
		// --after and verified without it, or with another.
		then = fmt.Sprintf("; if the export was made with audit export --after N, verify it with the same --after (given: %d)", after)
	}
	if err != nil {
		return e.verified(rep, err, key != nil, then)
	}
	switch {
	case key == nil && rep.Records == 0:
		fmt.Fprintf(e.stdout, "OK: signed by key %s; no records after %d\n", rep.SignedBy, after)
	case key == nil:
		fmt.Fprintf(e.stdout, "OK: signed by key %s; %d records after %d, consecutive; linkage intact; head %s\n", rep.SignedBy, rep.Records, after, rep.Anchor())
		fmt.Fprintln(e.stdout, "hashes not recomputed: they need audit.key (the hub checked them under it before it signed)")
	case rep.Records == 0:
		fmt.Fprintf(e.stdout, "OK: no records after %d\n", after)
	default:
		fmt.Fprintf(e.stdout, "OK: %d records, chain intact; head %s\n", rep.Records, rep.Anchor())
	}
	if key != nil {
		switch {
		case rep.SignedBy != "":
			fmt.Fprintf(e.stdout, "signed by key %s: signature checked\n", rep.SignedBy)
		case rep.Trailer != nil:
			fmt.Fprintf(e.stdout, "signature trailer of key %s matches the lines; signature not checked: give --public-key\n", rep.Trailer.KeyID)
		default:
			fmt.Fprintln(e.stdout, "unsigned export (no signature trailer): checked with audit.key only")
		}
	}
	if rep.Records > 0 {
		e.keepHead(rep)
	}
	return nil
}

// checkpointAnchors reads the signed checkpoints in the hub's log file
// (audit.ReadCheckpoints) and returns their heads, to verify the trail
// against every one, saying on stderr what it found.
func (e env) checkpointAnchors(file, pubFile string) ([]audit.Anchor, error) {
	pub, err := audit.ReadPublicKey(pubFile)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer f.Close()
	heads, newest, other, err := audit.ReadCheckpoints(f, pub)
	if err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("checkpoints in %s: %w", file, err)}
	}
	if other > 0 {
		fmt.Fprintf(e.stderr, "%d checkpoints in %s are signed by another key (an earlier signing key of the hub): not used\n", other, file)
	}
	if len(heads) == 0 {
		return nil, &exitError{code: 1, err: fmt.Errorf("no checkpoint signed by key %s in %s: the hub logs one at info level (message %q) after each check of its audit watch that found new records", audit.KeyID(pub), file, audit.CheckpointMessage)}
	}
	fmt.Fprintf(e.stderr, "also against the %d signed checkpoints in %s, the newest %s, held at %s\n", len(heads), file, newest.Head, newest.Time.Format(time.RFC3339))
	return heads, nil
}
