package scim

import (
	"context"

	"github.com/shiftgate/shiftgate/hub/store"
)

// queryAll answers POST /.search at the root (RFC 7644 §3.4.3): a search
// of every resource type, Users then Groups. The filter must be valid for
// each (the groups' error is reported first); an attribute one type lacks
// matches none of its resources (as ParseFilter has it), so
// userName eq "x" finds only users, and meta.resourceType eq "Group" only
// groups. totalResults counts the matches of both, and the page asked for
// runs over the users' matches and then the groups', each resource
// projected by its own type's attributes.
//
// Both types are read in one read transaction (store.InReadTx): the users
// and groups answered, their totals and the memberships each side shows,
// are the store as it was at one instant. Read one after the other, a
// change committed in between showed a user without a group that listed
// it as a member, or counted a group created after the users were read.
// A scan of more of them than one read transaction should hold is the
// exception (readScan).
//
// A type the filter provably matches nothing of (matchesNone) is not read
// at all: a lookup by userName reads no group, one by members.value no
// user. Its matches would be none, so totalResults and the page are those
// of reading it.
func (h *Handler) queryAll(ctx context.Context, p listParams) (int, []map[string]any, error) {
	fg, err := p.parseFilter(h.groups)
	if err != nil {
		return 0, nil, err
	}
	fu, err := p.parseFilter(h.users)
	if err != nil {
		return 0, nil, err
	}
	users, groups := !fu.matchesNone(h.users.Name), !fg.matchesNone(h.groups.Name)
	if !users && !groups {
		return 0, nil, nil
	}
	var (
		total int
		page  []map[string]any
	)
	// A scan of more resources than one read transaction should hold
	// reads them apart (readScan); a page without a filter, or a lookup
	// narrowed by an index, is one short statement of each type.
	scanUsers := users && fu != nil && !narrowsUsers(userLookup(fu))
	scanGroups := groups && fg != nil && !narrowsGroups(groupLookup(fg))
	read := func(fn func(tx store.Ops) error) error { return h.cfg.Store.InReadTx(ctx, fn) }
	if scanUsers || scanGroups {
		read = func(fn func(tx store.Ops) error) error { return h.readScan(ctx, fn) }
	}
	err = read(func(tx store.Ops) error {
		total, page = 0, nil
		if users {
			n, items, err := h.findUsers(ctx, tx, fu, p)
			if err != nil {
				return err
			}
			total, page = n, items
		}
		if groups {
			// The groups' part of the page starts where the users' matches
			// end: startIndex past them, count less what they filled.
			gp := p
			gp.startIndex = max(p.startIndex-total, 1)
			gp.count = p.count - len(page)
			n, items, err := h.findGroups(ctx, tx, fg, gp)
			if err != nil {
				return err
			}
			total += n
			page = append(page, items...)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return total, page, nil
}

// constant is a filter node's value where it does not depend on the
// resource it is evaluated on.
type constant int8

const (
	varies constant = iota
	alwaysFalse
	alwaysTrue
)

// matchesNone reports whether f, parsed for the resource type named
// resourceType, matches no resource this handler renders of that type,
// whatever the resource holds: f, folded where its parts are constant, is
// false. It must be exact, never a guess: a type it holds for is not read
// (queryAll). A nil filter matches everything.
//
// Two kinds of clause are constant:
//   - one on an attribute the type does not have, which ParseFilter
//     compiled to false (RFC 7644 §3.4.2.2: it matches no resource):
//     userName or an enterprise extension attribute for a group, members
//     for a user, and a bracketed filter whose inner filter is false;
//   - a comparison of meta.resourceType, which every resource
//     userResource and groupResource render holds as its type's name: it
//     is true or false for the whole type.
//
// not, and and or fold as Match evaluates them, so not (userName pr) and
// userName eq null (not (userName pr)) are true for every group, and
// userName eq "x" or displayName eq "y" may match a group: neither rules
// groups out. Attributes both types have (id, externalId, displayName,
// meta.created, ...) vary.
func (f *Filter) matchesNone(resourceType string) bool {
	return f != nil && fold(f.root, resourceType) == alwaysFalse
}

func fold(n fnode, resourceType string) constant {
	switch n := n.(type) {
	case falseNode:
		return alwaysFalse
	case *notNode:
		switch fold(n.x, resourceType) {
		case alwaysFalse:
			return alwaysTrue
		case alwaysTrue:
			return alwaysFalse
		}
	case *logicNode:
		l, r := fold(n.l, resourceType), fold(n.r, resourceType)
		// absorbing is the value that decides the operator alone.
		absorbing := alwaysTrue
		if n.and {
			absorbing = alwaysFalse
		}
		switch {
		case l == absorbing || r == absorbing:
			return absorbing
		case l != varies && r != varies:
			return l // both the other constant
		}
	case *valuePathNode:
		// Some element must satisfy inner: none does if it is false. If it
		// is true, the match depends on the attribute having an element.
		if fold(n.inner, resourceType) == alwaysFalse {
			return alwaysFalse
		}
	case *cmpNode:
		if !n.inBracket && n.ref.ext == "" && n.ref.attr != nil && n.ref.attr.Name == "meta" &&
			n.ref.sub != nil && n.ref.sub.Name == "resourceType" {
			if n.eval(map[string]any{"meta": map[string]any{"resourceType": resourceType}}) {
				return alwaysTrue
			}
			return alwaysFalse
		}
	}
	return varies
}
