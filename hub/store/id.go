package store

import "github.com/google/uuid"

// NewID returns a new record ID: a UUIDv7 (RFC 9562), time-ordered, for
// the records created at a high rate (users, sessions). Records created
// around the same time then sit next to each other in every index keyed by
// their ID (the primary key, the audit log's subject index), so a burst of
// joiners or a shift's logins writes a few index pages instead of one
// random page each, and a mass change over them (a leaver wave, a shift's
// mass revoke) reads and rewrites those few pages. The 74 random bits keep
// IDs unguessable; an ID grants nothing by itself.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString() // the clock or the random source failed: still unique
	}
	return id.String()
}
