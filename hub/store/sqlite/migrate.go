package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migration is one step of the schema. Its version is its position in
// migrations() plus one and is kept in PRAGMA user_version.
type migration struct {
	name string
	sql  string
}

// migrations returns the schema's history in order. Append new steps; never
// edit or reorder a step that has shipped.
func migrations() []migration {
	return []migration{
		{name: "initial schema", sql: schemaV1},
		{name: "enrollment codes", sql: schemaV2},
		{name: "shift extensions and timed-event marks", sql: schemaShifts},
		{name: "access reviews", sql: schemaAccessReviews},
		{name: "web console", sql: schemaConsole},
		{name: "stored login policy", sql: schemaPolicy},
		{name: "live-session indexes", sql: schemaLiveSessionIndexes},
		{name: "kiosk names unique among enabled kiosks", sql: schemaDeviceNames},
		{name: "enrollment codes bound to a profile", sql: schemaCodeProfile},
		{name: "Unicode case-insensitive user and group names", sql: schemaNameKeys},
		{name: "deferred indexes of the audit trail and session history", sql: schemaDeferredIndexes},
		{name: "shift extensions bound to a site", sql: schemaExtensionSite},
		{name: "users' start and end dates as calendar days", sql: schemaUserDays},
		{name: "API token expiry and rotation", sql: schemaTokenExpiry},
		{name: "device certificates pinned by serial", sql: schemaDeviceCerts},
		{name: "Unicode case-insensitive site and kiosk names", sql: schemaSiteDeviceNameKeys},
		{name: "console accounts linked to hub users by ID", sql: schemaConsoleUserLink},
		{name: "Unicode console account names", sql: schemaConsoleNameKeys},
		{name: "audit records numbered from 1", sql: schemaAuditFloor},
		{name: "credentials whose model no attestation proved", sql: schemaCredentialModelProof},
		{name: "API tokens record the console account that made them", sql: schemaTokenMaker},
		{name: "review items paged by decision", sql: schemaReviewItemPages},
		{name: "pending review items by reviewer kind", sql: schemaReviewItemsPendingKind},
		{name: "idempotency keys of grant requests", sql: schemaGrantKeys},
		{name: "grants in force by user", sql: schemaActiveGrants},
		{name: "pending review items by reviewer", sql: schemaReviewItemsPendingReviewer},
		{name: "why a session ends at its expiry", sql: schemaSessionExpiryReason},
	}
}

// errNewerSchema refuses a file written by a newer build. It is returned
// as it is, not as a failed migration step: none was tried.
type errNewerSchema struct{ version, supported int }

func (e errNewerSchema) Error() string {
	return fmt.Sprintf("database schema version %d is newer than this build supports (%d): upgrade shiftgate", e.version, e.supported)
}

// ErrNeedsMigration is what OpenWith returns, with Options.NoUpgrade, for
// a file whose schema is older than this build's: it was left unchanged.
var ErrNeedsMigration = errors.New("database schema needs upgrading")

// migrate applies every migration the file has not seen, each in its own
// IMMEDIATE transaction, and refuses a file from a newer build. With
// noUpgrade it refuses, with ErrNeedsMigration, a file that has a schema
// older than this build's, and only creates the schema of a new one.
//
// It reads the version first, outside any write transaction: a file that
// is up to date (every open but the first after an upgrade) then needs no
// write lock at all, so a CLI command opens beside a hub that is writing
// instead of queueing for its lock once per migration, and an error that
// has nothing to do with the schema (a file that is not a database, a
// lock held by another process past the busy timeout) is not reported as
// a failed migration to version 1.
func migrate(ctx context.Context, db *sql.DB, noUpgrade bool) error {
	ms := migrations()
	current, err := schemaVersion(ctx, db)
	if err != nil {
		return err
	}
	if current > len(ms) {
		return errNewerSchema{current, len(ms)}
	}
	// Decided on the version read above, outside any write transaction:
	// the refusal writes nothing, not even a lock.
	if noUpgrade && current > 0 && current < len(ms) {
		return fmt.Errorf("%w: its version %d is older than this build's (%d)", ErrNeedsMigration, current, len(ms))
	}
	for version := current + 1; version <= len(ms); version++ {
		m := ms[version-1]
		err := func() error {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // a no-op after Commit
			// Read the version inside the write transaction, so two
			// processes opening the same new file do not both apply a step.
			current, err := schemaVersion(ctx, tx)
			if err != nil {
				return err
			}
			if current > len(ms) {
				return errNewerSchema{current, len(ms)}
			}
			if current >= version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			// PRAGMA takes no parameters; version is our own integer.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
				return err
			}
			return tx.Commit()
		}()
		var newer errNewerSchema
		if errors.As(err, &newer) {
			return err
		}
		if err != nil {
			return fmt.Errorf("migrate schema to version %d (%s): %w", version, m.name, err)
		}
	}
	return nil
}

func schemaVersion(ctx context.Context, q querier) (int, error) {
	var v int
	if err := q.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// schemaV1 is the initial schema. Times are INTEGER Unix nanoseconds with 0
// for the zero time; slices are JSON text; byte strings are BLOBs kept
// verbatim (NULL for nil).
const schemaV1 = `
CREATE TABLE users (
	id              TEXT PRIMARY KEY,
	user_name       TEXT NOT NULL,
	external_id     TEXT NOT NULL,
	display_name    TEXT NOT NULL,
	active          INTEGER NOT NULL,
	state           INTEGER NOT NULL,
	sites           TEXT NOT NULL,
	employment_type TEXT NOT NULL,
	start_date      INTEGER NOT NULL,
	end_date        INTEGER NOT NULL,
	shifts          TEXT NOT NULL,
	certifications  TEXT NOT NULL,
	document        BLOB,
	version         INTEGER NOT NULL,
	created         INTEGER NOT NULL,
	modified        INTEGER NOT NULL,
	deleted         INTEGER NOT NULL
);
-- A tombstone (state 4, UserDeleted) does not hold its userName. Every
-- index a row does not need is one page less to write per commit, so the
-- indexes are partial where queries can say so (users.go spells the
-- conditions out so the planner can use them).
CREATE UNIQUE INDEX users_user_name_live ON users (user_name COLLATE NOCASE) WHERE state != 4;
CREATE INDEX users_user_name_deleted ON users (user_name COLLATE NOCASE) WHERE state = 4;
CREATE INDEX users_external_id ON users (external_id) WHERE external_id != '';
CREATE INDEX users_state_start ON users (state, start_date) WHERE start_date != 0;
CREATE INDEX users_state_end ON users (state, end_date) WHERE end_date != 0;
CREATE INDEX users_created ON users (created, id);

CREATE TABLE groups (
	id           TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	external_id  TEXT NOT NULL,
	version      INTEGER NOT NULL,
	created      INTEGER NOT NULL,
	modified     INTEGER NOT NULL
);
CREATE UNIQUE INDEX groups_display_name ON groups (display_name COLLATE NOCASE);
CREATE INDEX groups_external_id ON groups (external_id);
CREATE INDEX groups_created ON groups (created, id);

CREATE TABLE group_members (
	group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	user_id  TEXT NOT NULL REFERENCES users (id),
	PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_user ON group_members (user_id, group_id);

CREATE TABLE sites (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	time_zone TEXT NOT NULL,
	created   INTEGER NOT NULL
);
CREATE UNIQUE INDEX sites_name ON sites (name COLLATE NOCASE);

CREATE TABLE devices (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	site      TEXT NOT NULL,
	profile   TEXT NOT NULL,
	state     INTEGER NOT NULL,
	version   INTEGER NOT NULL,
	created   INTEGER NOT NULL,
	modified  INTEGER NOT NULL,
	last_seen INTEGER NOT NULL
);
CREATE UNIQUE INDEX devices_name ON devices (name COLLATE NOCASE);
CREATE INDEX devices_site ON devices (site, created, id);
CREATE INDEX devices_created ON devices (created, id);

CREATE TABLE credentials (
	id         BLOB PRIMARY KEY NOT NULL,
	user_id    TEXT NOT NULL,
	public_key BLOB,
	aaguid     BLOB,
	sign_count INTEGER NOT NULL,
	state      INTEGER NOT NULL,
	reason     TEXT NOT NULL,
	created    INTEGER NOT NULL,
	last_used  INTEGER NOT NULL
);
CREATE INDEX credentials_user ON credentials (user_id, state);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	role       TEXT NOT NULL,
	apps       TEXT NOT NULL,
	started    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	ended      INTEGER NOT NULL,
	end_reason TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, ended);
CREATE INDEX sessions_device ON sessions (device_id, ended);
CREATE INDEX sessions_live ON sessions (started, id) WHERE ended = 0;

CREATE TABLE grants (
	id       TEXT PRIMARY KEY,
	user_id  TEXT NOT NULL,
	role     TEXT NOT NULL,
	site     TEXT NOT NULL,
	reason   TEXT NOT NULL,
	approver TEXT NOT NULL,
	start_at INTEGER NOT NULL,
	end_at   INTEGER NOT NULL,
	revoked  INTEGER NOT NULL,
	created  INTEGER NOT NULL
);
CREATE INDEX grants_user ON grants (user_id, start_at);

CREATE TABLE revocations (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    TEXT NOT NULL,
	session_id TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	reason     TEXT NOT NULL,
	detail     TEXT NOT NULL,
	created    INTEGER NOT NULL,
	acked      INTEGER NOT NULL
);
CREATE INDEX revocations_user ON revocations (user_id, id);
CREATE INDEX revocations_session ON revocations (session_id, acked);
CREATE INDEX revocations_pending ON revocations (id) WHERE acked = 0 AND session_id != '';

CREATE TABLE tokens (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	scope     TEXT NOT NULL,
	hash      BLOB,
	created   INTEGER NOT NULL,
	last_used INTEGER NOT NULL,
	revoked   INTEGER NOT NULL
);
CREATE INDEX tokens_created ON tokens (created, id);

CREATE TABLE audit (
	seq     INTEGER PRIMARY KEY,
	time    INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	subject TEXT NOT NULL,
	system  TEXT NOT NULL,
	detail  BLOB,
	prev    BLOB,
	hash    BLOB
);
CREATE INDEX audit_subject ON audit (subject, seq);
CREATE INDEX audit_action ON audit (action, seq);
-- The log is append-only: not even a bug in the hub may rewrite history.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
`

const schemaV2 = `
CREATE TABLE enrollment_codes (
	hash        BLOB PRIMARY KEY,
	device_name TEXT NOT NULL,
	site        TEXT NOT NULL,
	created     INTEGER NOT NULL,
	expires     INTEGER NOT NULL,
	used        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expires) WHERE ended = 0;
`

// schemaShifts adds shift extensions and the scheduler's exactly-once marks
// (see shifts.go). Grants that ended before this step are caught up by the
// first scheduler pass: each gets its grant.expire record once.
const schemaShifts = `
CREATE TABLE shift_extensions (
	id       TEXT PRIMARY KEY,
	user_id  TEXT NOT NULL,
	start_at INTEGER NOT NULL,
	end_at   INTEGER NOT NULL,
	reason   TEXT NOT NULL,
	approver TEXT NOT NULL,
	created  INTEGER NOT NULL,
	expired  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX shift_extensions_user ON shift_extensions (user_id, start_at);
CREATE INDEX shift_extensions_due ON shift_extensions (end_at) WHERE expired = 0;
ALTER TABLE grants ADD COLUMN expired INTEGER NOT NULL DEFAULT 0;
CREATE INDEX grants_due ON grants (end_at) WHERE revoked = 0 AND expired = 0;
`

// schemaAccessReviews holds access-review campaigns and their items
// (hub/governance). A default campaign's period key is unique, so starting
// the default campaigns twice starts each once.
const schemaAccessReviews = `
CREATE TABLE review_campaigns (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	scope       TEXT NOT NULL,
	default_key TEXT NOT NULL,
	due         INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	created_by  TEXT NOT NULL
);
CREATE UNIQUE INDEX review_campaigns_default_key ON review_campaigns (default_key) WHERE default_key != '';
CREATE INDEX review_campaigns_created ON review_campaigns (created, id);

CREATE TABLE review_items (
	id             TEXT PRIMARY KEY,
	campaign_id    TEXT NOT NULL REFERENCES review_campaigns (id),
	user_id        TEXT NOT NULL,
	kind           TEXT NOT NULL,
	entitlement    TEXT NOT NULL,
	group_id       TEXT NOT NULL,
	detail         TEXT NOT NULL,
	reviewer_id    TEXT NOT NULL,
	reviewer_kind  TEXT NOT NULL,
	decision       INTEGER NOT NULL,
	comment        TEXT NOT NULL,
	outcome        TEXT NOT NULL,
	decided        INTEGER NOT NULL,
	decided_by     TEXT NOT NULL,
	escalated      INTEGER NOT NULL,
	escalated_from TEXT NOT NULL,
	created        INTEGER NOT NULL
);
CREATE INDEX review_items_campaign ON review_items (campaign_id, created, id);
CREATE INDEX review_items_reviewer ON review_items (reviewer_id, created, id);
CREATE INDEX review_items_pending ON review_items (campaign_id) WHERE decision = 1 AND escalated = 0;
CREATE INDEX credentials_active ON credentials (created, id) WHERE state = 1;
`
