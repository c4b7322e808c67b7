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
const (
	actionConsoleAccountDisable = "console.account_disable" // as the console's own Disable audits it
	subjectConsolePrefix        = "console:"
	reasonUserDeprovisioned     = "user deprovisioned"
)

// disableConsoleAccounts disables, inside tx, the console accounts of the
// hub user u that are not disabled yet and ends their console sessions, as
// the console's Disable does (store.DisableConsoleAccount), each audited
// as a console.account_disable by a with reason "user deprovisioned"; why
// is the deprovisioning's own reason (user deactivated, end date reached,
// user deleted, ...).
func (e *Engine) disableConsoleAccounts(ctx context.Context, tx store.Ops, a Actor, u store.User, why string) error {
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
		if _, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionConsoleAccountDisable, Subject: subjectConsolePrefix + acct.ID,
			Detail: map[string]any{
				"name": acct.Name, "role": acct.Role, "sessionsEnded": n, "reason": reasonUserDeprovisioned,
				"user": u.ID, "userName": u.UserName, "deprovisionReason": why,
			},
		}); err != nil {
			return err
		}
		e.log.Info("console account disabled: its hub user was deprovisioned", "account", acct.Name, "role", acct.Role,
			"user", u.ID, "sessionsEnded", n, "actor", a.Name)
	}
	return nil
}
