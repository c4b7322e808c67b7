package scim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// groupFromResource sets g's fields from a normalised Group resource.
func groupFromResource(res map[string]any, g *store.Group) error {
	g.DisplayName = strings.TrimSpace(str(res["displayName"]))
	if g.DisplayName == "" {
		return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "displayName is required: it names the role the group grants"}
	}
	g.ExternalID = str(res["externalId"])
	g.Members = g.Members[:0:0]
	for _, m := range list(res["members"]) {
		mm, _ := m.(map[string]any)
		id := str(mm["value"])
		if id == "" {
			return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "each member needs a value: the id of a user"}
		}
		if t := str(mm["type"]); t != "" && !strings.EqualFold(t, "User") {
			return &Error{Status: http.StatusBadRequest, ScimType: "invalidValue", Detail: "members must be users; nested groups are not supported"}
		}
		g.Members = append(g.Members, id)
	}
	slices.Sort(g.Members)
	g.Members = slices.Compact(g.Members)
	return nil
}

// maxGroupName is the longest group displayName the hub takes, in
// characters: Entra's limit for a group's name. A role a login policy
// names is at most policy.MaxNameLength characters; a longer group grants
// no role, but an identity provider may still push it.
const maxGroupName = 256

// checkGroupName refuses a new or changed group displayName that reads as
// another one: it is the role's name in the console, the audit trail and
// access reviews, and a control or invisible formatting character (a
// right-to-left override, a zero-width space; store.Hidden) made a group
// read as "Supervisor" that grants no such role, or as another group. The
// hub refuses them in userNames and in the role names of a login policy
// alike. A displayName stored before this rule is kept until it changes,
// so that the group can still be renamed or deleted.
func checkGroupName(name string) error {
	bad := func(why string) error {
		return &Error{Status: http.StatusBadRequest, ScimType: ScimTypeInvalidValue, Detail: "displayName " + why}
	}
	switch {
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case utf8.RuneCountInString(name) > maxGroupName:
		return bad(fmt.Sprintf("is %d characters long; at most %d", utf8.RuneCountInString(name), maxGroupName))
	case strings.ContainsFunc(name, store.Hidden):
		return bad("holds a control or invisible formatting character (such as a right-to-left override or a zero-width space)")
	}
	return nil
}

// checkRename applies checkGroupName to ng's displayName if it differs
// from old's.
func checkRename(old, ng store.Group) error {
	if ng.DisplayName == old.DisplayName {
		return nil
	}
	return checkGroupName(ng.DisplayName)
}

// groupResource renders a Group resource.
func (h *Handler) groupResource(g store.Group) map[string]any {
	res := map[string]any{
		"schemas":     []any{GroupURN},
		"id":          g.ID,
		"displayName": g.DisplayName,
		"meta":        h.meta("Group", h.cfg.BaseURL+"/Groups/"+g.ID, g.Created, g.Modified, g.Version),
	}
	if g.ExternalID != "" {
		res["externalId"] = g.ExternalID
	}
	members := make([]any, len(g.Members))
	for i, id := range g.Members {
		members[i] = map[string]any{"value": id, "$ref": h.cfg.BaseURL + "/Users/" + id, "type": "User"}
	}
	res["members"] = members
	return res
}

func (h *Handler) writeGroup(w http.ResponseWriter, r *http.Request, status int, g store.Group) {
	q := r.URL.Query()
	res := projectOwned(h.groups, h.groupResource(g), splitList(q.Get("attributes")), splitList(q.Get("excludedAttributes")))
	w.Header().Set("ETag", etag(g.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", h.cfg.BaseURL+"/Groups/"+g.ID)
	}
	writeJSON(w, status, res)
}

func (h *Handler) getGroup(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	g, err := h.cfg.Store.GetGroup(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if notModified(w, r, g.Version) {
		return nil
	}
	h.writeGroup(w, r, http.StatusOK, g)
	return nil
}

func (h *Handler) createGroup(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	_, res, err := h.resourceBody(w, r, h.groups)
	if err != nil {
		return err
	}
	g := store.Group{ID: uuid.NewString()}
	if err := groupFromResource(res, &g); err != nil {
		return err
	}
	if err := checkGroupName(g.DisplayName); err != nil {
		return err
	}
	g, err = h.cfg.Engine.CreateGroup(r.Context(), a, g)
	if err != nil {
		return err
	}
	h.writeGroup(w, r, http.StatusCreated, g)
	return nil
}

func (h *Handler) replaceGroup(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	in, res, err := h.resourceBody(w, r, h.groups)
	if err != nil {
		return err
	}
	if err := checkID(in, r.PathValue("id")); err != nil {
		return err
	}
	g, err := h.cfg.Engine.UpdateGroup(r.Context(), a, r.PathValue("id"), func(old store.Group) (store.Group, error) {
		if err := checkIfMatch(r, old.Version); err != nil {
			return old, err
		}
		ng := old
		if err := groupFromResource(res, &ng); err != nil {
			return old, err
		}
		return ng, checkRename(old, ng)
	})
	if err != nil {
		return err
	}
	h.writeGroup(w, r, http.StatusOK, g)
	return nil
}

func (h *Handler) patchGroup(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	b, err := h.readBody(w, r)
	if err != nil {
		return err
	}
	ops, err := ParsePatch(b)
	if err != nil {
		return err
	}
	g, err := h.cfg.Engine.UpdateGroup(r.Context(), a, r.PathValue("id"), func(old store.Group) (store.Group, error) {
		if err := checkIfMatch(r, old.Version); err != nil {
			return old, err
		}
		res, err := ApplyPatch(h.groups, h.groupResource(old), ops)
		if err != nil {
			return old, err
		}
		ng := old
		if err := groupFromResource(res, &ng); err != nil {
			return old, err
		}
		return ng, checkRename(old, ng)
	})
	if err != nil {
		return err
	}
	// Microsoft Entra and Okta accept 204 for a PATCH; a body only when asked.
	if r.URL.Query().Get("attributes") == "" && r.URL.Query().Get("excludedAttributes") == "" {
		w.Header().Set("ETag", etag(g.Version))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	h.writeGroup(w, r, http.StatusOK, g)
	return nil
}

// deleteGroup checks If-Match on the group as the deleting transaction
// reads it, before any kiosk is told (see deleteUser).
func (h *Handler) deleteGroup(w http.ResponseWriter, r *http.Request, a lifecycle.Actor) error {
	err := h.cfg.Engine.DeleteGroupIf(r.Context(), a, r.PathValue("id"), func(g store.Group) error {
		return checkIfMatch(r, g.Version)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// queryGroups answers a list or search of the groups (findGroups).
func (h *Handler) queryGroups(ctx context.Context, p listParams) (int, []map[string]any, error) {
	f, err := p.parseFilter(h.groups)
	if err != nil {
		return 0, nil, err
	}
	if f == nil || narrowsGroups(groupLookup(f)) {
		return h.findGroups(ctx, h.cfg.Store, f, p) // one statement
	}
	// Batches read apart counted groups that never existed together (see
	// queryUsers).
	return h.snapshot(ctx, func(tx store.Ops) (int, []map[string]any, error) { return h.findGroups(ctx, tx, f, p) })
}

// groupLookup is the store query of the groups f can match, narrowed by an
// equality on displayName, externalId or id when f has one.
func groupLookup(f *Filter) store.GroupQuery {
	q := store.GroupQuery{}
	if attr, val, ok := f.EqualityOn("displayName", "externalId", "id"); ok {
		switch strings.ToLower(attr) {
		case "displayname":
			q.DisplayName = val
		case "externalid":
			q.ExternalID = val
		case "id":
			q.ID = val
		}
	}
	return q
}

// narrowsGroups reports whether q, a groupLookup, reads a few candidates
// through an index, in one statement (narrowed).
func narrowsGroups(q store.GroupQuery) bool {
	return q.DisplayName != "" || q.ExternalID != "" || q.ID != ""
}

// findGroups answers a list or search of the groups with its filter f
// parsed, reading st, as findUsers does: without a filter the store reads
// the page; with one, an equality on displayName, externalId or id narrows
// the candidates and the whole filter is evaluated on each, a batch at a
// time.
func (h *Handler) findGroups(ctx context.Context, st store.Ops, f *Filter, p listParams) (int, []map[string]any, error) {
	q := store.GroupQuery{}
	if f == nil {
		q.Offset, q.Limit = p.startIndex-1, max(p.count, 1) // the store's 0 means no cap
		groups, total, err := st.ListGroups(ctx, q)
		if err != nil {
			return 0, nil, err
		}
		if p.count == 0 {
			groups = nil
		}
		items := make([]map[string]any, len(groups))
		for i, g := range groups {
			items[i] = h.groupResource(g)
		}
		return total, projectPage(h.groups, p, items), nil
	}
	q = groupLookup(f)
	batch := groupScanBatch
	if narrowsGroups(q) {
		batch = narrowed
	}
	list := func(after store.ListKey, limit int) ([]store.Group, error) {
		q.After, q.Limit, q.NoTotal = after, limit, after != (store.ListKey{})
		if batch == narrowed {
			q.Limit = 0
		}
		groups, _, err := st.ListGroups(ctx, q)
		return groups, err
	}
	key := func(g store.Group) store.ListKey { return store.ListKey{Created: g.Created, ID: g.ID} }
	render := func(g store.Group) (map[string]any, error) { return h.groupResource(g), nil }
	total, items, err := matchPage(f, p, batch, list, key, render)
	if err != nil {
		return 0, nil, err
	}
	return total, projectPage(h.groups, p, items), nil
}

// serviceProviderConfig is RFC 7643 §5: what this server supports.
func (h *Handler) serviceProviderConfig(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/shiftgate/shiftgate/blob/main/hub/README.md",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "A token from `shiftgate-hub token create --scope scim`, sent as Authorization: Bearer <token>.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": h.cfg.BaseURL + "/ServiceProviderConfig"},
	})
	return nil
}

func (h *Handler) schemas(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	if err := refuseDiscoveryFilter(r, "/Schemas"); err != nil {
		return err
	}
	return writeAll(w, h.schemaRes)
}

func (h *Handler) schema(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	return writeOne(w, h.schemaRes, r.PathValue("id"), "schema")
}

func (h *Handler) resourceTypes(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	if err := refuseDiscoveryFilter(r, "/ResourceTypes"); err != nil {
		return err
	}
	return writeAll(w, h.typeRes)
}

// refuseDiscoveryFilter answers 403 for a discovery list asked with a
// filter, as RFC 7644 §4 says a service provider SHOULD: the list ignores
// filters (and paging), and a 200 with every schema or resource type would
// read as "all of these matched". The other query parameters are ignored.
func refuseDiscoveryFilter(r *http.Request, endpoint string) error {
	if !r.URL.Query().Has("filter") {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Detail: endpoint + " does not take a filter (RFC 7644 §4); GET it whole, or GET " + endpoint + "/{id}"}
}

func (h *Handler) resourceType(w http.ResponseWriter, r *http.Request, _ lifecycle.Actor) error {
	return writeOne(w, h.typeRes, r.PathValue("id"), "resource type")
}

// writeAll answers a discovery list.
func writeAll(w http.ResponseWriter, items []map[string]any) error {
	writeJSON(w, http.StatusOK, newListResponse(len(items), 1, items))
	return nil
}

// writeOne answers one discovery resource by id, compared
// case-insensitively: schema URNs are case-insensitive (RFC 7643 §2.1,
// RFC 8141), and clients ask for /ResourceTypes/user as often as for
// /ResourceTypes/User. The body has the id as the server spells it.
func writeOne(w http.ResponseWriter, items []map[string]any, id, what string) error {
	for _, it := range items {
		if s, _ := it["id"].(string); strings.EqualFold(s, id) {
			writeJSON(w, http.StatusOK, it)
			return nil
		}
	}
	return &Error{Status: http.StatusNotFound, Detail: "no " + what + " " + id}
}
