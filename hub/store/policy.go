package store

import (
	"context"
	"encoding/json"
	"time"
)

// PolicyVersion is one stored version of the login policy. The store keeps
// every version (history for auditors) and treats Document as opaque
// bytes: package policy owns its format and validates it before it is
// stored.
type PolicyVersion struct {
	// Version is 1 for the first policy stored and one more for each
	// later one; the store assigns it.
	Version   int64
	Document  json.RawMessage
	ChangedBy string // the actor, as in the audit log
	Changed   time.Time
}

// PolicyOps stores the versioned login policy.
//
// The whole policy is one document: a change is cross-role (names are
// unique case-insensitively, a session's roles are decided together), so
// it is read, checked and written whole, and one version number is what
// optimistic concurrency compares.
type PolicyOps interface {
	// GetPolicy returns the newest version; ErrNotFound if none was
	// stored yet.
	GetPolicy(ctx context.Context) (PolicyVersion, error)
	// UpdatePolicy stores a new version in one step: fn gets the newest
	// version (the zero PolicyVersion, Version 0, when there is none) and
	// returns the next one, which the store keeps as Version old.Version+1
	// whatever Version fn sets. If fn fails nothing is stored and its
	// error is returned unchanged. Two updates never get the same version
	// (ErrConflict if another process stored one in between).
	UpdatePolicy(ctx context.Context, fn func(old PolicyVersion) (PolicyVersion, error)) (PolicyVersion, error)
	// ListPolicyVersions returns stored versions, newest first; at most
	// limit (0: all).
	ListPolicyVersions(ctx context.Context, limit int) ([]PolicyVersion, error)
}
