package token

import (
	"context"
	"fmt"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// ReasonMakerDisabled is the reason a token.revoke audit record gives for
// a token revoked because the console account that made it was disabled
// (RevokeOfDisabledMaker).
const ReasonMakerDisabled = "its maker's console account was disabled"

// RevokeOfDisabledMaker revokes, inside tx and at now, the admin-scope
// tokens that console account accountID made (store.Token.CreatedBy) and
// that still work (neither revoked nor expired), and returns them.
// store.DisableConsoleAccount, the one way to disable a console account,
// revokes them so in the transaction that disables it, and its callers
// record a token.revoke for each token revoked (RevokeAuditDetail) and,
// in a process that verifies tokens, call Verifier.Forget for each once
// the transaction is over, so that the token is refused from the next
// request on. It is called on its own for an account enabled again
// without the hub's start having run since it was disabled (`admin
// bootstrap`).
//
// An admin token is its maker's hands on the JSON API (grants,
// sign-outs, enrollments, review decisions): it goes with its maker, as
// the maker's console sessions do. SCIM and metrics tokens are left
// working: a SCIM token's revocation would stop provisioning, leavers
// included, for everyone, and a metrics token reads counts only; both are
// reported as orphaned/token_of_inactive_maker until someone rotates or
// revokes them. Enabling the account again does not bring its revoked
// tokens back: a revocation is final, and the account makes new ones.
func RevokeOfDisabledMaker(ctx context.Context, tx store.TokenOps, accountID string, now time.Time) ([]store.Token, error) {
	if accountID == "" {
		return nil, nil // "" is the CLI operator, who is no console account
	}
	ts, err := revokeAdminOf(ctx, tx, func(by string) bool { return by == accountID }, now)
	if err != nil {
		return nil, fmt.Errorf("tokens of console account %s: %w", accountID, err)
	}
	return ts, nil
}

// ReasonMakerGone is the reason a token.revoke audit record gives for an
// admin token revoked because the console account that made it is no
// longer in the store (RevokeOfDisabledMakers).
const ReasonMakerGone = "its maker's console account no longer exists"

// RevokeOfDisabledMakers is RevokeOfDisabledMaker for every console
// account at once, in one read of the tokens: it revokes, inside tx and
// at now, the admin-scope tokens that still work and whose maker
// (store.Token.CreatedBy) stopped reports true for, and returns them. A
// token the CLI made (no maker) is never passed to stopped.
//
// It is for the hub's start (hub.New), which applies the rule to the
// accounts disabled before every disable path revoked their admin
// tokens: stopped is true for a disabled account, and for one the store
// no longer has, which orphaned/token_of_inactive_maker takes for gone
// as it takes a disabled one. The caller records a token.revoke for each
// token returned, as RevokeOfDisabledMaker's callers do.
func RevokeOfDisabledMakers(ctx context.Context, tx store.TokenOps, stopped func(accountID string) bool, now time.Time) ([]store.Token, error) {
	ts, err := revokeAdminOf(ctx, tx, stopped, now)
	if err != nil {
		return nil, fmt.Errorf("tokens of disabled console accounts: %w", err)
	}
	return ts, nil
}

// revokeAdminOf revokes, inside tx and at now, the admin tokens that
// still work (neither revoked nor expired) made by a console account
// (CreatedBy not "") that of reports true for, and returns them: the
// rule store.DisableConsoleAccount applies (store.RevokeAdminTokensOf).
func revokeAdminOf(ctx context.Context, tx store.TokenOps, of func(accountID string) bool, now time.Time) ([]store.Token, error) {
	return store.RevokeAdminTokensOf(ctx, tx, of, now)
}

// RevokeAuditDetail is the detail of the token.revoke record of t, revoked
// by RevokeOfDisabledMaker: what an admin's Revoke records, and why.
func RevokeAuditDetail(t store.Token) map[string]string {
	return map[string]string{"name": t.Name, "scope": t.Scope, "reason": ReasonMakerDisabled, "madeBy": t.CreatedBy}
}
