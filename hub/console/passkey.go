package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// passkeyUser adapts a console account to go-webauthn.
type passkeyUser struct {
	a     store.ConsoleAccount
	creds []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.a.WebAuthnID }
func (u *passkeyUser) WebAuthnName() string                       { return u.a.Name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.a.Name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func toWebAuthn(c store.ConsoleCredential) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		ts[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: c.ID, PublicKey: c.PublicKey, Transport: ts,
		Flags:         webauthn.CredentialFlags{UserPresent: true, UserVerified: true, BackupEligible: c.BackupEligible, BackupState: c.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: c.AAGUID, SignCount: c.SignCount},
	}
}

// readBody decodes a small JSON request body.
func readBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge
		}
		return badRequest("could not read the request body")
	}
	if !utf8.Valid(b) {
		// encoding/json, go-webauthn's parser included, would read U+FFFD
		// in place of each byte that is not UTF-8: what is checked would
		// not be what was sent. The admin API and SCIM refuse it too.
		return badRequest("the body must be UTF-8 text: it holds bytes that are not UTF-8")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("the body is not the expected JSON object")
	}
	return nil
}

// errSignin is every refused sign-in: the page does not learn why.
var errSignin = &statusError{http.StatusUnauthorized, "this passkey cannot sign in to the console"}

// loginBegin starts a usernameless passkey sign-in.
func (c *Console) loginBegin(w http.ResponseWriter, r *http.Request, _ *viewer) error {
	assertion, session, err := c.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return err
	}
	id, err := c.ceremony.put(clientKey(r), &ceremony{session: *session})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": id, "options": assertion})
	return nil
}

// loginFinish verifies the assertion, checks the account and its passkey,
// and starts a session.
func (c *Console) loginFinish(w http.ResponseWriter, r *http.Request, _ *viewer) error {
	var req struct {
		Ceremony   string          `json:"ceremony"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := readBody(r, &req); err != nil {
		return err
	}
	cer, ok := c.ceremony.take(req.Ceremony)
	if !ok || cer.register {
		return &statusError{http.StatusBadRequest, "the sign-in expired: start again"}
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(req.Credential)
	if err != nil {
		return badRequest("the passkey's answer is not valid")
	}
	var (
		account store.ConsoleAccount
		stored  store.ConsoleCredential
	)
	_, cred, err := c.wa.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) {
		a, err := c.st.GetConsoleAccountByWebAuthnID(r.Context(), handle)
		if err != nil {
			return nil, err
		}
		if !a.Disabled.IsZero() {
			return nil, errors.New("account disabled")
		}
		sc, err := c.st.GetConsoleCredential(r.Context(), rawID)
		if err != nil {
			return nil, err
		}
		if sc.AccountID != a.ID || !sc.Revoked.IsZero() {
			return nil, errors.New("passkey revoked or not the account's")
		}
		account, stored = a, sc
		return &passkeyUser{a: a, creds: []webauthn.Credential{toWebAuthn(sc)}}, nil
	}, cer.session, parsed)
	if err != nil {
		c.cfg.Logger.Info("console sign-in refused", "err", err)
		return errSignin
	}
	presented := parsed.Response.AuthenticatorData.Counter
	cloned := func(storedCount uint32) error {
		// The counter did not go up: a copy of the key may exist. Refuse,
		// revoke it so an admin must look before it works again, and end
		// the account's sessions, since the copy that signed in first may
		// be the attacker's. A client that hangs up does not stop that.
		ctx := context.WithoutCancel(r.Context())
		stored.SignCount = storedCount
		if err := c.revokeCloned(ctx, account, stored, presented); err != nil {
			return fmt.Errorf("revoke cloned console passkey of %s: %w", account.Name, err)
		}
		c.cfg.Logger.Warn("console passkey sign counter did not go up: revoked, sessions ended", "account", account.Name,
			"storedCounter", storedCount, "presentedCounter", presented)
		return errSignin
	}
	if cred.Authenticator.CloneWarning {
		return cloned(stored.SignCount)
	}
	// The passkey as stored now, not as read before the check: two copies
	// signing in at once both passed it against the same counter, and a
	// revocation may have come in between.
	now := c.cfg.Now().UTC()
	var raced *uint32
	err = c.startSession(r, w, account, "passkey", func(tx store.Ops) error {
		if acct, err := tx.GetConsoleAccount(r.Context(), account.ID); err != nil {
			return err
		} else if !acct.Disabled.IsZero() {
			return errSignin // disabled since the check above
		}
		_, err := tx.UpdateConsoleCredential(r.Context(), stored.ID, func(old store.ConsoleCredential) (store.ConsoleCredential, error) {
			switch {
			case !old.Revoked.IsZero():
				return old, errSignin
			case (presented != 0 || old.SignCount != 0) && presented <= old.SignCount:
				raced = &old.SignCount
				return old, errSignin
			}
			old.SignCount, old.LastUsed, old.BackupState = cred.Authenticator.SignCount, now, cred.Flags.BackupState
			return old, nil
		})
		return err
	})
	if raced != nil {
		return cloned(*raced)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"next": landing(account)})
	return nil
}

// revokeCloned revokes the passkey cred of account a, whose sign counter
// did not go up, ends every console session of a and audits it, in one
// transaction.
func (c *Console) revokeCloned(ctx context.Context, a store.ConsoleAccount, cred store.ConsoleCredential, presented uint32) error {
	now := c.cfg.Now().UTC()
	return c.st.InTx(ctx, func(tx store.Ops) error {
		ids, n, err := revokePasskeys(ctx, tx, a.ID, cred.ID, now)
		if err != nil {
			return err
		}
		_, err = c.cfg.Audit.Append(ctx, tx, audit.Entry{Actor: "console:" + a.Name, System: "console", Action: "console.passkey_revoked",
			Subject: "console:" + a.ID, Detail: map[string]any{"name": a.Name, "credentials": ids, "reason": "sign_count_regression",
				"storedCounter": cred.SignCount, "presentedCounter": presented, "sessionsEnded": n}})
		return err
	})
}

// revokePasskeys revokes inside tx account accountID's live passkeys (only
// the one with ID only, when only is not nil) and ends all the account's
// console sessions: whoever signed in with a revoked passkey must not stay
// signed in. It returns the IDs of the passkeys it revoked, in hex, and the
// number of sessions it ended.
func revokePasskeys(ctx context.Context, tx store.Ops, accountID string, only []byte, now time.Time) ([]string, int, error) {
	creds, err := tx.ListConsoleCredentials(ctx, accountID)
	if err != nil {
		return nil, 0, err
	}
	ids := []string{}
	for _, cr := range creds {
		if !cr.Revoked.IsZero() || only != nil && !bytes.Equal(cr.ID, only) {
			continue
		}
		if _, err := tx.UpdateConsoleCredential(ctx, cr.ID, func(old store.ConsoleCredential) (store.ConsoleCredential, error) {
			old.Revoked = now
			return old, nil
		}); err != nil {
			return nil, 0, err
		}
		ids = append(ids, hex.EncodeToString(cr.ID))
	}
	n, err := tx.EndConsoleSessions(ctx, accountID, now)
	if err != nil {
		return nil, 0, err
	}
	return ids, n, nil
}

// landing is where an account goes after sign-in: an auditor to the
// audit trail, the evidence it comes for (verify, export; the dashboard's
// numbers are one link away).
func landing(a store.ConsoleAccount) string {
	switch a.Role {
	case store.ConsoleAdmin:
		return "/console/dashboard"
	case store.ConsoleAuditor:
		return "/console/audit"
	}
	return "/console/site/"
}

// registerBegin starts a passkey registration for the account an invite
// names. The invite is checked here and used up only at finish, so a
// cancelled prompt does not burn the link.
func (c *Console) registerBegin(w http.ResponseWriter, r *http.Request, _ *viewer) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := readBody(r, &req); err != nil {
		return err
	}
	inv, a, err := c.checkInvite(r.Context(), req.Token)
	if err != nil {
		return err
	}
	creds, err := c.st.ListConsoleCredentials(r.Context(), a.ID)
	if err != nil {
		return err
	}
	var exclude []protocol.CredentialDescriptor
	for _, cr := range creds {
		if cr.Revoked.IsZero() {
			exclude = append(exclude, protocol.CredentialDescriptor{Type: protocol.PublicKeyCredentialType, CredentialID: cr.ID})
		}
	}
	creation, session, err := c.wa.BeginRegistration(&passkeyUser{a: a},
		webauthn.WithExclusions(exclude),
		// Console sign-in names no account (loginBegin): only a
		// discoverable passkey can ever sign in. credProps has the browser
		// say whether it made one, for registerFinish to refuse one that
		// is not.
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return err
	}
	id, err := c.ceremony.put(clientKey(r), &ceremony{session: *session, register: true, accountID: a.ID, invite: inv.Hash})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": id, "options": creation, "account": a.Name})
	return nil
}

// errNotDiscoverable is a passkey the browser reports it did not store
// on the device or security key (credProps rk false). Nothing is stored
// and the invitation link is not used up, so the same page can try again.
var errNotDiscoverable = &statusError{http.StatusBadRequest, "this passkey was not saved on your device or security key, so it could never sign you in (the console's sign-in asks for no account name); nothing was registered and your invitation link still works: choose Create my passkey again and save the passkey in a password manager, on this device, or on a security key that stores passkeys and has room for another"}

// errInvite is every unusable invite: wrong, used or expired look alike.
var errInvite = &statusError{http.StatusGone, "this invitation link is not valid: it was used already, has expired, or was mistyped; ask an admin for a new one"}

// errAccountRefused is an invite whose account may not sign in although
// it is enabled: its hub user has left (hubUserGone).
var errAccountRefused = &statusError{http.StatusForbidden, "this console account cannot sign in: ask an admin"}

// checkInvite finds the account of a usable invite token.
func (c *Console) checkInvite(ctx context.Context, token string) (store.ConsoleInvite, store.ConsoleAccount, error) {
	secret, ok := parseInvite(token)
	if !ok {
		return store.ConsoleInvite{}, store.ConsoleAccount{}, errInvite
	}
	hash := hashSecret(secret)
	inv, err := c.st.GetConsoleInvite(ctx, hash, c.cfg.Now().UTC())
	if errors.Is(err, store.ErrNotFound) || err == nil && subtle.ConstantTimeCompare(inv.Hash, hash) != 1 {
		return store.ConsoleInvite{}, store.ConsoleAccount{}, errInvite
	}
	if err != nil {
		return store.ConsoleInvite{}, store.ConsoleAccount{}, err
	}
	a, err := c.st.GetConsoleAccount(ctx, inv.AccountID)
	if err != nil {
		return store.ConsoleInvite{}, store.ConsoleAccount{}, err
	}
	if !a.Disabled.IsZero() {
		return store.ConsoleInvite{}, store.ConsoleAccount{}, errInvite
	}
	// Refused before the browser makes a passkey that could never sign
	// in; startSession checks again when the registration finishes.
	if gone, err := hubUserGone(ctx, c.st, a); err != nil {
		return store.ConsoleInvite{}, store.ConsoleAccount{}, err
	} else if gone {
		c.cfg.Logger.Warn("console registration refused: the account's hub user is disabled or deleted", "account", a.Name, "role", a.Role)
		return store.ConsoleInvite{}, store.ConsoleAccount{}, errAccountRefused
	}
	return inv, a, nil
}

// registerFinish verifies the new passkey, uses up the invite and stores
// the passkey in one transaction, then signs the account in.
func (c *Console) registerFinish(w http.ResponseWriter, r *http.Request, _ *viewer) error {
	var req struct {
		Token      string          `json:"token"`
		Ceremony   string          `json:"ceremony"`
		Credential json.RawMessage `json:"credential"`
	}
	if err := readBody(r, &req); err != nil {
		return err
	}
	cer, ok := c.ceremony.take(req.Ceremony)
	if !ok || !cer.register {
		return &statusError{http.StatusBadRequest, "the registration expired: open the invitation link again"}
	}
	secret, ok := parseInvite(req.Token)
	if !ok || subtle.ConstantTimeCompare(hashSecret(secret), cer.invite) != 1 {
		return errInvite
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(req.Credential)
	if err != nil {
		return badRequest("the passkey's answer is not valid")
	}
	a, err := c.st.GetConsoleAccount(r.Context(), cer.accountID)
	if err != nil {
		return err
	}
	wc, err := c.wa.CreateCredential(&passkeyUser{a: a}, cer.session, parsed)
	if err != nil {
		c.cfg.Logger.Info("console passkey registration refused", "account", a.Name, "err", err)
		return badRequest("the passkey could not be verified")
	}
	if rk := wc.Extensions.RK; rk != nil && !*rk {
		// Stored, it would use up the invitation link for a passkey that
		// never signs in: the sign-in names no account, so only a passkey
		// the device keeps can answer it. A browser that does not say (no
		// credProps) is trusted to have honoured "required", as WebAuthn
		// clients must.
		c.cfg.Logger.Info("console passkey registration refused: the browser reports credProps rk false", "account", a.Name,
			"credential", hex.EncodeToString(wc.ID))
		return errNotDiscoverable
	}
	now := c.cfg.Now().UTC()
	cred := store.ConsoleCredential{
		ID: wc.ID, AccountID: a.ID, PublicKey: wc.PublicKey, AAGUID: wc.Authenticator.AAGUID, SignCount: wc.Authenticator.SignCount,
		BackupEligible: wc.Flags.BackupEligible, BackupState: wc.Flags.BackupState, Created: now, LastUsed: now,
	}
	for _, t := range wc.Transport {
		cred.Transports = append(cred.Transports, string(t))
	}
	err = c.startSession(r, w, a, "invite", func(tx store.Ops) error {
		if _, err := tx.UseConsoleInvite(r.Context(), cer.invite, now); err != nil {
			return err
		}
		acct, err := tx.GetConsoleAccount(r.Context(), a.ID)
		if err != nil {
			return err
		}
		if !acct.Disabled.IsZero() {
			return store.ErrNotFound
		}
		if _, err := tx.CreateConsoleCredential(r.Context(), cred); err != nil {
			return err
		}
		_, err = c.cfg.Audit.Append(r.Context(), tx, audit.Entry{Actor: "console:" + a.Name, System: "console", Action: "console.passkey_registered",
			Subject: "console:" + a.ID, Detail: map[string]any{"credential": hex.EncodeToString(wc.ID), "backupEligible": cred.BackupEligible}})
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return errInvite
	}
	if errors.Is(err, store.ErrConflict) {
		return badRequest("this passkey is already registered")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"next": landing(a)})
	return nil
}

// invitePrefix marks console invite tokens, so a token pasted in the wrong
// place is recognisable.
const invitePrefix = "sgi_"

func parseInvite(token string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), invitePrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) != secretBytes {
		return nil, false
	}
	return b, true
}

// newInvite stores an invite for account accountID inside tx and returns
// its token, to show once.
func newInvite(ctx context.Context, tx store.Ops, accountID, createdBy string, now time.Time, ttl time.Duration) (string, error) {
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	inv := store.ConsoleInvite{Hash: hashSecret(secret), AccountID: accountID, CreatedBy: createdBy, Created: now, Expires: now.Add(ttl)}
	if err := tx.CreateConsoleInvite(ctx, inv); err != nil {
		return "", err
	}
	return invitePrefix + base64.RawURLEncoding.EncodeToString(secret), nil
}

// InviteLink is the URL an invite token is opened at. The token travels in
// the fragment, which browsers never send to a server: it stays out of
// access logs, proxies and Referer headers.
func InviteLink(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/console/register#" + token
}

// ErrAdminExists is returned by Bootstrap when an admin can already sign
// in and force was not given.
var ErrAdminExists = errors.New("an admin with a passkey already exists: invite more admins from the console (Accounts)")

// ErrHubUserGone is returned by Bootstrap for an account whose hub user
// has left (hubUserGone), or a new account of a leaver's name or for a
// hub user who has left (accountUser): a link for it could not register a
// passkey, or would give a leaver's name console access.
var ErrHubUserGone = errors.New("the hub user of this name is disabled or deleted")

// Bootstrap creates (or, for an admin without a usable passkey, reuses)
// the admin account name and returns a one-time invite token for it. It
// is how the first admin gets in: whoever can run it holds the data
// directory and so the hub already. With force it also works when other
// admins exist (to recover from lost passkeys). An account it enables
// again after it was disabled gets in through the new link only: its
// passkeys are revoked (enableAccount). A new account is linked to the
// hub user of its name, if there is one (createAccount). An account whose
// hub user has left, or a new account of a leaver's name (accountUser: the
// name's user is disabled, or only deleted users have had the name), is
// refused with ErrHubUserGone, force or not, as the console's invite form
// refuses it: the identity provider decides who has left, and the console
// would refuse the link anyway.
func Bootstrap(ctx context.Context, st store.Store, log *audit.Log, name string, force bool, now time.Time) (string, error) {
	return BootstrapFor(ctx, st, log, name, "", force, now)
}

// BootstrapFor is Bootstrap for the admin account name linked to the hub
// user named userName (`admin bootstrap --user`), as the console's invite
// links one (createAccount), whatever the account's name; "" is
// Bootstrap. The user must exist and not have left: a disabled user, or a
// userName only deleted users have had, is refused with ErrHubUserGone; a
// userName no hub user has, or more than one has, is refused too. A new
// account is linked as the invite form links one, by the same rule
// (accountUser): one of a name only deleted users have had is made only
// for the live hub user given, one of a disabled user's name not at all.
// An existing account is reused only if it is linked to that user
// already: a link is never changed.
func BootstrapFor(ctx context.Context, st store.Store, log *audit.Log, name, userName string, force bool, now time.Time) (string, error) {
	name, userName = strings.TrimSpace(name), strings.TrimSpace(userName)
	if err := validName(name); err != nil {
		return "", err
	}
	now = now.UTC()
	var token string
	err := st.InTx(ctx, func(tx store.Ops) error {
		accounts, err := tx.ListConsoleAccounts(ctx)
		if err != nil {
			return err
		}
		// The account of the name as the store compares names (Unicode
		// case and normalization: store.ConsoleNameKey), so that
		// "E\u0301lodie" finds "Élodie" rather than colliding with it.
		var existing *store.ConsoleAccount
		switch a, err := tx.GetConsoleAccountByName(ctx, name); {
		case err == nil:
			existing = &a
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
		if existing == nil {
			// Refused before anything else, as createAccount below would.
			if _, _, err := accountUser(ctx, tx, name, userName); err != nil {
				return err
			}
		} else if gone, err := hubUserGone(ctx, tx, *existing); err != nil {
			return err
		} else if gone {
			return fmt.Errorf("%w: enable the user in the identity provider first (a leaver keeps no console access), or pick another name", ErrHubUserGone)
		}
		if existing != nil && userName != "" {
			u, err := hubUserNamed(ctx, tx, userName)
			if err != nil {
				return err
			}
			if existing.UserID != u.ID {
				linked := "to no hub user"
				if existing.UserID != "" {
					linked = "to another hub user"
				}
				return fmt.Errorf("console account %q exists, linked %s: an account's hub user is set when it is made and never changed; pick another name", name, linked)
			}
		}
		for _, a := range accounts {
			if force || a.Role != store.ConsoleAdmin || !a.Disabled.IsZero() {
				continue
			}
			creds, err := tx.ListConsoleCredentials(ctx, a.ID)
			if err != nil {
				return err
			}
			for _, cr := range creds {
				if cr.Revoked.IsZero() {
					return ErrAdminExists
				}
			}
		}
		var a store.ConsoleAccount
		detail := map[string]any{"force": force}
		switch {
		case existing == nil:
			var u store.User
			if a, u, err = createAccount(ctx, tx, log, "cli", "cli", newAccount(name, store.ConsoleAdmin, nil, "cli", now), userName); err != nil {
				return err
			}
			if u.ID != "" {
				detail["userName"] = u.UserName
			}
		case existing.Role != store.ConsoleAdmin:
			return fmt.Errorf("console account %q exists with role %s: pick another name", name, existing.Role)
		default:
			// The new link replaces any sent before.
			var ids []string
			if a, ids, _, err = enableAccount(ctx, tx, *existing, now); err != nil {
				return err
			}
			if !existing.Disabled.IsZero() {
				detail["reenabled"], detail["passkeysRevoked"] = true, ids
				// Its admin tokens too, which a hub not started since the
				// disable may have left working (revokeTokensOfReenabled).
				revoked, err := revokeTokensOfReenabled(ctx, tx, log, *existing, now)
				if err != nil {
					return err
				}
				detail["tokensRevoked"] = revoked
			}
		}
		if token, err = newInvite(ctx, tx, a.ID, "cli", now, DefaultInviteTTL); err != nil {
			return err
		}
		detail["name"] = a.Name
		if a.UserID != "" {
			detail["user"] = a.UserID // the hub user it is linked to
		}
		_, err = log.Append(ctx, tx, audit.Entry{Actor: "cli", System: "cli", Action: "console.bootstrap", Subject: "console:" + a.ID,
			Detail: detail})
		return err
	})
	if le := (leftError{}); errors.As(err, &le) {
		err = fmt.Errorf("%w: %s", ErrHubUserGone, le.msg)
	}
	if err != nil {
		return "", fmt.Errorf("bootstrap console admin %q: %w", name, err)
	}
	return token, nil
}

// enableAccount enables account a inside tx (an enabled one stays as it
// is) and voids its unused invitation links, so that a link made after it
// in the same transaction is the only one that works. When a was disabled
// its passkeys are revoked first: disabling stopped them, and enabling the
// account again must not bring back a leaver's or a stolen device's
// passkeys. It returns the account as stored, the IDs of the passkeys it
// revoked (hex; none when a was enabled) and how many links it voided.
// Whether the account may be enabled (its hub user, who asks) is the
// caller's decision.
func enableAccount(ctx context.Context, tx store.Ops, a store.ConsoleAccount, now time.Time) (store.ConsoleAccount, []string, int, error) {
	ids := []string{}
	if !a.Disabled.IsZero() {
		var err error
		if ids, _, err = revokePasskeys(ctx, tx, a.ID, nil, now); err != nil {
			return store.ConsoleAccount{}, nil, 0, err
		}
	}
	a, err := tx.UpdateConsoleAccount(ctx, a.ID, func(old store.ConsoleAccount) (store.ConsoleAccount, error) {
		old.Disabled, old.Modified = time.Time{}, now
		return old, nil
	})
	if err != nil {
		return store.ConsoleAccount{}, nil, 0, err
	}
	voided, err := tx.VoidConsoleInvites(ctx, a.ID, now)
	if err != nil {
		return store.ConsoleAccount{}, nil, 0, err
	}
	return a, ids, voided, nil
}

// newAccount builds an account with a fresh random user handle.
func newAccount(name, role string, sites []string, createdBy string, now time.Time) store.ConsoleAccount {
	handle := make([]byte, 32)
	rand.Read(handle) // never fails (crypto/rand panics instead)
	return store.ConsoleAccount{ID: newID(), Name: name, Role: role, Sites: sites, WebAuthnID: handle, CreatedBy: createdBy, Created: now, Modified: now}
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// validName accepts account names that read well in the audit trail.
func validName(name string) error {
	switch {
	case name == "":
		return badRequest("an account needs a name, e.g. an email address")
	case len(name) > 100:
		return badRequest("an account name is at most 100 characters")
	case !utf8.ValidString(name):
		return badRequest("an account name must be UTF-8 text")
	case strings.ContainsFunc(name, store.Hidden):
		// Cf: bidi overrides and isolates, zero-width characters. The
		// name is the actor in the audit trail (console:<name>): one
		// that reads as another account's there is refused.
		return badRequest("an account name cannot contain control or invisible formatting characters (such as right-to-left overrides)")
	case bytes.ContainsAny([]byte(name), "<>\"'"):
		return badRequest("an account name cannot contain < > \" or '")
	}
	return nil
}
