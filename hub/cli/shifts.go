package cli

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

// importCmd is `shiftgate-hub import shifts --data DIR [--zone ZONE]
// [--dry-run] FILE.csv`: an HR/WFM shift export, all or nothing.
func (e env) importCmd(ctx context.Context, args []string) error {
	return e.importTicks(ctx, args, nil)
}

// importTicks is importCmd with the ticks of its progress lines given
// (longProgress); nil ticks every backupProgressEvery.
func (e env) importTicks(ctx context.Context, args []string, ticks <-chan time.Time) error {
	if len(args) == 0 || args[0] != "shifts" {
		return fmt.Errorf("%w: import needs what to import: import shifts --data DIR FILE.csv", errUsage)
	}
	fs := e.flags("import shifts")
	data := fs.String("data", "", "hub data directory")
	zone := fs.String("zone", "", "IANA time zone for local times on lines without a zone column value, e.g. Europe/Berlin; a user whose sites are registered with another zone is refused (default: the zone of the user's sites)")
	// No flag default: without --shift-grace the stored policy's value
	// applies, which "-h" must not hide behind a fixed one.
	grace := fs.Duration("shift-grace", 0, "live sessions outside every shift by more than this end, e.g. 30m (0: no grace); without it, the stored login policy's shift grace")
	dryRun := fs.Bool("dry-run", false, "check the file and list, per user, what would change; change nothing")
	file, err := parseWithFile(fs, args[1:])
	if err != nil {
		return err
	}
	if *grace < 0 || *grace > policy.MaxShiftGrace {
		// As the login policy: a longer grace would keep sessions the
		// policy ends, and a negative one would silently mean none.
		return fmt.Errorf("%w: --shift-grace %s: give 0 or a duration up to %s", errUsage, *grace, policy.FormatDuration(policy.MaxShiftGrace))
	}
	var loc *time.Location
	if *zone != "" {
		if loc, err = time.LoadLocation(*zone); err != nil || *zone == "Local" {
			return fmt.Errorf("%w: --zone %q is not an IANA time zone name such as Europe/Berlin", errUsage, *zone)
		}
	}
	// Before the file is read: a mistyped --data is the first thing to
	// fix, and is not made a new hub (withAudit).
	if err := existingHub(*data); err != nil {
		return err
	}
	body, sum, err := readImport(file)
	if err != nil {
		return err
	}
	// A file with problems is still checked against the hub, as far as its
	// lines parsed (the users they name, their zones), in a dry run: one
	// run reports every problem there is to fix, and changes nothing.
	imp, err := shift.ParseCSVPartial(strings.NewReader(string(body)), shift.ImportOptions{Zone: loc, SiteZones: true})
	var parseErr *shift.ImportError
	if err != nil && !errors.As(err, &parseErr) {
		return fmt.Errorf("%s: %w", file, err)
	}
	if parseErr != nil && len(imp.Users) == 0 {
		return fmt.Errorf("%s: %w", file, parseErr) // nothing to check further
	}
	check := *dryRun || parseErr != nil
	prog, stop := e.longProgress(ticks)
	defer stop()
	var res lifecycle.ImportResult
	var changes *shiftChanges
	err = withAudit(ctx, *data, func(st store.Store, log *audit.Log) error {
		rules, err := storedRules(ctx, st)
		if err != nil {
			return err
		}
		if given(fs, "shift-grace") {
			rules.ShiftGrace = *grace
			if *grace == 0 {
				rules.ShiftGrace = -1 // --shift-grace 0: no grace
			}
		}
		if *dryRun && parseErr == nil {
			changes = &shiftChanges{Store: st}
			st = changes
		}
		doing := "importing"
		if check {
			doing = "checking"
		}
		st = &importProgress{Store: st, p: prog, doing: doing, file: file, users: len(imp.Users)}
		eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Rules: rules})
		if err != nil {
			return err
		}
		res, err = eng.ImportShifts(ctx, lifecycle.Actor{Name: "cli", System: "cli"}, imp, filepath.Base(file),
			map[string]any{"sha256": sum, "zone": *zone}, check)
		return err
	})
	var ie *shift.ImportError
	if err != nil && !errors.As(err, &ie) {
		return err
	}
	if all := shift.JoinImportErrors(parseErr, ie); all != nil {
		return fmt.Errorf("%s: %w", file, all)
	}
	if *dryRun {
		fmt.Fprintf(e.stderr, "dry run: %s is valid; nothing was changed\n", file)
		fmt.Fprintf(e.stdout, "would replace the shifts of %d users (%d shifts from %d lines)\n", res.Users, res.Shifts, imp.Rows)
		changes.print(e.stdout, maxListedUsers)
		return nil
	}
	fmt.Fprintf(e.stderr, "imported %s (sha256 %s)\n", file, sum[:16])
	fmt.Fprintf(e.stdout, "replaced the shifts of %d users (%d shifts from %d lines)\n", res.Users, res.Shifts, imp.Rows)
	return nil
}

// parseWithFile parses flags around exactly one positional argument (the
// file), which may come before or after them; --data is required.
//
// "help" alone asks for the flags, as -h does (and as parse takes it):
// alone it cannot be the file, since --data is required too.
func parseWithFile(fs *flag.FlagSet, args []string) (string, error) {
	if len(args) == 1 && args[0] == "help" {
		args = []string{"-h"}
	}
	var files []string
	for {
		if err := parseFlags(fs, args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 {
		return "", fmt.Errorf("%w: %s needs exactly one FILE.csv, got %d", errUsage, fs.Name(), len(files))
	}
	if fs.Lookup("data").Value.String() == "" {
		return "", fmt.Errorf("%w: %s needs --data", errUsage, fs.Name())
	}
	return files[0], nil
}

// readImport reads the import file, refusing one over the size limit
// before reading it, and returns it with its SHA-256 for the audit trail.
func readImport(path string) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("open shift import: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, shift.MaxImportBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("read shift import %s: %w", path, err)
	}
	if len(b) > shift.MaxImportBytes {
		return nil, "", fmt.Errorf("%s is larger than %d MiB: split it into several imports (each replaces the shifts of the users it lists); nothing was imported", path, shift.MaxImportBytes>>20)
	}
	h := sha256.Sum256(b)
	return b, hex.EncodeToString(h[:]), nil
}

// importProgress is a store.Store that counts, for the progress lines of
// import shifts, the users the import's transaction looks up and those
// whose shifts it sets: a query and an update a user, in one transaction
// that, for a file near shift.MaxImportBytes (a few hundred thousand
// lines), runs for minutes between the command's start and its one line
// of result.
type importProgress struct {
	store.Store
	p             progressLines
	doing, file   string
	users         int // in the file
	found, stored int
}

func (s *importProgress) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return s.Store.InTx(ctx, func(tx store.Ops) error {
		s.found, s.stored = 0, 0 // a retried transaction starts over
		return fn(importProgressTx{Ops: tx, s: s})
	})
}

func (s *importProgress) line() string {
	return fmt.Sprintf("%s %s: %d of %d users looked up, shifts of %d set", s.doing, s.file, s.found, s.users, s.stored)
}

type importProgressTx struct {
	store.Ops
	s *importProgress
}

func (tx importProgressTx) ListUsers(ctx context.Context, q store.UserQuery) ([]store.User, int, error) {
	users, total, err := tx.Ops.ListUsers(ctx, q)
	if err == nil && q.UserName != "" {
		tx.s.found++
		tx.s.p.step(tx.s.line)
	}
	return users, total, err
}

func (tx importProgressTx) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	u, err := tx.Ops.UpdateUser(ctx, id, fn)
	if err == nil {
		tx.s.stored++
		tx.s.p.step(tx.s.line)
	}
	return u, err
}

// maxListedUsers caps the users a dry run lists.
const maxListedUsers = 50

// shiftChanges is a store.Store that notes, for a dry run, the shifts each
// user's record has before and after the transaction's UpdateUser calls:
// what the import would change, its local times placed in each user's
// zone, read from the transaction the dry run rolls back. Only the last
// transaction's (the import's) are kept.
type shiftChanges struct {
	store.Store
	users map[string]*userShiftChange // by user ID
}

type userShiftChange struct {
	userName      string
	before, after []store.Shift
}

func (c *shiftChanges) InTx(ctx context.Context, fn func(store.Ops) error) error {
	return c.Store.InTx(ctx, func(tx store.Ops) error {
		c.users = map[string]*userShiftChange{} // a retried transaction starts over
		return fn(shiftChangesTx{Ops: tx, c: c})
	})
}

type shiftChangesTx struct {
	store.Ops
	c *shiftChanges
}

func (tx shiftChangesTx) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	var before []store.Shift
	u, err := tx.Ops.UpdateUser(ctx, id, func(old store.User) (store.User, error) {
		before = old.Shifts
		return fn(old)
	})
	if err != nil {
		return u, err
	}
	ch := tx.c.users[u.ID]
	if ch == nil {
		ch = &userShiftChange{before: before}
		tx.c.users[u.ID] = ch
	}
	ch.userName, ch.after = u.UserName, u.Shifts
	return u, nil
}

// print lists, by userName, what would change for each user the import
// lists (at most limit of them): shifts added and removed, or unchanged.
func (c *shiftChanges) print(w io.Writer, limit int) {
	if c == nil || len(c.users) == 0 {
		return
	}
	type row struct {
		name           string
		added, removed int
	}
	rows := make([]row, 0, len(c.users))
	changed := 0
	for _, ch := range c.users {
		r := row{name: ch.userName}
		if r.added, r.removed = shift.Diff(ch.before, ch.after); r.added+r.removed > 0 {
			changed++
		}
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(strings.Compare(store.FoldName(a.name), store.FoldName(b.name)), strings.Compare(a.name, b.name))
	})
	fmt.Fprintf(w, "per user (%d would change, %d unchanged):\n", changed, len(rows)-changed)
	for i, r := range rows {
		if i == limit {
			fmt.Fprintf(w, "  … and %d more users\n", len(rows)-limit)
			break
		}
		name := r.name
		if strings.ContainsFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) {
			name = strconv.Quote(name) // no terminal control from a provisioned name
		}
		if r.added+r.removed == 0 {
			fmt.Fprintf(w, "  %s: unchanged\n", name)
			continue
		}
		fmt.Fprintf(w, "  %s: %d added, %d removed\n", name, r.added, r.removed)
	}
}
