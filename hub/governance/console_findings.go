package governance

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// Console account findings: the web console's accounts hold access too
// (an admin's most of all), and an auditor asks about them first.
const (
	// RuleConsoleNoSignIn: an enabled console account that has not signed
	// in for DormantAfter (kind dormant).
	RuleConsoleNoSignIn = "console_no_signin"
	// RuleConsoleOfLeaver: an enabled console account linked to a hub
	// user who is disabled or deleted, or linked to no hub user while a
	// hub user of its name is disabled (kind orphaned). The leaver path
	// disables such accounts; this means one was enabled again, or slipped
	// through.
	RuleConsoleOfLeaver = "console_account_of_inactive_user"
	// RuleTokenOfInactiveMaker: an API token that still works (neither
	// revoked, expired nor replaced by a rotation to a successor still in
	// use) made on the console by an account that is disabled or gone, or
	// linked to a hub user who is disabled or deleted (kind orphaned).
	// An admin token is revoked in the transaction that disables its
	// maker, on every path (store.DisableConsoleAccount), so such a
	// finding is about a SCIM or metrics token, or an admin token whose
	// maker's account is still enabled while its hub user is gone (which
	// the hub refuses at each request meanwhile, as it refuses the
	// account's console session: console.Console.MakerStopped). A SCIM
	// token is not revoked with its maker: its revocation stops
	// provisioning, leavers included, for everyone. No one-click
	// remediation: the fix is a rotation by someone who stays, and only
	// a person can be shown the new secret and give it to the token's
	// user (RemedyNone; the detail says how).
	RuleTokenOfInactiveMaker = "token_of_inactive_maker"
	// RemedyDisableConsole disables the console account and ends its
	// console sessions, as the console's Disable does.
	RemedyDisableConsole = "disable_console_account"
)

// consoleFindings evaluates the console account rules; with only set,
// just for the accounts linked to that user. An account's hub user is the
// one it is linked to by ID (store.ConsoleAccount.UserID), whatever its
// userName is now; an account linked to none has no hub user, but is taken
// for the leaver's while a hub user of its name is disabled
// (disabledNamesake), as the console and the leaver path take it.
func consoleFindings(ctx context.Context, ops store.Ops, d *directory, now time.Time, dormant time.Duration, only string) ([]Finding, error) {
	accounts, err := ops.ListConsoleAccounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, acct := range accounts {
		if !acct.Disabled.IsZero() || only != "" && acct.UserID != only {
			continue
		}
		u, hasUser, err := consoleUser(ctx, d, acct)
		if err != nil {
			return nil, err
		}
		ent := "console:" + acct.Role
		if hasUser && !live(u) {
			f := newFinding(KindOrphaned, RuleConsoleOfLeaver, store.User{UserName: acct.Name}, acct.UserID, consoleEntitlement(acct), u.Modified, RemedyDisableConsole,
				fmt.Sprintf("console account %s (%s) is enabled, but the hub user %s is %s", acct.Name, acct.Role, u.UserName, u.State))
			f.consoleID = acct.ID
			out = append(out, f)
		}
		if !hasUser {
			u, ok, err := disabledNamesake(ctx, ops, acct)
			if err != nil {
				return nil, err
			}
			if ok {
				// UserID "": the finding is about no linked user, and
				// Remediate evaluates it again on the whole directory.
				f := newFinding(KindOrphaned, RuleConsoleOfLeaver, store.User{UserName: acct.Name}, "", consoleEntitlement(acct), u.Modified, RemedyDisableConsole,
					fmt.Sprintf("console account %s (%s) is enabled and linked to no hub user, but the hub user of its name, %s, is %s: "+
						"the account may be theirs", acct.Name, acct.Role, u.UserName, u.State))
				f.consoleID = acct.ID
				out = append(out, f)
			}
		}
		creds, err := ops.ListConsoleCredentials(ctx, acct.ID)
		if err != nil {
			return nil, err
		}
		last := later(acct.Created, acct.Modified)
		for _, c := range creds {
			last = later(last, c.LastUsed)
		}
		if now.Sub(last) >= dormant {
			f := newFinding(KindDormant, RuleConsoleNoSignIn, store.User{UserName: acct.Name}, acct.UserID, consoleEntitlement(acct), last, RemedyDisableConsole,
				fmt.Sprintf("console account %s (%s) has not signed in since %s (%d days); it can still sign in", acct.Name, ent, last.Format(time.RFC3339), int(now.Sub(last)/(24*time.Hour))))
			f.consoleID = acct.ID
			out = append(out, f)
		}
	}
	return out, nil
}

// tokenFindings evaluates orphaned/token_of_inactive_maker; with only set,
// just for the tokens made by console accounts linked to that user. A
// token's maker stands for the hub user its account is linked to as in
// consoleFindings (consoleUser, disabledNamesake).
//
// A token a rotation replaced by a successor still in use is left out
// (token.Succeeded): the rotation was the fix, and the old token stops
// when the overlap ends, within token.MaxOverlap; the successor is the
// rotator's and is judged on its own maker.
func tokenFindings(ctx context.Context, ops store.Ops, d *directory, now time.Time, only string) ([]Finding, error) {
	ts, err := ops.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(ts, func(t store.Token) bool { return t.CreatedBy != "" }) {
		return nil, nil
	}
	accounts, err := ops.ListConsoleAccounts(ctx)
	if err != nil {
		return nil, err
	}
	makers := make(map[string]store.ConsoleAccount, len(accounts))
	for _, a := range accounts {
		makers[a.ID] = a
	}
	byID := token.ByID(ts)
	var out []Finding
	for _, t := range ts {
		if t.CreatedBy == "" || !t.Revoked.IsZero() || token.Expired(t, now) || token.Succeeded(t, byID) {
			continue
		}
		acct, known := makers[t.CreatedBy]
		if only != "" && (!known || acct.UserID != only) {
			continue
		}
		why, since, err := makerGone(ctx, ops, d, acct, known)
		if err != nil {
			return nil, err
		}
		if why == "" {
			continue
		}
		if !known {
			why = fmt.Sprintf("console account %s, which made it, no longer exists", t.CreatedBy)
		}
		// acct is the zero account when unknown: no user, no user ID.
		f := newFinding(KindOrphaned, RuleTokenOfInactiveMaker, store.User{UserName: acct.Name}, acct.UserID, "token:"+t.ID, since, RemedyNone,
			fmt.Sprintf("%s token %s (%s) still works, but %s: rotate it (Rotate on the console's Tokens page, or shiftgate-hub token rotate --data DIR --id %s) "+
				"and give its user the new secret, or revoke it (Revoke on the Tokens page, or shiftgate-hub token revoke --data DIR --id %s)",
				t.Scope, t.ID, t.Name, why, t.ID, t.ID))
		// The orphaned account is the maker's console account, known or
		// not: the orphaned-account rate counts it once, however many of
		// its tokens still work. RemedyNone never reads it.
		f.consoleID = t.CreatedBy
		out = append(out, f)
	}
	return out, nil
}

// makerGone says why console account acct, which made a token, no longer
// answers for it, and since when (zero when unknown), or "" when it still
// does. known is false when the store does not know the account (why is
// then "gone", for the caller to word).
func makerGone(ctx context.Context, ops store.Ops, d *directory, acct store.ConsoleAccount, known bool) (string, time.Time, error) {
	if !known {
		return "gone", time.Time{}, nil
	}
	u, hasUser, err := consoleUser(ctx, d, acct)
	if err != nil {
		return "", time.Time{}, err
	}
	switch {
	case !acct.Disabled.IsZero():
		why := fmt.Sprintf("console account %s (%s), which made it, is disabled", acct.Name, acct.Role)
		if hasUser && !live(u) {
			why += fmt.Sprintf(" (its hub user %s is %s)", u.UserName, u.State)
		}
		return why, acct.Disabled, nil
	case hasUser && !live(u):
		return fmt.Sprintf("console account %s (%s), which made it, is linked to the hub user %s, who is %s", acct.Name, acct.Role, u.UserName, u.State), u.Modified, nil
	case !hasUser:
		n, ok, err := disabledNamesake(ctx, ops, acct)
		if err != nil || !ok {
			return "", time.Time{}, err
		}
		return fmt.Sprintf("console account %s (%s), which made it, is linked to no hub user, but the hub user of its name, %s, is %s: "+
			"the account may be theirs", acct.Name, acct.Role, n.UserName, n.State), n.Modified, nil
	}
	return "", time.Time{}, nil
}

// consoleUser returns the hub user console account acct is linked to, and
// false when it is linked to none. d knows the users that are not deleted
// (all of them, or only's: userDirectory); a deleted one is read
// (directory.user), and one the store does not know is taken for deleted,
// since the account's person is gone either way.
func consoleUser(ctx context.Context, d *directory, acct store.ConsoleAccount) (store.User, bool, error) {
	if acct.UserID == "" {
		return store.User{}, false, nil
	}
	u, ok, err := d.user(ctx, acct.UserID)
	if err != nil {
		return store.User{}, false, err
	}
	if !ok {
		return store.User{ID: acct.UserID, UserName: acct.UserID, State: store.UserDeleted, Modified: acct.Modified}, true, nil
	}
	return u, true, nil
}

// disabledNamesake returns a disabled hub user whose userName is the name
// of console account acct (store.FoldName), when acct is linked to no hub
// user, and false when there is none. Such an account is one the link
// migration could not place (two users from before names were folded had
// the name): any user of its name may be its person, so the console
// refuses it while one of them is disabled (hubUserGone) and the leaver
// path disables it with either's leaving. Enabled while one is disabled,
// it is a leaver's account left enabled, as a linked account of a
// disabled user is. Deleted users do not count: a deleted user's
// userName may be anybody's since.
func disabledNamesake(ctx context.Context, ops store.UserOps, acct store.ConsoleAccount) (store.User, bool, error) {
	if acct.UserID != "" || strings.TrimSpace(acct.Name) == "" {
		return store.User{}, false, nil
	}
	us, _, err := ops.ListUsers(ctx, store.UserQuery{UserName: acct.Name, States: []store.UserState{store.UserDisabled}, Limit: 1})
	if err != nil {
		return store.User{}, false, fmt.Errorf("disabled hub users named like console account %s: %w", acct.Name, err)
	}
	if len(us) == 0 {
		return store.User{}, false, nil
	}
	return us[0], true, nil
}

// consoleEntitlement names a console account in a finding: its ID keeps
// the finding's ID apart from another account's of the same name.
func consoleEntitlement(a store.ConsoleAccount) string { return "console:" + a.ID }

// disableConsole is RemedyDisableConsole in t, audited as the console's
// Disable is, and like it revoking the admin API tokens the account made
// (store.DisableConsoleAccount), audited and forgotten by the token
// verifier after the commit (lifecycle.Tx.TokensRevoked). An actor may
// not disable its own console account that way.
func disableConsole(ctx context.Context, t *lifecycle.Tx, a lifecycle.Actor, f Finding, why string, now time.Time) (string, error) {
	ops := t.Ops()
	acct, err := ops.GetConsoleAccount(ctx, f.consoleID)
	if err != nil {
		return "", err
	}
	if a.Name == "console:"+acct.Name {
		return "", fmt.Errorf("%w: finding %s is about your own console account: ask another admin", ErrForbidden, f.ID)
	}
	if !acct.Disabled.IsZero() {
		return OutcomeGone, nil
	}
	acct, d, err := store.DisableConsoleAccount(ctx, ops, acct.ID, now)
	if err != nil {
		return "", err
	}
	err = t.Audit(ctx, audit.Entry{Actor: a.Name, System: a.System, Action: "console.account_disable", Subject: "console:" + acct.ID,
		Detail: map[string]any{"name": acct.Name, "role": acct.Role, "sessionsEnded": d.SessionsEnded, "reason": why}})
	if err != nil {
		return "", err
	}
	if err := t.TokensRevoked(ctx, a, acct, d.TokensRevoked); err != nil {
		return "", err
	}
	return "done", nil
}
