package sqlite

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// schemaConsole holds the web console's accounts, passkeys, invitations and
// sessions. Invites and sessions are keyed by the hash of their secret:
// the secret itself never reaches the database.
const schemaConsole = `
CREATE TABLE console_accounts (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	role        TEXT NOT NULL,
	sites       TEXT NOT NULL,
	webauthn_id BLOB NOT NULL,
	created_by  TEXT NOT NULL,
	disabled    INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	modified    INTEGER NOT NULL
);
CREATE UNIQUE INDEX console_accounts_name ON console_accounts (name COLLATE NOCASE);
CREATE UNIQUE INDEX console_accounts_webauthn_id ON console_accounts (webauthn_id);

CREATE TABLE console_credentials (
	id              BLOB PRIMARY KEY NOT NULL,
	account_id      TEXT NOT NULL REFERENCES console_accounts (id),
	public_key      BLOB,
	aaguid          BLOB,
	sign_count      INTEGER NOT NULL,
	backup_eligible INTEGER NOT NULL,
	backup_state    INTEGER NOT NULL,
	transports      TEXT NOT NULL,
	created         INTEGER NOT NULL,
	last_used       INTEGER NOT NULL,
	revoked         INTEGER NOT NULL
);
CREATE INDEX console_credentials_account ON console_credentials (account_id, created);

CREATE TABLE console_invites (
	hash       BLOB PRIMARY KEY NOT NULL,
	account_id TEXT NOT NULL REFERENCES console_accounts (id),
	created_by TEXT NOT NULL,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	used       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE console_sessions (
	hash       BLOB PRIMARY KEY NOT NULL,
	account_id TEXT NOT NULL REFERENCES console_accounts (id),
	created    INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	ended      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX console_sessions_live ON console_sessions (account_id) WHERE ended = 0;
`

// schemaConsoleUserLink links each console account to its hub user by ID
// (store.ConsoleAccount.UserID) instead of by name. An existing account
// is linked as the name rule it had took it, so that what the console
// refused and allowed before the step it refuses and allows after:
//
//   - to the one user, not deleted, whose userName its name is under
//     store.FoldName (user_name_key, schemaNameKeys);
//   - when only deleted users have had the name, to the one deleted last:
//     the name rule refused such an account (its hub user had left), and
//     left unlinked it would be taken by the next user of the name;
//   - when several users, not deleted, have the name (a file from before
//     names were folded), to the disabled one changed last if there is
//     one, which the name rule refused the account for;
//   - otherwise to nobody (an empty user_id): a first admin no hub user
//     is named like, or a name several live users share.
const schemaConsoleUserLink = `
ALTER TABLE console_accounts ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
UPDATE console_accounts SET user_id = coalesce(
	CASE (SELECT count(*) FROM users u WHERE u.user_name_key = ` + foldNameFunc + `(console_accounts.name) AND u.state != 4)
	WHEN 1 THEN (SELECT u.id FROM users u WHERE u.user_name_key = ` + foldNameFunc + `(console_accounts.name) AND u.state != 4)
	WHEN 0 THEN (SELECT u.id FROM users u WHERE u.user_name_key = ` + foldNameFunc + `(console_accounts.name) AND u.state = 4
		ORDER BY u.deleted DESC, u.id DESC LIMIT 1)
	ELSE (SELECT u.id FROM users u WHERE u.user_name_key = ` + foldNameFunc + `(console_accounts.name) AND u.state = 3
		ORDER BY u.modified DESC, u.id DESC LIMIT 1)
	END, '');
CREATE INDEX console_accounts_user_id ON console_accounts (user_id);
`

// schemaConsoleNameKeys makes console account names unique and looked up
// under store.ConsoleNameKey (Unicode case folding and normalization)
// instead of SQLite's NOCASE, which folds ASCII only and so let "Élodie"
// and "élodie", or a precomposed and a decomposed "É", be two accounts
// that read as one in the audit trail. The key is a plain column
// (name_key) that the store writes with each name; the backfill calls
// consoleNameKeyFunc, which only the writer connection has, but nothing
// in the schema does.
//
// A file may hold accounts whose names differ under NOCASE but share a
// key. The step keeps every one of them, with its name: a name is the
// actor of its account's audit records (console:<name>) and what its
// person signs in as, so renaming one (a suffix) would rewrite who did
// what in the evidence, and dropping or disabling one would lock a person
// out unasked. Instead the oldest account of each key (by created, then
// id) holds the key, with an empty name_clash, and each later one gets
// its own ID as name_clash: the unique index on (name_key, name_clash)
// takes them all, and refuses every new name, or changed name, whose key
// an account holds (the store writes an empty name_clash with each new
// or changed name). Which of such accounts are one person's, and which
// to disable, is an admin's call: they stay as they were. The NOCASE
// index stays too: it keeps the names of such accounts apart in ASCII
// case, which lookups by name rely on (GetConsoleAccountByName).
const schemaConsoleNameKeys = `
ALTER TABLE console_accounts ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE console_accounts ADD COLUMN name_clash TEXT NOT NULL DEFAULT '';
UPDATE console_accounts SET name_key = ` + consoleNameKeyFunc + `(name);
UPDATE console_accounts SET name_clash = id WHERE EXISTS (SELECT 1 FROM console_accounts o
	WHERE o.name_key = console_accounts.name_key
	AND (o.created < console_accounts.created OR o.created = console_accounts.created AND o.id < console_accounts.id));
CREATE UNIQUE INDEX console_accounts_name_key ON console_accounts (name_key, name_clash);
`

// consoleNameKeyFunc is store.ConsoleNameKey as an SQL function of the
// writer connection, for schemaConsoleNameKeys.
const consoleNameKeyFunc = "shiftgate_console_name_key"

// Accounts.

// consoleAccountCols are the columns of console_accounts in
// consoleAccountArgs order; user_id was added by schemaConsoleUserLink.
// name_key and name_clash (schemaConsoleNameKeys) are written next to
// them and never read back.
const consoleAccountCols = `id, name, role, sites, webauthn_id, created_by, disabled, version, created, modified, user_id`

func scanConsoleAccount(s scanner) (store.ConsoleAccount, error) {
	var (
		a                           store.ConsoleAccount
		sites                       string
		disabled, created, modified int64
	)
	if err := s.Scan(&a.ID, &a.Name, &a.Role, &sites, &a.WebAuthnID, &a.CreatedBy, &disabled, &a.Version, &created, &modified, &a.UserID); err != nil {
		return store.ConsoleAccount{}, err
	}
	if err := fromJSON(sites, &a.Sites); err != nil {
		return store.ConsoleAccount{}, fmt.Errorf("decode sites: %w", err)
	}
	a.Disabled, a.Created, a.Modified = fromNanos(disabled), fromNanos(created), fromNanos(modified)
	return a, nil
}

func consoleAccountArgs(a store.ConsoleAccount) ([]any, error) {
	if err := checkTimes(a.Disabled, a.Created, a.Modified); err != nil {
		return nil, err
	}
	sites, err := jsonText(a.Sites)
	if err != nil {
		return nil, err
	}
	return []any{a.ID, a.Name, a.Role, sites, a.WebAuthnID, a.CreatedBy, nanos(a.Disabled), a.Version, nanos(a.Created), nanos(a.Modified), a.UserID}, nil
}

func normConsoleAccount(a store.ConsoleAccount) store.ConsoleAccount {
	a.Disabled, a.Created, a.Modified = utc(a.Disabled), utc(a.Created), utc(a.Modified)
	return a
}

func (o ops) CreateConsoleAccount(ctx context.Context, a store.ConsoleAccount) (store.ConsoleAccount, error) {
	a.Version = 1
	args, err := consoleAccountArgs(a)
	if err == nil && len(a.WebAuthnID) == 0 {
		err = errors.New("an account needs a WebAuthn user handle")
	}
	if err != nil {
		return store.ConsoleAccount{}, fmt.Errorf("create console account %s: %w", a.Name, err)
	}
	err = o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO console_accounts (`+consoleAccountCols+`, name_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, append(args, store.ConsoleNameKey(a.Name))...)
		return consoleNameTaken(mapErr(err), a.Name)
	})
	if err != nil {
		return store.ConsoleAccount{}, fmt.Errorf("create console account %s: %w", a.Name, err)
	}
	return normConsoleAccount(a), nil
}

func (o ops) GetConsoleAccount(ctx context.Context, id string) (store.ConsoleAccount, error) {
	a, err := getConsoleAccount(ctx, o.read, `id = ?`, id)
	if err != nil {
		return store.ConsoleAccount{}, fmt.Errorf("get console account %s: %w", id, err)
	}
	return a, nil
}

// GetConsoleAccountByName reads every account of the name's key: one,
// unless schemaConsoleNameKeys found several.
func (o ops) GetConsoleAccountByName(ctx context.Context, name string) (store.ConsoleAccount, error) {
	as, err := queryAll(ctx, o.read, scanConsoleAccount, `SELECT `+consoleAccountCols+` FROM console_accounts
		WHERE name_key = ? ORDER BY created, id`, store.ConsoleNameKey(name))
	if err != nil {
		return store.ConsoleAccount{}, fmt.Errorf("get console account %q: %w", name, err)
	}
	if len(as) == 1 {
		return as[0], nil
	}
	if i := slices.IndexFunc(as, func(a store.ConsoleAccount) bool { return a.Name == name }); i >= 0 {
		return as[i], nil
	}
	// The NOCASE index keeps these apart: at most one matches.
	if i := slices.IndexFunc(as, func(a store.ConsoleAccount) bool { return equalFoldASCII(a.Name, name) }); i >= 0 {
		return as[i], nil
	}
	if len(as) > 1 {
		return store.ConsoleAccount{}, fmt.Errorf("get console account %q: %w: %d accounts from before names were compared in Unicode share the name; give one's exact name",
			name, store.ErrNotFound, len(as))
	}
	return store.ConsoleAccount{}, fmt.Errorf("get console account %q: %w", name, store.ErrNotFound)
}

// equalFoldASCII reports whether a and b are equal with ASCII letters
// folded, as SQLite's NOCASE compares.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func (o ops) GetConsoleAccountByWebAuthnID(ctx context.Context, handle []byte) (store.ConsoleAccount, error) {
	if len(handle) == 0 {
		return store.ConsoleAccount{}, fmt.Errorf("get console account by user handle: %w", store.ErrNotFound)
	}
	a, err := getConsoleAccount(ctx, o.read, `webauthn_id = ?`, handle)
	if err != nil {
		return store.ConsoleAccount{}, fmt.Errorf("get console account by user handle: %w", err)
	}
	return a, nil
}

func getConsoleAccount(ctx context.Context, q querier, where string, arg any) (store.ConsoleAccount, error) {
	a, err := scanConsoleAccount(q.QueryRowContext(ctx, `SELECT `+consoleAccountCols+` FROM console_accounts WHERE `+where, arg))
	return a, mapErr(err)
}

func (o ops) ListConsoleAccounts(ctx context.Context) ([]store.ConsoleAccount, error) {
	as, err := queryAll(ctx, o.read, scanConsoleAccount, `SELECT `+consoleAccountCols+` FROM console_accounts ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("list console accounts: %w", err)
	}
	return as, nil
}

func (o ops) ListConsoleAccountsOfUser(ctx context.Context, userID string) ([]store.ConsoleAccount, error) {
	if userID == "" {
		return nil, nil
	}
	as, err := queryAll(ctx, o.read, scanConsoleAccount, `SELECT `+consoleAccountCols+` FROM console_accounts
		WHERE user_id = ? ORDER BY created, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list console accounts of user %s: %w", userID, err)
	}
	return as, nil
}

// ListConsoleAccountsOfUserOrName finds both parts through
// console_accounts_user_id: the unlinked accounts (an empty user_id) are
// few, and their names are compared with foldNameFunc, which the reader
// and writer connections have, as LinkConsoleAccounts compares them.
// (Their name_key is another comparison: store.ConsoleNameKey.)
func (o ops) ListConsoleAccountsOfUserOrName(ctx context.Context, userID, userName string) ([]store.ConsoleAccount, error) {
	var (
		where []string
		args  []any
	)
	if userID != "" {
		where, args = append(where, `user_id = ?`), append(args, userID)
	}
	if strings.TrimSpace(userName) != "" {
		where, args = append(where, `(user_id = '' AND `+foldNameFunc+`(name) = ?)`), append(args, store.FoldName(userName))
	}
	if len(where) == 0 {
		return nil, nil
	}
	as, err := queryAll(ctx, o.read, scanConsoleAccount, `SELECT `+consoleAccountCols+` FROM console_accounts
		WHERE `+strings.Join(where, " OR ")+` ORDER BY user_id = '', created, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list console accounts of user %s or named %q: %w", userID, userName, err)
	}
	return as, nil
}

// LinkConsoleAccounts compares names with foldNameFunc, which the writer
// connection has: console accounts are few, and their name key is
// another comparison (store.ConsoleNameKey).
func (o ops) LinkConsoleAccounts(ctx context.Context, userID, userName string, at time.Time) ([]store.ConsoleAccount, error) {
	err := checkTime(at)
	if err == nil && userID == "" {
		err = errors.New("no user ID to link to")
	}
	if err != nil {
		return nil, fmt.Errorf("link console accounts to user %s: %w", userID, err)
	}
	if strings.TrimSpace(userName) == "" {
		return nil, nil
	}
	var as []store.ConsoleAccount
	err = o.write(ctx, func(q querier) error {
		var err error
		as, err = queryAll(ctx, q, scanConsoleAccount, `UPDATE console_accounts SET user_id = ?1, version = version + 1, modified = ?2
			WHERE user_id = '' AND `+foldNameFunc+`(name) = ?3 RETURNING `+consoleAccountCols, userID, nanos(at), store.FoldName(userName))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("link console accounts to user %s: %w", userID, err)
	}
	slices.SortFunc(as, func(a, b store.ConsoleAccount) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return as, nil
}

func (o ops) UpdateConsoleAccount(ctx context.Context, id string, fn func(store.ConsoleAccount) (store.ConsoleAccount, error)) (store.ConsoleAccount, error) {
	var a store.ConsoleAccount
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := getConsoleAccount(ctx, q, `id = ?`, id)
		if err != nil {
			return err
		}
		if a, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		a.ID, a.Created, a.WebAuthnID, a.UserID, a.Version = old.ID, old.Created, old.WebAuthnID, old.UserID, old.Version+1
		args, err := consoleAccountArgs(a)
		if err != nil {
			return err
		}
		if a.Name == old.Name {
			// The name's key is left as stored: disabling an account
			// must not fail on its name.
			_, err = q.ExecContext(ctx, `UPDATE console_accounts SET role = ?3, sites = ?4, created_by = ?6,
				disabled = ?7, version = ?8, modified = ?10 WHERE id = ?1`, args...)
			return mapErr(err)
		}
		return renameConsoleAccount(ctx, q, args, a.Name)
	})
	if fnErr != nil {
		return store.ConsoleAccount{}, fnErr
	}
	if err != nil {
		return store.ConsoleAccount{}, fmt.Errorf("update console account %s: %w", id, err)
	}
	return normConsoleAccount(a), nil
}

// renameConsoleAccount stores an update (consoleAccountArgs) that changes
// the account's name: the new name must be free under its key, whatever
// name_clash the account had. When the account held its old key for
// accounts that share it (schemaConsoleNameKeys), the oldest of them
// holds it now, so the key stays taken.
func renameConsoleAccount(ctx context.Context, q querier, args []any, name string) error {
	var oldKey, oldClash string
	if err := q.QueryRowContext(ctx, `SELECT name_key, name_clash FROM console_accounts WHERE id = ?`, args[0]).Scan(&oldKey, &oldClash); err != nil {
		return mapErr(err)
	}
	key := store.ConsoleNameKey(name)
	if _, err := q.ExecContext(ctx, `UPDATE console_accounts SET name = ?2, role = ?3, sites = ?4, created_by = ?6,
		disabled = ?7, version = ?8, modified = ?10, name_key = ?12, name_clash = '' WHERE id = ?1`, append(args, key)...); err != nil {
		return consoleNameTaken(mapErr(err), name)
	}
	if oldClash != "" || oldKey == key {
		return nil
	}
	_, err := q.ExecContext(ctx, `UPDATE console_accounts SET name_clash = '' WHERE id =
		(SELECT id FROM console_accounts WHERE name_key = ? ORDER BY created, id LIMIT 1)`, oldKey)
	return mapErr(err)
}

// consoleNameTaken says which name a unique violation of a console
// account's name (console_accounts_name_key, or the NOCASE
// console_accounts_name) is about; other errors pass unchanged.
func consoleNameTaken(err error, name string) error {
	if errors.Is(err, store.ErrConflict) && strings.Contains(err.Error(), "console_accounts.name") {
		return fmt.Errorf("%w: console account name %q is taken: names that differ only in case, width or how accents are encoded are one name",
			store.ErrConflict, name)
	}
	return err
}

// Credentials.

const consoleCredentialCols = `id, account_id, public_key, aaguid, sign_count, backup_eligible, backup_state, transports, created, last_used, revoked`

func scanConsoleCredential(s scanner) (store.ConsoleCredential, error) {
	var (
		c                          store.ConsoleCredential
		transports                 string
		count                      int64
		created, lastUsed, revoked int64
	)
	if err := s.Scan(&c.ID, &c.AccountID, &c.PublicKey, &c.AAGUID, &count, &c.BackupEligible, &c.BackupState, &transports, &created, &lastUsed, &revoked); err != nil {
		return store.ConsoleCredential{}, err
	}
	if err := fromJSON(transports, &c.Transports); err != nil {
		return store.ConsoleCredential{}, fmt.Errorf("decode transports: %w", err)
	}
	c.SignCount = uint32(count)
	c.Created, c.LastUsed, c.Revoked = fromNanos(created), fromNanos(lastUsed), fromNanos(revoked)
	return c, nil
}

func consoleCredentialArgs(c store.ConsoleCredential) ([]any, error) {
	if err := checkTimes(c.Created, c.LastUsed, c.Revoked); err != nil {
		return nil, err
	}
	transports, err := jsonText(c.Transports)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.AccountID, c.PublicKey, c.AAGUID, int64(c.SignCount), c.BackupEligible, c.BackupState, transports,
		nanos(c.Created), nanos(c.LastUsed), nanos(c.Revoked)}, nil
}

func normConsoleCredential(c store.ConsoleCredential) store.ConsoleCredential {
	c.Created, c.LastUsed, c.Revoked = utc(c.Created), utc(c.LastUsed), utc(c.Revoked)
	return c
}

func (o ops) CreateConsoleCredential(ctx context.Context, c store.ConsoleCredential) (store.ConsoleCredential, error) {
	args, err := consoleCredentialArgs(c)
	if err == nil && len(c.ID) == 0 {
		err = errors.New("a credential needs an ID")
	}
	if err != nil {
		return store.ConsoleCredential{}, fmt.Errorf("create console credential: %w", err)
	}
	err = o.write(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO console_credentials (`+consoleCredentialCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		return mapErr(err)
	})
	if err != nil {
		return store.ConsoleCredential{}, fmt.Errorf("create console credential for %s: %w", c.AccountID, err)
	}
	return normConsoleCredential(c), nil
}

func (o ops) GetConsoleCredential(ctx context.Context, id []byte) (store.ConsoleCredential, error) {
	c, err := getConsoleCredential(ctx, o.read, id)
	if err != nil {
		return store.ConsoleCredential{}, fmt.Errorf("get console credential %x: %w", id, err)
	}
	return c, nil
}

func getConsoleCredential(ctx context.Context, q querier, id []byte) (store.ConsoleCredential, error) {
	c, err := scanConsoleCredential(q.QueryRowContext(ctx, `SELECT `+consoleCredentialCols+` FROM console_credentials WHERE id = ?`, id))
	return c, mapErr(err)
}

func (o ops) ListConsoleCredentials(ctx context.Context, accountID string) ([]store.ConsoleCredential, error) {
	cs, err := queryAll(ctx, o.read, scanConsoleCredential, `SELECT `+consoleCredentialCols+` FROM console_credentials
		WHERE account_id = ? ORDER BY created, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list console credentials of %s: %w", accountID, err)
	}
	return cs, nil
}

func (o ops) UpdateConsoleCredential(ctx context.Context, id []byte, fn func(store.ConsoleCredential) (store.ConsoleCredential, error)) (store.ConsoleCredential, error) {
	var c store.ConsoleCredential
	var fnErr error
	err := o.write(ctx, func(q querier) error {
		old, err := getConsoleCredential(ctx, q, id)
		if err != nil {
			return err
		}
		if c, fnErr = fn(old); fnErr != nil {
			return fnErr
		}
		c.ID, c.AccountID, c.Created = old.ID, old.AccountID, old.Created
		args, err := consoleCredentialArgs(c)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `UPDATE console_credentials SET public_key = ?3, aaguid = ?4, sign_count = ?5,
			backup_eligible = ?6, backup_state = ?7, transports = ?8, last_used = ?10, revoked = ?11 WHERE id = ?1`, args...)
		return mapErr(err)
	})
	if fnErr != nil {
		return store.ConsoleCredential{}, fnErr
	}
	if err != nil {
		return store.ConsoleCredential{}, fmt.Errorf("update console credential %x: %w", id, err)
	}
	return normConsoleCredential(c), nil
}

// Invites.

const consoleInviteCols = `hash, account_id, created_by, created, expires, used`

func scanConsoleInvite(s scanner) (store.ConsoleInvite, error) {
	var (
		inv                    store.ConsoleInvite
		created, expires, used int64
	)
	if err := s.Scan(&inv.Hash, &inv.AccountID, &inv.CreatedBy, &created, &expires, &used); err != nil {
		return store.ConsoleInvite{}, err
	}
	inv.Created, inv.Expires, inv.Used = fromNanos(created), fromNanos(expires), fromNanos(used)
	return inv, nil
}

func (o ops) CreateConsoleInvite(ctx context.Context, inv store.ConsoleInvite) error {
	err := checkTimes(inv.Created, inv.Expires, inv.Used)
	if err == nil && len(inv.Hash) == 0 {
		err = errors.New("an invite needs a hash")
	}
	if err == nil {
		err = o.write(ctx, func(q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO console_invites (`+consoleInviteCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
				inv.Hash, inv.AccountID, inv.CreatedBy, nanos(inv.Created), nanos(inv.Expires), nanos(inv.Used))
			return mapErr(err)
		})
	}
	if err != nil {
		return fmt.Errorf("create console invite for %s: %w", inv.AccountID, err)
	}
	return nil
}

func (o ops) GetConsoleInvite(ctx context.Context, hash []byte, at time.Time) (store.ConsoleInvite, error) {
	if err := checkTimes(at); err != nil {
		return store.ConsoleInvite{}, fmt.Errorf("get console invite: %w", err)
	}
	inv, err := scanConsoleInvite(o.read.QueryRowContext(ctx, `SELECT `+consoleInviteCols+` FROM console_invites
		WHERE hash = ? AND used = 0 AND expires > ?`, hash, nanos(at)))
	if err != nil {
		return store.ConsoleInvite{}, fmt.Errorf("get console invite: %w", mapErr(err))
	}
	return inv, nil
}

// UseConsoleInvite checks and marks the invite in one statement, so two
// concurrent uses cannot both succeed.
func (o ops) UseConsoleInvite(ctx context.Context, hash []byte, at time.Time) (store.ConsoleInvite, error) {
	if err := checkTime(at); err != nil {
		return store.ConsoleInvite{}, fmt.Errorf("use console invite: %w", err)
	}
	var inv store.ConsoleInvite
	err := o.write(ctx, func(q querier) error {
		var err error
		inv, err = scanConsoleInvite(q.QueryRowContext(ctx, `UPDATE console_invites SET used = ?
			WHERE hash = ? AND used = 0 AND expires > ? RETURNING `+consoleInviteCols, nanos(at), hash, nanos(at)))
		return mapErr(err)
	})
	if err != nil {
		return store.ConsoleInvite{}, fmt.Errorf("use console invite: %w", err)
	}
	return inv, nil
}

func (o ops) VoidConsoleInvites(ctx context.Context, accountID string, at time.Time) (int, error) {
	n, err := o.mark(ctx, `UPDATE console_invites SET used = ? WHERE account_id = ? AND used = 0`, at, accountID)
	if err != nil {
		return 0, fmt.Errorf("void console invites of %s: %w", accountID, err)
	}
	return n, nil
}

// Sessions.

const consoleSessionCols = `hash, account_id, created, last_seen, expires, ended`

func scanConsoleSession(s scanner) (store.ConsoleSession, error) {
	var (
		cs                                  store.ConsoleSession
		created, lastSeen, expires, endedAt int64
	)
	if err := s.Scan(&cs.Hash, &cs.AccountID, &created, &lastSeen, &expires, &endedAt); err != nil {
		return store.ConsoleSession{}, err
	}
	cs.Created, cs.LastSeen, cs.Expires, cs.Ended = fromNanos(created), fromNanos(lastSeen), fromNanos(expires), fromNanos(endedAt)
	return cs, nil
}

func (o ops) CreateConsoleSession(ctx context.Context, s store.ConsoleSession) error {
	err := checkTimes(s.Created, s.LastSeen, s.Expires, s.Ended)
	if err == nil && len(s.Hash) == 0 {
		err = errors.New("a session needs a hash")
	}
	if err == nil {
		err = o.write(ctx, func(q querier) error {
			_, err := q.ExecContext(ctx, `INSERT INTO console_sessions (`+consoleSessionCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
				s.Hash, s.AccountID, nanos(s.Created), nanos(s.LastSeen), nanos(s.Expires), nanos(s.Ended))
			return mapErr(err)
		})
	}
	if err != nil {
		return fmt.Errorf("create console session for %s: %w", s.AccountID, err)
	}
	return nil
}

func (o ops) GetConsoleSession(ctx context.Context, hash []byte) (store.ConsoleSession, error) {
	s, err := scanConsoleSession(o.read.QueryRowContext(ctx, `SELECT `+consoleSessionCols+` FROM console_sessions WHERE hash = ?`, hash))
	if err != nil {
		return store.ConsoleSession{}, fmt.Errorf("get console session: %w", mapErr(err))
	}
	return s, nil
}

func (o ops) TouchConsoleSession(ctx context.Context, hash []byte, at time.Time) error {
	return o.endOrTouch(ctx, "touch console session", `UPDATE console_sessions SET last_seen = ? WHERE hash = ? AND ended = 0`, at, hash)
}

func (o ops) EndConsoleSession(ctx context.Context, hash []byte, at time.Time) error {
	return o.endOrTouch(ctx, "end console session", `UPDATE console_sessions SET ended = ? WHERE hash = ? AND ended = 0`, at, hash)
}

// endOrTouch runs an UPDATE of one live session by hash; ErrNotFound when
// no row matched.
func (o ops) endOrTouch(ctx context.Context, op, query string, at time.Time, hash []byte) error {
	if err := checkTime(at); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	err := o.write(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, query, nanos(at), hash)
		if err != nil {
			return mapErr(err)
		}
		n, err := res.RowsAffected()
		if err == nil && n == 0 {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

func (o ops) EndConsoleSessions(ctx context.Context, accountID string, at time.Time) (int, error) {
	n, err := o.mark(ctx, `UPDATE console_sessions SET ended = ? WHERE account_id = ? AND ended = 0`, at, accountID)
	if err != nil {
		return 0, fmt.Errorf("end console sessions of %s: %w", accountID, err)
	}
	return n, nil
}

func (o ops) ListConsoleSessions(ctx context.Context, accountID string) ([]store.ConsoleSession, error) {
	rows, err := o.read.QueryContext(ctx, `SELECT `+consoleSessionCols+` FROM console_sessions WHERE account_id = ? AND ended = 0 ORDER BY created DESC, hash`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list console sessions of %s: %w", accountID, unavailable(err))
	}
	defer rows.Close()
	var out []store.ConsoleSession
	for rows.Next() {
		s, err := scanConsoleSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list console sessions of %s: %w", accountID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list console sessions of %s: %w", accountID, unavailable(err))
	}
	return out, nil
}

// Console queries.

// SearchUsers matches substrings with instr on lower(): SQLite's lower()
// folds ASCII only, which is what userNames are in practice. Sites compare
// under store.FoldName.
func (o ops) SearchUsers(ctx context.Context, us store.UserSearch) ([]store.User, error) {
	where := []string{"state != 4"}
	var args []any
	if us.Text != "" {
		where = append(where, "(instr(lower(user_name), lower(?)) > 0 OR instr(lower(display_name), lower(?)) > 0)")
		args = append(args, us.Text, us.Text)
	}
	if len(us.Sites) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(us.Sites)), ", ")
		// Site names compare under store.FoldName, as logins match a
		// user's sites to a kiosk's (a supervisor of Zürich sees the
		// users provisioned with ZÜRICH).
		where = append(where, "EXISTS (SELECT 1 FROM json_each(users.sites) j WHERE "+foldNameFunc+"(j.value) IN ("+marks+"))")
		for _, s := range us.Sites {
			args = append(args, store.FoldName(s))
		}
	}
	clause, pageArgs := page(0, us.Limit)
	users, err := queryAll(ctx, o.read, func(s scanner) (store.User, error) { return scanUser(s) },
		`SELECT `+userSelectCols+` FROM users WHERE `+strings.Join(where, " AND ")+` ORDER BY user_name COLLATE NOCASE, id`+clause,
		append(args, pageArgs...)...)
	if err != nil {
		return nil, fmt.Errorf("search users: %w", err)
	}
	return users, nil
}

func (o ops) ListSiteGrants(ctx context.Context, sites []string, endAfter time.Time) ([]store.Grant, error) {
	if len(sites) == 0 {
		return nil, nil
	}
	if err := checkTimes(endAfter); err != nil {
		return nil, fmt.Errorf("list site grants: %w", err)
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(sites)), ", ")
	args := []any{nanos(endAfter)}
	for _, s := range sites {
		args = append(args, store.FoldName(s)) // as SearchUsers compares sites
	}
	gs, err := queryAll(ctx, o.read, scanGrant, `SELECT `+grantCols+` FROM grants
		WHERE revoked = 0 AND end_at > ? AND `+foldNameFunc+`(site) IN (`+marks+`) ORDER BY start_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list site grants: %w", err)
	}
	return gs, nil
}

func (o ops) RecentRevocations(ctx context.Context, limit int) ([]store.Revocation, error) {
	clause, pageArgs := page(0, limit)
	rs, err := queryAll(ctx, o.read, scanRevocation, `SELECT `+revocationCols+` FROM revocations ORDER BY id DESC`+clause, pageArgs...)
	if err != nil {
		return nil, fmt.Errorf("recent revocations: %w", err)
	}
	return rs, nil
}

func (o ops) SearchAudit(ctx context.Context, aq store.AuditSearch) ([]store.AuditRecord, error) {
	if err := checkTimes(aq.From, aq.To); err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if aq.BeforeSeq > 0 {
		add("seq < ?", aq.BeforeSeq)
	}
	field, keys := "", []string(nil)
	switch {
	case len(aq.Subjects) > 0:
		field, keys = "subject", aq.Subjects
		if aq.Action != "" {
			add("action = ?", aq.Action)
		}
	case aq.Action != "":
		field, keys = "action", []string{aq.Action}
	}
	if aq.Actor != "" {
		add("actor = ?", aq.Actor)
	}
	if len(aq.Mentions) > 0 {
		conds, margs := make([]string, len(aq.Mentions)), make([]any, 0, 2*len(aq.Mentions))
		for i, m := range aq.Mentions {
			conds[i] = "instr(subject, ?) > 0 OR instr(CAST(detail AS TEXT), ?) > 0"
			margs = append(margs, m, m)
		}
		add("("+strings.Join(conds, " OR ")+")", margs...)
	}
	if !aq.From.IsZero() {
		add("time >= ?", nanos(aq.From))
	}
	if !aq.To.IsZero() {
		add("time < ?", nanos(aq.To))
	}
	clause, pageArgs := page(0, aq.Limit)
	query, all := auditSelect(field, keys, where, args, true, clause, pageArgs)
	rs, err := queryAll(ctx, o.read, scanAudit, query, all...)
	if err != nil {
		return nil, fmt.Errorf("search audit: %w", err)
	}
	return rs, nil
}
