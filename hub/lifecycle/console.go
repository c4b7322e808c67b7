package lifecycle

import (
	"context"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// A leaver loses the web console too. Console accounts are not SCIM users
// (hub/console makes them by invitation), but a supervisor or admin who
// leaves must not keep forcing sign-outs, enrolling badges, granting
// access or extending shifts from a browser: access ends everywhere at
// once. The console takes an account for the hub user whose userName is
// the account's name (store.ConsoleAccountsOf), so the leaver path
// disables the accounts of the user's name in its own transaction.
//
// A re-hire (active=true again, or a new user of the name after a DELETE)
// does not enable them: console access is an admin's decision, made again
// with `shiftgate-hub admin bootstrap` (admins), which revokes the old
// passkeys.
//
// A rename breaks that link: the accounts of the old name are no hub
// user's any more, so the leaver path would never reach them (a supervisor
// whose userName changed with their surname, and who then left, kept the
// console), and the console's checks that keep an admin from granting or
// reviewing their own access, which find the hub user by the account's
// name, would not recognise them. A rename (a new userName, not a change
// of case) disables them: an admin invites the person again under the
// new name.
const (
	actionConsoleAccountDisable = "console.account_disable" // as the console's own Disable audits it
	subjectConsolePrefix        = "console:"
	reasonUserDeprovisioned     = "user deprovisioned"
	reasonUserRenamed           = "user renamed"
)

// disableConsoleAccounts disables, inside tx, the console accounts of the
// hub user u that are not disabled yet and ends their console sessions, as
// the console's Disable does (store.DisableConsoleAccount), each audited
// as a console.account_disable by a with reason "user deprovisioned"; why
// is the deprovisioning's own reason (user deactivated, end date reached,
// user deleted, ...).
func (e *Engine) disableConsoleAccounts(ctx context.Context, tx store.Ops, a Actor, u store.User, why string) error {
	return e.disableConsoleAccountsOf(ctx, tx, a, u, reasonUserDeprovisioned, map[string]any{"deprovisionReason": why})
}

// disableRenamedConsoleAccounts disables, as disableConsoleAccounts does,
// the console accounts of before's userName when after renames the user
// (see the comment at the top of this file), with reason "user renamed".
func (e *Engine) disableRenamedConsoleAccounts(ctx context.Context, tx store.Ops, a Actor, before, after store.User) error {
	if store.FoldName(before.UserName) == store.FoldName(after.UserName) {
		return nil
	}
	return e.disableConsoleAccountsOf(ctx, tx, a, before, reasonUserRenamed, map[string]any{"newUserName": after.UserName})
}

// disableConsoleAccountsOf disables the enabled console accounts of u's
// userName, each audited with reason and the extra detail.
func (e *Engine) disableConsoleAccountsOf(ctx context.Context, tx store.Ops, a Actor, u store.User, reason string, extra map[string]any) error {
	accounts, err := store.ConsoleAccountsOf(ctx, tx, u.UserName)
	if err != nil {
		return err
	}
	now := e.now().UTC()
	for _, acct := range accounts {
		if !acct.Disabled.IsZero() {
			continue
		}
		acct, n, err := store.DisableConsoleAccount(ctx, tx, acct.ID, now)
		if err != nil {
			return err
		}
		detail := map[string]any{
			"name": acct.Name, "role": acct.Role, "sessionsEnded": n, "reason": reason,
			"user": u.ID, "userName": u.UserName,
		}
		for k, v := range extra {
			detail[k] = v
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionConsoleAccountDisable, Subject: subjectConsolePrefix + acct.ID,
			Detail: detail,
		}); err != nil {
			return err
		}
		e.log.Info("console account disabled: "+reason, "account", acct.Name, "role", acct.Role,
			"user", u.ID, "sessionsEnded", n, "actor", a.Name)
	}
	return nil
}
