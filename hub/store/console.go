package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Console account roles. The strings are stored; never change them.
const (
	// ConsoleAdmin sees and acts on everything.
	ConsoleAdmin = "admin"
	// ConsoleSupervisor sees and acts only on the sites in its Sites.
	ConsoleSupervisor = "supervisor"
	// ConsoleAuditor reads the evidence (the audit trail, access reviews,
	// risk findings, the program metrics) and changes nothing but its own
	// account: segregation of duties, for internal audit and assessors. It
	// has no Sites.
	ConsoleAuditor = "auditor"
)

// ConsoleAccount is a person who signs in to the web console: a hub admin,
// a site supervisor or an auditor. Console accounts are not SCIM users: they are made
// by invitation from the console (or `shiftgate-hub admin bootstrap`), and
// sign in with passkeys only.
//
// An account may be linked to the hub user it belongs to (UserID): the
// person's leaving disables it, it is refused while that user is disabled
// or deleted, and nobody reviews or grants their own access through it.
// The link is by ID, never by name, so a renamed user keeps their account
// and a new user given a departed one's userName does not get theirs. It
// is set when the account is made (the hub user of its name, if any) or
// when a hub user of its name is created or renamed while the account is
// linked to nobody (LinkConsoleAccounts), and never changed after.
type ConsoleAccount struct {
	ID string
	// Name is unique under ConsoleNameKey and shown in the audit trail as
	// console:<Name>.
	Name  string
	Role  string // ConsoleAdmin, ConsoleSupervisor or ConsoleAuditor
	Sites []string
	// UserID is the ID of the hub user the account is linked to, "" for
	// none (a first admin who is not in the identity provider).
	UserID string
	// WebAuthnID is the user handle passkeys are bound to: random, never
	// reused, so a deleted and re-created Name does not inherit passkeys.
	WebAuthnID []byte
	CreatedBy  string
	Disabled   time.Time // zero while the account may sign in
	Version    int64
	Created    time.Time
	Modified   time.Time
}

// ConsoleNameKey returns the key under which console account names are
// unique and looked up: two names are one when their keys are equal. An
// account's name is its actor in the audit trail (console:<Name>), so
// names that read alike must not be two accounts. The key is
// Unicode canonical caseless matching (D145: case folding between
// canonical decompositions) after PRECIS's width mapping (RFC 8265): a
// decomposed "É" is the precomposed one, "Élodie" is "ÉLODIE", a
// full-width "Ａｄａ" is "Ada", and "Straße" is "STRASSE".
//
// It is not PRECIS UsernameCaseMapped itself: that refuses names the
// console has always accepted (spaces, as in "Ada Lovelace"; punctuation
// outside ASCII), and would leave stored names without a key. Only
// mappings are applied, never refusals. Folding, where PRECIS lower-cases,
// makes the key coarser than PRECIS's: names equal under PRECIS have one
// key. So do names equal under FoldName, the comparison hub users'
// names and the link of a console account to the hub user of its name
// use (LinkConsoleAccounts): at most one account made under this key has
// a given user's name. (The tests check both for every rune.)
func ConsoleNameKey(name string) string {
	s := norm.NFD.String(width.Fold.String(name))
	// Lower-casing first changes no fold but Cherokee's: x/text folds
	// each capital syllable to its small letter and the small letter to
	// the capital, instead of both to the capital (golang/go#46101).
	s = cases.Fold().String(strings.ToLower(s))
	return norm.NFC.String(s)
}

// ConsoleCredential is a console account's passkey.
type ConsoleCredential struct {
	ID             []byte // WebAuthn credential ID, unique
	AccountID      string
	PublicKey      []byte // COSE key
	AAGUID         []byte
	SignCount      uint32
	BackupEligible bool // synced passkeys are fine for the console (unlike kiosk badges)
	BackupState    bool
	Transports     []string
	Created        time.Time
	LastUsed       time.Time
	Revoked        time.Time // zero while usable
}

// ConsoleInvite is a one-time link that lets its account register a
// passkey. Only a hash of the link's token is stored.
type ConsoleInvite struct {
	Hash      []byte // SHA-256 of the token, unique
	AccountID string
	CreatedBy string
	Created   time.Time
	Expires   time.Time
	Used      time.Time // zero until used
}

// ConsoleSession is a signed-in browser. Only a hash of the cookie's
// secret is stored, so a database reader cannot ride a session.
type ConsoleSession struct {
	Hash      []byte // SHA-256 of the cookie secret, unique
	AccountID string
	Created   time.Time
	LastSeen  time.Time // for the idle timeout
	Expires   time.Time // the absolute timeout
	Ended     time.Time // zero while live: sign-out ends it
}

// UserSearch selects users for the console. Results are ordered by
// userName, case-insensitively; deleted users are left out.
type UserSearch struct {
	// Text matches a substring of userName or displayName,
	// case-insensitively (ASCII); empty matches everyone.
	Text string
	// Sites, when not empty, keeps users with at least one of these sites.
	Sites []string
	Limit int // 0: no cap
}

// AuditSearch selects audit records newest first; zero fields do not
// filter.
type AuditSearch struct {
	// Subjects keeps records whose subject is any of these, exactly
	// (e.g. every user who has had a name: a re-hire is a new user).
	Subjects []string
	Action   string // exact
	Actor    string // exact
	// Mentions keeps records whose subject or detail contain any of
	// these texts (e.g. the IDs of the kiosks that have had a name, as
	// they appear in a session.start detail).
	Mentions []string
	From     time.Time // at or after
	To       time.Time // before
	// BeforeSeq pages back: only records with a smaller Seq (0: from the head).
	BeforeSeq int64
	Limit     int // 0: no cap
}

// ConsoleOps reads and writes the web console's accounts, passkeys,
// invitations and sessions, plus the few newest-first queries the console's
// pages need.
type ConsoleOps interface {
	// CreateConsoleAccount stores a (Version becomes 1); ErrConflict if
	// another account's name has the ConsoleNameKey of a.Name.
	CreateConsoleAccount(ctx context.Context, a ConsoleAccount) (ConsoleAccount, error)
	GetConsoleAccount(ctx context.Context, id string) (ConsoleAccount, error)
	// GetConsoleAccountByName finds the account whose name has the
	// ConsoleNameKey of name. A store that holds accounts from before
	// that key may hold several of one key (their names differed when
	// they were made, and a name is never changed behind its owner's
	// back): of those it returns the one whose name is name exactly, else
	// the one whose name equals it in ASCII case only (the comparison they
	// were made under, which kept them apart), else ErrNotFound.
	GetConsoleAccountByName(ctx context.Context, name string) (ConsoleAccount, error)
	// GetConsoleAccountByWebAuthnID finds the account a passkey's user
	// handle names.
	GetConsoleAccountByWebAuthnID(ctx context.Context, handle []byte) (ConsoleAccount, error)
	// ListConsoleAccounts returns every account ordered by Created, then ID.
	ListConsoleAccounts(ctx context.Context) ([]ConsoleAccount, error)
	// ListConsoleAccountsOfUser returns the accounts linked to the hub
	// user userID, disabled ones included, ordered as ListConsoleAccounts
	// orders them; none for "".
	ListConsoleAccountsOfUser(ctx context.Context, userID string) ([]ConsoleAccount, error)
	// ListConsoleAccountsOfUserOrName returns, disabled ones included, the
	// accounts linked to the hub user userID (none for ""), then the
	// accounts linked to no hub user whose Name equals userName under
	// FoldName, the comparison LinkConsoleAccounts links under (none for
	// a blank userName); each part ordered as ListConsoleAccounts orders
	// them. These are what a leaver of that ID and userName takes with
	// them: an unlinked account of their name may be theirs.
	ListConsoleAccountsOfUserOrName(ctx context.Context, userID, userName string) ([]ConsoleAccount, error)
	// UpdateConsoleAccount replaces the account with what fn returns (ID,
	// Created, WebAuthnID and UserID kept; Version incremented): the link
	// to a hub user is set only by CreateConsoleAccount and
	// LinkConsoleAccounts. ErrConflict if the name changes to one whose
	// ConsoleNameKey another account's name has.
	UpdateConsoleAccount(ctx context.Context, id string, fn func(ConsoleAccount) (ConsoleAccount, error)) (ConsoleAccount, error)
	// LinkConsoleAccounts links to the hub user userID every account,
	// enabled or disabled, that is linked to no hub user (UserID "") and
	// whose Name equals userName under FoldName, setting Modified to at
	// and incrementing Version, and returns them as stored, ordered as
	// ListConsoleAccounts orders them. An account linked already, to
	// this user or another, is left as it is: a userName given to
	// somebody new does not bring the account of the person who had it.
	// It checks and sets the link in one write, so two links cannot race.
	LinkConsoleAccounts(ctx context.Context, userID, userName string, at time.Time) ([]ConsoleAccount, error)

	// CreateConsoleCredential stores c; ErrConflict if the ID is taken.
	CreateConsoleCredential(ctx context.Context, c ConsoleCredential) (ConsoleCredential, error)
	GetConsoleCredential(ctx context.Context, id []byte) (ConsoleCredential, error)
	// ListConsoleCredentials returns an account's passkeys, revoked ones
	// included, ordered by Created.
	ListConsoleCredentials(ctx context.Context, accountID string) ([]ConsoleCredential, error)
	// UpdateConsoleCredential replaces the credential with what fn returns
	// (ID, AccountID and Created kept).
	UpdateConsoleCredential(ctx context.Context, id []byte, fn func(ConsoleCredential) (ConsoleCredential, error)) (ConsoleCredential, error)

	// CreateConsoleInvite stores inv; ErrConflict if the hash is taken.
	CreateConsoleInvite(ctx context.Context, inv ConsoleInvite) error
	// GetConsoleInvite returns the invite with that hash if it is unused
	// and not expired at at; ErrNotFound otherwise.
	GetConsoleInvite(ctx context.Context, hash []byte, at time.Time) (ConsoleInvite, error)
	// UseConsoleInvite marks the invite used at at and returns it.
	// ErrNotFound unless it exists, is unused and has not expired at at:
	// an invite works once, even under concurrent use.
	UseConsoleInvite(ctx context.Context, hash []byte, at time.Time) (ConsoleInvite, error)
	// VoidConsoleInvites marks every unused invite of the account used at
	// at (a new link replaces them) and returns how many it voided.
	VoidConsoleInvites(ctx context.Context, accountID string, at time.Time) (int, error)

	// CreateConsoleSession stores s; ErrConflict if the hash is taken.
	CreateConsoleSession(ctx context.Context, s ConsoleSession) error
	// GetConsoleSession returns the session with that hash, ended or not.
	GetConsoleSession(ctx context.Context, hash []byte) (ConsoleSession, error)
	// TouchConsoleSession sets LastSeen of a live session; ErrNotFound if
	// there is no live session with that hash.
	TouchConsoleSession(ctx context.Context, hash []byte, at time.Time) error
	// EndConsoleSession ends one live session; ErrNotFound if none is live.
	EndConsoleSession(ctx context.Context, hash []byte, at time.Time) error
	// EndConsoleSessions ends every live session of the account ("sign out
	// everywhere") and returns how many it ended.
	EndConsoleSessions(ctx context.Context, accountID string, at time.Time) (int, error)
	// ListConsoleSessions returns the account's sessions not ended (some
	// may have timed out: the caller knows its timeouts), newest first.
	ListConsoleSessions(ctx context.Context, accountID string) ([]ConsoleSession, error)

	// SearchUsers finds users for the console's search box.
	SearchUsers(ctx context.Context, q UserSearch) ([]User, error)
	// ListSiteGrants returns the grants at any of the sites (compared
	// case-insensitively) that are not revoked and end after endAfter,
	// ordered by Start, then ID: what a supervisor must see and may revoke.
	ListSiteGrants(ctx context.Context, sites []string, endAfter time.Time) ([]Grant, error)
	// RecentRevocations returns up to limit revocations, newest first.
	RecentRevocations(ctx context.Context, limit int) ([]Revocation, error)
	// SearchAudit returns audit records newest first.
	SearchAudit(ctx context.Context, q AuditSearch) ([]AuditRecord, error)
}

// DisableConsoleAccount disables console account id at at, ends its
// live console sessions and revokes the admin-scope API tokens it made
// that still work (RevokeAdminTokensOf), through ops: call it with a
// transaction's Ops so that all of it happens or none, with the caller's
// audit records. It returns the account as stored and what its disabling
// stopped with it.
//
// It is the one way to disable an account, so that no path can disable
// one and leave its admin tokens working: an admin token is its maker's
// hands on the JSON API, and goes with its maker as the maker's console
// sessions do (token.RevokeOfDisabledMaker says why, and why SCIM and
// metrics tokens stay). The caller records a token.revoke for each token
// in ConsoleDisable.TokensRevoked (token.RevokeAuditDetail) and, in a
// process that verifies tokens, has the verifier forget each once the
// transaction is over (token.Verifier.Forget), so that it is refused
// from the next request on.
//
// An account disabled already is ErrAccountDisabled, and nothing is
// changed: its Disabled time stays when it was disabled, and the disable
// that did it ended its sessions and revoked its tokens (those of an
// account disabled before that rule are revoked as the hub starts,
// token.RevokeOfDisabledMakers). A caller records nothing for it: a
// second console.account_disable record would tell an auditor that it
// was disabled again, by whoever repeated the request.
//
// That is all disabling takes: a disabled account's passkeys and unused
// invitation links are refused wherever they are checked, and every
// console request and live-update poll reads the account again, so its
// open pages and streams stop at their next request. Enabling it again
// is a deliberate act elsewhere (the console's Enable, `shiftgate-hub
// admin bootstrap`), which revokes the passkeys it had; the tokens
// revoked here stay revoked.
func DisableConsoleAccount(ctx context.Context, ops Ops, id string, at time.Time) (ConsoleAccount, ConsoleDisable, error) {
	a, err := ops.UpdateConsoleAccount(ctx, id, func(old ConsoleAccount) (ConsoleAccount, error) {
		if !old.Disabled.IsZero() {
			return old, fmt.Errorf("console account %s: %w", old.Name, ErrAccountDisabled)
		}
		old.Disabled, old.Modified = at, at
		return old, nil
	})
	if err != nil {
		return ConsoleAccount{}, ConsoleDisable{}, fmt.Errorf("disable console account %s: %w", id, err)
	}
	n, err := ops.EndConsoleSessions(ctx, a.ID, at)
	if err != nil {
		return ConsoleAccount{}, ConsoleDisable{}, fmt.Errorf("disable console account %s: %w", id, err)
	}
	ts, err := RevokeAdminTokensOf(ctx, ops, func(by string) bool { return by == a.ID }, at)
	if err != nil {
		return ConsoleAccount{}, ConsoleDisable{}, fmt.Errorf("disable console account %s: %w", id, err)
	}
	return a, ConsoleDisable{SessionsEnded: n, TokensRevoked: ts}, nil
}

// ErrAccountDisabled: DisableConsoleAccount found the account disabled
// already, and changed nothing.
var ErrAccountDisabled = errors.New("console account is disabled already")

// ConsoleDisable is what DisableConsoleAccount stopped with an account.
type ConsoleDisable struct {
	// SessionsEnded is how many live console sessions it ended.
	SessionsEnded int
	// TokensRevoked are the admin-scope API tokens the account made that
	// it revoked, as stored: the caller audits and forgets each.
	TokensRevoked []Token
}

// RevokeAdminTokensOf revokes, through ops and at at, the admin-scope
// tokens that still work (neither revoked nor expired at at) made by a
// console account (Token.CreatedBy not "") that of reports true for, and
// returns them as stored. A token the CLI made (no maker) is never passed
// to of. DisableConsoleAccount calls it for the account it disables; the
// hub's start (token.RevokeOfDisabledMakers) and `admin bootstrap`
// enabling an account again (token.RevokeOfDisabledMaker) for the tokens
// an account disabled before the rule kept.
func RevokeAdminTokensOf(ctx context.Context, ops TokenOps, of func(accountID string) bool, at time.Time) ([]Token, error) {
	ts, err := ops.ListTokens(ctx)
	if err != nil {
		return nil, err
	}
	at = at.UTC()
	var out []Token
	for _, t := range ts {
		// An expired token is refused anyway (token.Expired): revoking it
		// would only add a record.
		expired := !t.Expires.IsZero() && !at.Before(t.Expires)
		if t.CreatedBy == "" || t.Scope != ScopeAdmin || !t.Revoked.IsZero() || expired || !of(t.CreatedBy) {
			continue
		}
		r, err := ops.UpdateToken(ctx, t.ID, func(old Token) (Token, error) {
			old.Revoked = at
			return old, nil
		})
		if err != nil {
			return nil, fmt.Errorf("revoke token %s: %w", t.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}
