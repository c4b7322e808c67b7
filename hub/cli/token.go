package cli

import (
	"context"
	"errors"
	"fmt"
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
		return fmt.Errorf("%w: token needs create, list or revoke", errUsage)
	}
	switch args[0] {
	case "create":
		fs := e.flags("token create")
		data := fs.String("data", "", "hub data directory")
		name := fs.String("name", "", "who uses the token, e.g. okta-prod or entra")
		scope := fs.String("scope", "", "scim (provisioning), admin (API) or metrics (GET /metrics only, for a Prometheus scraper)")
		if err := parse(fs, args[1:], "data", "name", "scope"); err != nil {
			return err
		}
		plain, err := createToken(ctx, *data, *name, *scope, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "created %s token %q; it is shown once: %s now\n", *scope, *name, tokenHome(*scope))
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
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED\tREVOKED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, stamp(t.Created), stamp(t.LastUsed), stamp(t.Revoked))
			}
			return tw.Flush()
		})
	case "revoke":
		fs := e.flags("token revoke")
		data := fs.String("data", "", "hub data directory")
		id := fs.String("id", "", "token ID (from token list)")
		if err := parse(fs, args[1:], "data", "id"); err != nil {
			return err
		}
		if err := withAudit(ctx, *data, func(st store.Store, log *audit.Log) error {
			return st.InTx(ctx, func(tx store.Ops) error {
				t, err := tx.UpdateToken(ctx, *id, func(old store.Token) (store.Token, error) {
					if old.Revoked.IsZero() {
						old.Revoked = time.Now().UTC()
					}
					return old, nil
				})
				if err != nil {
					return err
				}
				_, err = log.Append(ctx, tx, audit.Entry{Actor: "cli", System: "cli", Action: "token.revoke", Subject: "token:" + t.ID, Detail: map[string]string{"name": t.Name, "scope": t.Scope}})
				return err
			})
		}); errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no token %s: see 'shiftgate-hub token list --data %s'", *id, *data)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "revoked token %s\n", *id)
		return nil
	}
	return fmt.Errorf("%w: unknown token command %q", errUsage, args[0])
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

// createToken stores a new token and records it in the audit log; it
// returns the plaintext.
func createToken(ctx context.Context, dir, name, scope, actor string) (string, error) {
	plain, t, err := token.New(name, scope, time.Now())
	if err != nil {
		return "", fmt.Errorf("%w: %v", errUsage, err)
	}
	err = withNewAudit(ctx, dir, func(st store.Store, log *audit.Log) error {
		return st.InTx(ctx, func(tx store.Ops) error {
			if _, err := tx.CreateToken(ctx, t); err != nil {
				return err
			}
			_, err := log.Append(ctx, tx, audit.Entry{Actor: actor, System: "cli", Action: "token.create", Subject: "token:" + t.ID, Detail: map[string]string{"name": t.Name, "scope": t.Scope}})
			return err
		})
	})
	return plain, err
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
func withNewAudit(ctx context.Context, dir string, fn func(store.Store, *audit.Log) error) error {
	st, err := hub.OpenStore(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := audit.LoadOrCreateKey(ctx, dir, st)
	if err != nil {
		return err
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		return err
	}
	return fn(st, log)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}
