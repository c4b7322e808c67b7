package lifecycle

import (
	"context"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// A leaver loses the web console too. Console accounts are not SCIM users
// (hub/console makes them by invitation), but a supervisor or admin who
// leaves must not keep forcing sign-outs, enrolling badges, granting
// access or extending shifts from a browser: access ends everywhere at
// once. A console account is linked to its hub user by the user's ID
// (store.ConsoleAccount.UserID), so the leaver path disables the accounts
// linked to the user in its own transaction, and with them revokes the
// admin API tokens they made (store.DisableConsoleAccount,
// tokensRevoked).
//
// A re-hire (active=true again) does not enable them: console access is
// an admin's decision, made again with the console's Enable or
// `shiftgate-hub admin bootstrap` (admins), which revokes the old
// passkeys. A new user given a departed user's userName (after a DELETE)
// is somebody else, with another ID: the departed user's accounts stay
// theirs, disabled.
//
// The link is made when the account is created (hub/console links it to
// the hub user of its name), or here: when a hub user is created or
// renamed, the accounts linked to nobody whose name is the user's new
// userName are linked to it in the same transaction. That is the common
// case of a hub's first admin, made with `admin bootstrap` before the
// identity provider provisioned them. An account linked already is never
// linked again, to anyone. A rename keeps the links it has: the account
// keeps working under its own name, and the user's leaving still reaches
// it.
const (
	actionConsoleAccountDisable = "console.account_disable" // as the console's own Disable audits it
	actionConsoleAccountLink    = "console.account_link"
	actionTokenRevoke           = "token.revoke" // as the console's Revoke and token revoke audit it
	subjectTokenPrefix          = "token:"
	subjectConsolePrefix        = "console:"
	reasonUserDeprovisioned     = "user deprovisioned"
	reasonUserCreated           = "user created"
	reasonUserRenamed           = "user renamed"
)

// disableConsoleAccounts disables, inside tx, the console accounts linked
// to the hub user u that are not disabled yet and ends their console
// sessions, as the console's Disable does (store.DisableConsoleAccount),
// each audited as a console.account_disable by a with reason "user
// deprovisioned"; why is the deprovisioning's own reason (user
// deactivated, end date reached, user deleted, ...). The admin API tokens
// each account made are revoked with it, and audited (tokensRevoked), for
// c to have the token verifier forget them after the commit.
//
// It disables too the accounts linked to nobody whose name is u's userName
// (store.FoldName; detail "linked": false). Such an account exists only
// where the link could not be made: a file from before names were folded
// held two users whose names differ in non-ASCII case only, and the
// migration that linked accounts (sqlite's schemaConsoleUserLink) could
// not tell whose the account of that name was. It may be the leaver's, so
// it goes with them, as it did before accounts were linked by ID: left
// enabled, the leaver would keep the console. (Any other time a user of
// the account's name exists, the account is linked to it.)
//
// The store returns just those accounts (the linked ones first), in one
// indexed query: the leaver path does not read every console account.
func (e *Engine) disableConsoleAccounts(ctx context.Context, tx store.Ops, c *change, a Actor, u store.User, why string) error {
	accounts, err := tx.ListConsoleAccountsOfUserOrName(ctx, u.ID, u.UserName)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	for _, acct := range accounts {
		if !acct.Disabled.IsZero() {
			continue
		}
		linked := acct.UserID != ""
		acct, d, err := store.DisableConsoleAccount(ctx, tx, acct.ID, now)
		if err != nil {
			return err
		}
		detail := map[string]any{
			"name": acct.Name, "role": acct.Role, "sessionsEnded": d.SessionsEnded, "reason": reasonUserDeprovisioned,
			"user": u.ID, "userName": u.UserName, "deprovisionReason": why,
		}
		if !linked {
			detail["linked"] = false // taken for the leaver's by its name
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionConsoleAccountDisable, Subject: subjectConsolePrefix + acct.ID,
			Detail: detail,
		}); err != nil {
			return err
		}
		e.log.Info("console account disabled: "+reasonUserDeprovisioned, "account", acct.Name, "role", acct.Role,
			"user", u.ID, "sessionsEnded", d.SessionsEnded, "actor", a.Name)
		if err := e.tokensRevoked(ctx, tx, c, a, acct, d.TokensRevoked); err != nil {
			return err
		}
	}
	return nil
}

// tokensRevoked records, inside tx, the admin API tokens ts of console
// account acct that store.DisableConsoleAccount revoked with it, which
// its disabling stops as it ends the account's console sessions: each is
// audited as a token.revoke by a, with the reason, and noted in c for
// Config.TokenRevoked. SCIM and metrics tokens stay working (see
// token.RevokeOfDisabledMaker).
func (e *Engine) tokensRevoked(ctx context.Context, tx store.Ops, c *change, a Actor, acct store.ConsoleAccount, ts []store.Token) error {
	for _, t := range ts {
		c.tokens = append(c.tokens, t.ID)
		if _, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionTokenRevoke, Subject: subjectTokenPrefix + t.ID,
			Detail: token.RevokeAuditDetail(t),
		}); err != nil {
			return err
		}
		e.log.Info("API token revoked: "+token.ReasonMakerDisabled, "token_id", t.ID, "token_name", t.Name, "account", acct.Name, "actor", a.Name)
	}
	return nil
}

// TokensRevoked is tokensRevoked in t, for a console account disabled in
// t by another path (a governance remediation): the admin API tokens ts
// that store.DisableConsoleAccount revoked with it are audited by a, and
// forgotten by the token verifier once t is over.
func (t *Tx) TokensRevoked(ctx context.Context, a Actor, acct store.ConsoleAccount, ts []store.Token) error {
	return t.e.tokensRevoked(ctx, t.tx, t.c, a, acct, ts)
}

// linkConsoleAccounts links, inside tx, the console accounts linked to no
// hub user whose name is u's userName (store.FoldName) to u, enabled or
// disabled (a disabled one stays disabled), each audited as a
// console.account_link by a; why is "user created" or "user renamed".
func (e *Engine) linkConsoleAccounts(ctx context.Context, tx store.Ops, a Actor, u store.User, why string) error {
	if u.ID == "" {
		return nil // "" is no user's ID: an account linked to it is linked to nobody
	}
	accounts, err := tx.LinkConsoleAccounts(ctx, u.ID, u.UserName, e.now().UTC())
	if err != nil {
		return err
	}
	for _, acct := range accounts {
		if _, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionConsoleAccountLink, Subject: subjectConsolePrefix + acct.ID,
			Detail: map[string]any{
				"name": acct.Name, "role": acct.Role, "enabled": acct.Disabled.IsZero(), "reason": why,
				"user": u.ID, "userName": u.UserName,
			},
		}); err != nil {
			return err
		}
		e.log.Info("console account linked to its hub user: "+why, "account", acct.Name, "role", acct.Role,
			"user", u.ID, "actor", a.Name)
	}
	return nil
}
