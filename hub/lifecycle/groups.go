package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/store"
)

// CreateGroup creates a group (a role, by its displayName). Members must
// be users that exist and are not deleted.
func (e *Engine) CreateGroup(ctx context.Context, a Actor, g store.Group) (store.Group, error) {
	now := e.now().UTC()
	g.Created, g.Modified = now, now
	var out store.Group
	err := e.run(ctx, func(tx store.Ops, _ *change) error {
		if err := checkMembers(ctx, tx, g.Members); err != nil {
			return err
		}
		var err error
		if out, err = tx.CreateGroup(ctx, g); err != nil {
			return err
		}
		_, err = e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionGroupCreate, Subject: subjectGroupPrefix + out.ID,
			Detail: map[string]any{"displayName": out.DisplayName, "membersAdded": out.Members},
		})
		return err
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("create group %q: %w", g.DisplayName, err)
	}
	return out, nil
}

// UpdateGroup changes a group through fn. Members removed, and every member
// when the displayName (the role) changes, lose the old role: their
// sessions under it end and the loss is recorded as a revocation. A change
// that leaves the group as it was (an add of a member it has, a remove of
// one it has not) writes nothing: the group keeps its version and no
// group.update is recorded, as for users (updateUser).
//
// The group.update record lists in membersRemoved only the members who
// left the group. A rename (another role: not a change of case) also
// lists, in membersKept, the members who stay: they lost the old role
// (user.entitlements_removed, as those who left) and hold the new one.
// membersKept is written on every rename, empty when nobody stays, so a
// reader tells these records from those of earlier hubs, which listed
// every member before a rename as removed (see hub/governance's history).
func (e *Engine) UpdateGroup(ctx context.Context, a Actor, id string, fn func(store.Group) (store.Group, error)) (store.Group, error) {
	var out store.Group
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		var before store.Group
		now := e.now().UTC()
		g, err := tx.UpdateGroup(ctx, id, func(old store.Group) (store.Group, error) {
			before = old
			ng, err := fn(old)
			if err != nil {
				return old, err
			}
			added, removed := diff(old.Members, ng.Members)
			if len(added) == 0 && len(removed) == 0 && ng.DisplayName == old.DisplayName && ng.ExternalID == old.ExternalID {
				return old, errUnchanged
			}
			if err := checkMembers(ctx, tx, added); err != nil {
				return old, err
			}
			ng.Modified = now
			return ng, nil
		})
		if errors.Is(err, errUnchanged) {
			// Entra and Okta resend memberships they believe missing and
			// remove ones already gone (retries, a DELETE of the user in
			// between): a new version for each would fail the If-Match
			// of a client that holds the group, and fill the audit trail
			// with updates that changed nothing.
			out = before
			return nil
		}
		if err != nil {
			return err
		}
		out = g
		added, removed := diff(before.Members, g.Members)
		renamed := before.DisplayName != g.DisplayName
		lost := removed // who loses the old role
		detail := map[string]any{}
		if renamed {
			detail["displayName"] = map[string]string{"before": before.DisplayName, "after": g.DisplayName}
		}
		if !strings.EqualFold(before.DisplayName, g.DisplayName) {
			// Another role: the old one is removed from every member,
			// also from those who stay (they hold the new one). A
			// change of case keeps the role (names compare without case).
			lost = before.Members
			detail["membersKept"] = stayed(before.Members, g.Members)
		}
		if len(added) > 0 {
			detail["membersAdded"] = added
		}
		if len(removed) > 0 {
			detail["membersRemoved"] = removed
		}
		if before.ExternalID != g.ExternalID {
			detail["externalId"] = map[string]string{"before": before.ExternalID, "after": g.ExternalID}
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionGroupUpdate, Subject: subjectGroupPrefix + id, Detail: detail,
		}); err != nil {
			return err
		}
		return e.removeRole(ctx, tx, c, a, before.DisplayName, lost, true)
	})
	if err != nil {
		return store.Group{}, fmt.Errorf("update group %s: %w", id, err)
	}
	return out, nil
}

// DeleteGroup deletes a group; every member loses its role.
func (e *Engine) DeleteGroup(ctx context.Context, a Actor, id string) error {
	return e.DeleteGroupIf(ctx, a, id, nil)
}

// DeleteGroupIf is DeleteGroup with a precondition: check, when not nil,
// gets the group as read inside the deleting transaction, before the
// early push (see the package doc) and any write, and an error from it is
// returned (wrapped, for errors.Is) with nothing pushed or changed.
func (e *Engine) DeleteGroupIf(ctx context.Context, a Actor, id string, check func(store.Group) error) error {
	err := e.run(ctx, func(tx store.Ops, c *change) error {
		g, err := tx.GetGroup(ctx, id)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(g); err != nil {
				return err
			}
		}
		// The kiosks hear of it first (see the package doc); the group's
		// own rows and records follow.
		rr, err := e.startRoleRemoval(ctx, tx, c, g.DisplayName, g.Members, true)
		if err != nil {
			return err
		}
		if err := tx.DeleteGroup(ctx, id, e.now().UTC()); err != nil {
			return err
		}
		if _, err := e.audit.Append(ctx, tx, audit.Entry{
			Actor: a.Name, System: a.System, Action: actionGroupDelete, Subject: subjectGroupPrefix + id,
			Detail: map[string]any{"displayName": g.DisplayName, "membersRemoved": g.Members},
		}); err != nil {
			return err
		}
		return e.finishRoleRemoval(ctx, tx, c, a, rr)
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w", id, err)
	}
	return nil
}

// ErrUnknownMember means a group member is not an existing, undeleted user.
var ErrUnknownMember = errors.New("unknown member")

// checkMembers refuses members that do not exist or are deleted.
func checkMembers(ctx context.Context, tx store.Ops, ids []string) error {
	for _, id := range ids {
		u, err := tx.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.State == store.UserDeleted) {
			return fmt.Errorf("member %s: %w", id, ErrUnknownMember)
		}
		if err != nil {
			return fmt.Errorf("member %s: %w", id, err)
		}
	}
	return nil
}

// stayed returns the members of old that are in new too, in old's order;
// never nil, so that it is recorded as a list even when empty.
func stayed(old, new []string) []string {
	in := make(map[string]bool, len(new))
	for _, s := range new {
		in[s] = true
	}
	out := []string{}
	for _, s := range old {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

// diff returns what is in new but not old, and in old but not new.
func diff(old, new []string) (added, removed []string) {
	in := make(map[string]bool, len(old))
	for _, s := range old {
		in[s] = true
	}
	seen := make(map[string]bool, len(new))
	for _, s := range new {
		seen[s] = true
		if !in[s] {
			added = append(added, s)
		}
	}
	for _, s := range old {
		if !seen[s] {
			removed = append(removed, s)
		}
	}
	return added, removed
}
