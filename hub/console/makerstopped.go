package console

import (
	"context"
	"errors"
	"fmt"

	"github.com/shiftgate/shiftgate/hub/store"
)

// MakerStopped says why an admin API token that console account id made
// on the console (store.Token.CreatedBy) may not act now, or "" when it
// may: the hub asks on every request with such a token, after the token
// itself verified.
//
// A token made on the console is its maker's hands on the JSON API, so it
// acts only while its maker could: not once the account is disabled or
// gone (their admin tokens are revoked then anyway:
// store.DisableConsoleAccount, and the hub's start), and not while the
// account's hub user has left (hubUserGone), as the account's console
// session and its decisions are refused then (viewer, sessionSelfIn).
// That last one is no revocation: the account is enabled, and may be
// again the person's when the identity provider enables the user. An
// enabled account's hub user can have left without the leaver path
// disabling it: a user created already disabled (active false, or an end
// date passed) or a disabled user renamed takes the accounts of its name
// that are linked to nobody (hub/lifecycle's linkConsoleAccounts), which
// stay enabled; or an account was enabled again in the store by hand or
// with a restored backup. Governance reports such an account and its
// tokens (orphaned/console_account_of_inactive_user,
// orphaned/token_of_inactive_maker) for someone to disable or rotate;
// until then its tokens are refused here as its session is.
func (c *Console) MakerStopped(ctx context.Context, id string) (string, error) {
	a, err := c.st.GetConsoleAccount(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Sprintf("console account %s, which made it, no longer exists", id), nil
	}
	if err != nil {
		return "", fmt.Errorf("maker of token: console account %s: %w", id, err)
	}
	if !a.Disabled.IsZero() {
		return fmt.Sprintf("console account %s, which made it, is disabled", a.Name), nil
	}
	gone, err := hubUserGone(ctx, c.st, a)
	if err != nil {
		return "", fmt.Errorf("maker of token: %w", err)
	}
	if gone {
		return fmt.Sprintf("the hub user of console account %s, which made it, is disabled or deleted", a.Name), nil
	}
	return "", nil
}
