package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/store/sqlite"
	"github.com/shiftgate/shiftgate/hub/token"
)

func (e env) token(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: token needs create, list, rotate or revoke", errUsage)
	}
	switch args[0] {
	case "create":
		fs := e.flags("token create")
		data := fs.String("data", "", "hub data directory")
		name := fs.String("name", "", "who uses the token, e.g. okta-prod or entra")
		scope := fs.String("scope", "", "scim (provisioning), admin (API) or metrics (GET /metrics only, for a Prometheus scraper)")
		expires := fs.String("expires", "", expiresHelp)
		if err := parse(fs, args[1:], "data", "name", "scope"); err != nil {
			return err
		}
		exp, err := token.ParseExpiry(*expires, time.Now())
		if err != nil {
			return fmt.Errorf("%w: --expires: %v", errUsage, err)
		}
		fresh := noHub(*data)
		plain, t, err := createTokenUntil(ctx, *data, *name, *scope, "cli", exp)
		if err != nil {
			return err
		}
		e.newHubNote(*data, fresh, "the token")
		fmt.Fprintf(e.stderr, "created %s token %q (id %s), expires %s; it is shown once: %s now\n", t.Scope, t.Name, t.ID, expiry(t.Expires), tokenHome(t.Scope))
		fmt.Fprintln(e.stdout, plain)
		return nil
	case "list":
		fs := e.flags("token list")
		data := fs.String("data", "", "hub data directory")
		if err := parse(fs, args[1:], "data"); err != nil {
			return err
		}
		return e.readHub(ctx, *data, func(st *sqlite.ReadOnly, e env) error {
			ts, err := st.ListTokens(ctx)
			if err != nil {
				return err
			}
			makers, err := tokenMakers(ctx, st, ts)
			if err != nil {
				return err
			}
			now := time.Now()
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tSTATE\tEXPIRES\tCREATED\tMADE BY\tLAST USED\tREVOKED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, shownName(t.Name), t.Scope, token.StatusAt(t, now).Label,
					expiresStamp(t.Expires), stamp(t.Created), madeBy(t, makers), stamp(t.LastUsed), stamp(t.Revoked))
			}
			return tw.Flush()
		})
	case "rotate":
		return e.tokenRotate(ctx, args[1:])
	case "revoke":
		fs := e.flags("token revoke")
		data := fs.String("data", "", "hub data directory")
		id := fs.String("id", "", "token ID (from token list)")
		if err := parse(fs, args[1:], "data", "id"); err != nil {
			return err
		}
		var revoked time.Time // when it was revoked already
		err := withAudit(ctx, *data, func(st store.Store, log *audit.Log) error {
			return st.InTx(ctx, func(tx store.Ops) error {
				t, err := tx.UpdateToken(ctx, *id, func(old store.Token) (store.Token, error) {
					if !old.Revoked.IsZero() {
						// As the console's Revoke: a repeated revoke
						// changes nothing, and is no second
						// token.revoke record, which would tell an
						// auditor of a revocation at the wrong time.
						revoked = old.Revoked
						return old, errTokenRevoked
					}
					old.Revoked = time.Now().UTC()
					return old, nil
				})
				if err != nil {
					return err
				}
				_, err = log.Append(ctx, tx, audit.Entry{Actor: "cli", System: "cli", Action: "token.revoke", Subject: "token:" + t.ID, Detail: map[string]string{"name": t.Name, "scope": t.Scope}})
				return err
			})
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("no token %s: see 'shiftgate-hub token list --data %s'", *id, *data)
		case errors.Is(err, errTokenRevoked):
			fmt.Fprintf(e.stderr, "token %s was revoked already, at %s; nothing was changed\n", *id, stamp(revoked))
			return nil
		case err != nil:
			return err
		}
		fmt.Fprintf(e.stderr, "revoked token %s\n", *id)
		return nil
	}
	return fmt.Errorf("%w: unknown token command %q", errUsage, args[0])
}

// errTokenRevoked stops token revoke's update of a token revoked already.
var errTokenRevoked = errors.New("the token is already revoked")

// shownName is a token's name as token list prints it: as it is when it
// is plain text, and quoted with Go escapes otherwise. Names made before
// names were checked (token.CheckName) may hold anything, and a tab, a
// line break or an escape sequence printed raw would shift columns, or
// make the terminal rewrite or hide rows of the list.
func shownName(name string) string {
	if token.CheckName(name) == nil {
		return name
	}
	return strconv.Quote(name)
}

// accountLister is the store read that tokenMakers needs.
type accountLister interface {
	ListConsoleAccounts(ctx context.Context) ([]store.ConsoleAccount, error)
}

// tokenMakers maps the IDs of the console accounts that made ts to their
// audit names (console:<name>), as the console's Tokens page does, reading
// the accounts only when a token has a maker: a hub whose tokens were all
// made by the CLI needs no read of them.
func tokenMakers(ctx context.Context, st accountLister, ts []store.Token) (map[string]string, error) {
	if !slices.ContainsFunc(ts, func(t store.Token) bool { return t.CreatedBy != "" }) {
		return nil, nil
	}
	as, err := st.ListConsoleAccounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("makers of tokens: %w", err)
	}
	m := make(map[string]string, len(as))
	for _, a := range as {
		m[a.ID] = "console:" + a.Name
	}
	return m, nil
}

// madeBy is the MADE BY column of token list, in the words of the
// console's Tokens page: the console account that made t (console:<name>),
// "console account <id>" for one since deleted (as the audit trail names
// it: token.Actor), or "CLI, or not recorded" for a token the CLI made or
// one made before tokens recorded their maker. A maker that is not plain
// text is quoted (shown): it must not shift the columns or drive the
// terminal.
func madeBy(t store.Token, makers map[string]string) string {
	by, ok := makers[t.CreatedBy]
	switch {
	case t.CreatedBy == "":
		return "CLI, or not recorded"
	case !ok:
		by = "console account " + t.CreatedBy
	}
	return shown(by)
}

// expiresHelp is the --expires flag's help, for token create and rotate.
var expiresHelp = fmt.Sprintf("when the token stops working: a number of days (90d) or a date (2027-03-01, to the end of that day UTC); "+
	"at most %d years ahead; default %dd for admin, %dd for scim and metrics", token.MaxLifetimeYears, int(token.DefaultAdminLifetime.Hours()/24), int(token.DefaultLifetime.Hours()/24))

// tokenRotate replaces a token by a new one of the same name and scope and
// lets the old one work on for the overlap, so that its user (an identity
// provider's SCIM settings, a script) can switch to the new secret first.
func (e env) tokenRotate(ctx context.Context, args []string) error {
	fs := e.flags("token rotate")
	data := fs.String("data", "", "hub data directory")
	id := fs.String("id", "", "ID of the token to replace (from token list)")
	overlap := fs.String("overlap", token.DefaultOverlap.String(), "how long the old token goes on working: 0 (stop it now) to 7d (168h)")
	expires := fs.String("expires", "", "the new token's expiry: "+expiresHelp)
	if err := parse(fs, args, "data", "id"); err != nil {
		return err
	}
	ov, err := token.ParseOverlap(*overlap)
	if err != nil {
		return fmt.Errorf("%w: --overlap: %v", errUsage, err)
	}
	now := time.Now()
	exp, err := token.ParseExpiry(*expires, now)
	if err != nil {
		return fmt.Errorf("%w: --expires: %v", errUsage, err)
	}
	var r token.Rotation
	err = withAudit(ctx, *data, func(st store.Store, log *audit.Log) error {
		return st.InTx(ctx, func(tx store.Ops) error {
			rot, err := token.Rotate(ctx, tx, *id, now, ov, exp)
			if err != nil {
				return err
			}
			r = rot
			_, err = log.Append(ctx, tx, audit.Entry{Actor: "cli", System: "cli", Action: "token.rotate", Subject: "token:" + r.Old.ID, Detail: r.AuditDetail()})
			return err
		})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no token %s: see 'shiftgate-hub token list --data %s'", *id, *data)
	case err != nil:
		return err
	}
	fmt.Fprintf(e.stderr, "rotated %s token %q: the new token (id %s) expires %s; it is shown once: %s now.\n",
		r.New.Scope, r.New.Name, r.New.ID, expiry(r.New.Expires), tokenHome(r.New.Scope))
	switch {
	case r.Old.Expires.Before(now):
		fmt.Fprintf(e.stderr, "The old token %s had expired already, at %s.\n", r.Old.ID, stamp(r.Old.Expires))
	case !r.Old.Expires.After(now):
		fmt.Fprintf(e.stderr, "The old token %s is refused from now on (by a running hub within 2 seconds).\n", r.Old.ID)
	default:
		fmt.Fprintf(e.stderr, "The old token %s works until %s, then is refused: switch its user to the new one before then.\n", r.Old.ID, expiry(r.Old.Expires))
	}
	fmt.Fprintln(e.stdout, r.Plain)
	return nil
}

// expiry says when a token expires, in UTC (as --expires DATE means it),
// and how far off that is.
func expiry(t time.Time) string {
	at := t.UTC().Format("2006-01-02 15:04:05 MST")
	if d := time.Until(t); d > 0 {
		return at + " (in " + token.Within(d) + ")"
	}
	return at
}

// expiresStamp is stamp for an expiry: a token without one never expires.
func expiresStamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return stamp(t)
}

// tokenHome says where a new token of scope goes: only a SCIM token
// belongs in an identity provider.
func tokenHome(scope string) string {
	switch scope {
	case store.ScopeSCIM:
		return "store it in your identity provider's provisioning settings (SCIM secret token)"
	case store.ScopeMetrics:
		return "store it in your Prometheus scrape configuration (bearer token)"
	default:
		return "store it in your secret store for the scripts that call /api/v1"
	}
}

// createToken stores a new token with the scope's default expiry and
// records it in the audit log; it returns the plaintext.
func createToken(ctx context.Context, dir, name, scope, actor string) (string, error) {
	plain, _, err := createTokenUntil(ctx, dir, name, scope, actor, time.Time{})
	return plain, err
}

// createTokenUntil is createToken with the expiry given (zero: the
// scope's default); it returns the plaintext and the stored record.
func createTokenUntil(ctx context.Context, dir, name, scope, actor string, expires time.Time) (string, store.Token, error) {
	plain, t, err := token.NewExpiring(name, scope, time.Now(), expires)
	if err != nil {
		return "", store.Token{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	err = withNewAudit(ctx, dir, func(st store.Store, log *audit.Log) error {
		return st.InTx(ctx, func(tx store.Ops) error {
			if _, err := tx.CreateToken(ctx, t); err != nil {
				return err
			}
			_, err := log.Append(ctx, tx, audit.Entry{Actor: actor, System: "cli", Action: "token.create", Subject: "token:" + t.ID, Detail: token.CreateAuditDetail(t)})
			return err
		})
	})
	return plain, t, err
}

// noHub reports whether dir holds no hub database yet: withNewAudit will
// make a new hub there.
func noHub(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, hub.DBFile))
	return errors.Is(err, fs.ErrNotExist)
}

// newHubNote says on stderr, when fresh (noHub before the command ran),
// that the command made a new hub in dir, for the commands of
// withNewAudit: what is printed works only for a hub served on dir.
// Before a hub's first serve that is what was meant; with a mistyped
// --data (a letter short, the parent directory), the token, code or link
// printed without a word would be refused by the real hub, and an empty
// hub left in the wrong directory.
func (e env) newHubNote(dir string, fresh bool, what string) {
	if !fresh {
		return
	}
	fmt.Fprintf(e.stderr, "note: %s held no hub, so a new one was made there: %s works only for a hub served on it (shiftgate-hub serve --data %s); if you meant an existing hub, check --data\n",
		dir, what, dir)
}

// withAudit opens the hub in the data directory, its store and audit log,
// for fn, which writes. A directory without a hub is refused (existingHub):
// only serve, demo and the commands of withNewAudit start one.
func withAudit(ctx context.Context, dir string, fn func(store.Store, *audit.Log) error) error {
	if err := existingHub(dir); err != nil {
		return err
	}
	return withNewAudit(ctx, dir, fn)
}

// withNewAudit is withAudit that creates the directory and an empty hub in
// it when there is none, for the commands documented to work on a new
// directory, before or beside its first serve: token create, device code
// and admin bootstrap (scripts such as make bench-sim run them so).
//
// A hub made here gets its audit export signing key too, with its audit
// key, before the first record: made by the first serve instead, beside
// the records this command seals, it would be logged as the key of a hub
// that predates signed exports or lost its key, and auditors told to take
// a new public key.
func withNewAudit(ctx context.Context, dir string, fn func(store.Store, *audit.Log) error) error {
	_, err := os.Lstat(filepath.Join(dir, audit.KeyFile))
	newHub := errors.Is(err, fs.ErrNotExist)
	st, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := audit.LoadOrCreateKey(ctx, dir, st)
	if err != nil {
		return err
	}
	if newHub {
		// LoadOrCreateKey made the key only on a trail without records:
		// the signing key is made as a new hub's (or read, if a hub
		// started meanwhile made it).
		if _, err := audit.LoadOrCreateSigner(ctx, dir, st, nil); err != nil {
			return err
		}
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		return err
	}
	return fn(st, log)
}

// openStore opens the hub's store in dir for a command that writes. The
// command takes no lock, to work beside a running hub, but must not
// migrate the schema under one: after an upgrade, the hub still running
// may be of the old build, and would go on writing by the old schema
// (rows without the new columns) or fail. So it opens without upgrading
// first (every open but the first after an upgrade succeeds so); a schema
// that needs upgrading is upgraded only while no hub holds hub.lock, and
// under that lock, so that no hub starts meanwhile. Otherwise the command
// is refused, with the database left as it was.
//
// The command is a short-lived writer: the store reserves no disk blocks
// for the write-ahead log (sqlite.Options.NoPrealloc), which on a nearly
// full disk would fail it for 64 MiB it never uses.
func openStore(ctx context.Context, dir string) (*sqlite.DB, error) {
	st, err := hub.OpenStoreWith(ctx, dir, sqlite.Options{NoUpgrade: true, NoPrealloc: true})
	if !errors.Is(err, sqlite.ErrNeedsMigration) {
		return st, err
	}
	lock, lerr := lockDataDir(dir)
	var busy *busyError
	if errors.As(lerr, &busy) {
		return nil, fmt.Errorf("%w, and a hub is running on %s%s: upgrading the schema under it would leave it writing by the old one: stop the hub, or restart it on this build (which upgrades the schema as it starts), then run the command again; nothing was changed",
			err, dir, busy.holder)
	}
	if lerr != nil {
		return nil, lerr
	}
	// Held only while the schema is upgraded: a hub may start once the
	// command has its store open.
	defer lock.Close()
	return hub.OpenStoreWith(ctx, dir, sqlite.Options{NoPrealloc: true})
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
