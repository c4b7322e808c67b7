-- A hub database as a build of schema version 19 left it (the version
-- before "credentials whose model no attestation proved"), with no users
-- yet: sqlite3's .dump of it, and its user_version. Tests of upgrades
-- beside a running hub load it as the database an older hub has open.
-- It is the past: never regenerate it from the current schema.
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
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
, user_name_key TEXT NOT NULL DEFAULT '', start_day TEXT NOT NULL DEFAULT '', end_day TEXT NOT NULL DEFAULT '');
CREATE TABLE groups (
	id           TEXT PRIMARY KEY,
	display_name TEXT NOT NULL,
	external_id  TEXT NOT NULL,
	version      INTEGER NOT NULL,
	created      INTEGER NOT NULL,
	modified     INTEGER NOT NULL
, display_name_key TEXT NOT NULL DEFAULT '');
CREATE TABLE group_members (
	group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
	user_id  TEXT NOT NULL REFERENCES users (id),
	PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE TABLE sites (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	time_zone TEXT NOT NULL,
	created   INTEGER NOT NULL
, name_key TEXT NOT NULL DEFAULT '');
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
, cert_serial TEXT NOT NULL DEFAULT '', prev_cert_serial TEXT NOT NULL DEFAULT '', prev_cert_until INTEGER NOT NULL DEFAULT 0, cert_issued INTEGER NOT NULL DEFAULT 0, name_key TEXT NOT NULL DEFAULT '');
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
, expired INTEGER NOT NULL DEFAULT 0);
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
CREATE TABLE tokens (
	id        TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	scope     TEXT NOT NULL,
	hash      BLOB,
	created   INTEGER NOT NULL,
	last_used INTEGER NOT NULL,
	revoked   INTEGER NOT NULL
, expires INTEGER NOT NULL DEFAULT 0, replaced_by TEXT NOT NULL DEFAULT '');
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
CREATE TABLE enrollment_codes (
	hash        BLOB PRIMARY KEY,
	device_name TEXT NOT NULL,
	site        TEXT NOT NULL,
	created     INTEGER NOT NULL,
	expires     INTEGER NOT NULL,
	used        INTEGER NOT NULL DEFAULT 0
, profile TEXT NOT NULL DEFAULT '') WITHOUT ROWID;
CREATE TABLE shift_extensions (
	id       TEXT PRIMARY KEY,
	user_id  TEXT NOT NULL,
	start_at INTEGER NOT NULL,
	end_at   INTEGER NOT NULL,
	reason   TEXT NOT NULL,
	approver TEXT NOT NULL,
	created  INTEGER NOT NULL,
	expired  INTEGER NOT NULL DEFAULT 0
, site TEXT NOT NULL DEFAULT '');
CREATE TABLE review_campaigns (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	scope       TEXT NOT NULL,
	default_key TEXT NOT NULL,
	due         INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	created_by  TEXT NOT NULL
);
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
, user_id TEXT NOT NULL DEFAULT '', name_key TEXT NOT NULL DEFAULT '', name_clash TEXT NOT NULL DEFAULT '');
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
CREATE TABLE policy_rules (
	version    INTEGER PRIMARY KEY,
	document   TEXT NOT NULL,
	changed_by TEXT NOT NULL,
	changed    INTEGER NOT NULL
);
CREATE TABLE index_marks (
	name TEXT PRIMARY KEY,
	done INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO index_marks VALUES('audit',0);
CREATE TABLE audit_by_subject (
	val TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (val, seq)
) WITHOUT ROWID;
CREATE TABLE audit_by_action (
	val TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (val, seq)
) WITHOUT ROWID;
CREATE TABLE session_history (
	user_id TEXT NOT NULL,
	started INTEGER NOT NULL,
	id      TEXT NOT NULL,
	PRIMARY KEY (user_id, started, id)
) WITHOUT ROWID;
CREATE TABLE session_history_queue (
	n       INTEGER PRIMARY KEY,
	user_id TEXT NOT NULL,
	started INTEGER NOT NULL,
	id      TEXT NOT NULL
);
DELETE FROM sqlite_sequence;
CREATE INDEX users_external_id ON users (external_id) WHERE external_id != '';
CREATE INDEX users_state_start ON users (state, start_date) WHERE start_date != 0;
CREATE INDEX users_state_end ON users (state, end_date) WHERE end_date != 0;
CREATE INDEX users_created ON users (created, id);
CREATE INDEX groups_external_id ON groups (external_id);
CREATE INDEX groups_created ON groups (created, id);
CREATE INDEX group_members_user ON group_members (user_id, group_id);
CREATE UNIQUE INDEX sites_name ON sites (name COLLATE NOCASE);
CREATE INDEX devices_site ON devices (site, created, id);
CREATE INDEX devices_created ON devices (created, id);
CREATE INDEX credentials_user ON credentials (user_id, state);
CREATE INDEX sessions_live ON sessions (started, id) WHERE ended = 0;
CREATE INDEX grants_user ON grants (user_id, start_at);
CREATE INDEX revocations_user ON revocations (user_id, id);
CREATE INDEX revocations_session ON revocations (session_id, acked);
CREATE INDEX revocations_pending ON revocations (id) WHERE acked = 0 AND session_id != '';
CREATE INDEX tokens_created ON tokens (created, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE INDEX sessions_expiry ON sessions (expires) WHERE ended = 0;
CREATE INDEX shift_extensions_user ON shift_extensions (user_id, start_at);
CREATE INDEX shift_extensions_due ON shift_extensions (end_at) WHERE expired = 0;
CREATE INDEX grants_due ON grants (end_at) WHERE revoked = 0 AND expired = 0;
CREATE UNIQUE INDEX review_campaigns_default_key ON review_campaigns (default_key) WHERE default_key != '';
CREATE INDEX review_campaigns_created ON review_campaigns (created, id);
CREATE INDEX review_items_campaign ON review_items (campaign_id, created, id);
CREATE INDEX review_items_reviewer ON review_items (reviewer_id, created, id);
CREATE INDEX review_items_pending ON review_items (campaign_id) WHERE decision = 1 AND escalated = 0;
CREATE INDEX credentials_active ON credentials (created, id) WHERE state = 1;
CREATE UNIQUE INDEX console_accounts_name ON console_accounts (name COLLATE NOCASE);
CREATE UNIQUE INDEX console_accounts_webauthn_id ON console_accounts (webauthn_id);
CREATE INDEX console_credentials_account ON console_credentials (account_id, created);
CREATE INDEX console_sessions_live ON console_sessions (account_id) WHERE ended = 0;
CREATE TRIGGER policy_rules_no_update BEFORE UPDATE ON policy_rules
BEGIN SELECT RAISE(ABORT, 'policy versions are append-only'); END;
CREATE TRIGGER policy_rules_no_delete BEFORE DELETE ON policy_rules
BEGIN SELECT RAISE(ABORT, 'policy versions are append-only'); END;
CREATE INDEX sessions_user_live ON sessions (user_id, started, id) WHERE ended = 0;
CREATE INDEX sessions_device_live ON sessions (device_id, started, id) WHERE ended = 0;
CREATE UNIQUE INDEX devices_name_enabled ON devices (name COLLATE NOCASE) WHERE state = 1;
CREATE INDEX users_user_name_key ON users (user_name_key);
CREATE INDEX groups_display_name_key ON groups (display_name_key);
CREATE TRIGGER sessions_queue_history AFTER INSERT ON sessions
BEGIN INSERT INTO session_history_queue (user_id, started, id) VALUES (NEW.user_id, NEW.started, NEW.id); END;
CREATE INDEX sites_name_key ON sites (name_key);
CREATE INDEX devices_name_key ON devices (name_key, created);
CREATE INDEX console_accounts_user_id ON console_accounts (user_id);
CREATE UNIQUE INDEX console_accounts_name_key ON console_accounts (name_key, name_clash);
CREATE TRIGGER audit_seq_from_one BEFORE INSERT ON audit WHEN NEW.seq < 1
BEGIN SELECT RAISE(ABORT, 'audit records are numbered from 1'); END;
COMMIT;
PRAGMA user_version = 19;
