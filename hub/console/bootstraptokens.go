package console

import (
	"context"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// revokeTokensOfReenabled revokes, inside tx, the admin API tokens that
// still work of console account a, which `admin bootstrap` is enabling
// again (BootstrapFor), each audited as a token.revoke by the CLI with
// the reason, and returns their IDs (never nil, for the audit detail).
//
// Every path that disables an account revokes its admin tokens
// (store.DisableConsoleAccount), and the hub's start revokes those of
// accounts disabled before it did; but bootstrap runs from the CLI, also
// on a hub not yet started since an upgrade or a restore: the account
// it enables would then have its admin tokens from before the disable
// working again, which the start, finding the account enabled, would
// leave. Enabling an account never brings back what its disabling
// stopped, as with its passkeys. The console's Enable needs no such
// step: it runs in a hub that has started.
func revokeTokensOfReenabled(ctx context.Context, tx store.Ops, log *audit.Log, a store.ConsoleAccount, now time.Time) ([]string, error) {
	ts, err := token.RevokeOfDisabledMaker(ctx, tx, a.ID, now)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ts))
	for _, t := range ts {
		if _, err := log.Append(ctx, tx, audit.Entry{Actor: "cli", System: "cli", Action: "token.revoke", Subject: "token:" + t.ID,
			Detail: token.RevokeAuditDetail(t)}); err != nil {
			return nil, err
		}
		ids = append(ids, t.ID)
	}
	return ids, nil
}
