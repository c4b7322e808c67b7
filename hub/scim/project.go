package scim

import "strings"

// Project returns the attributes of the canonical resource res that a
// response shows, per the attributes and excludedAttributes query
// parameters (RFC 7644 §3.4.2.5, §3.9) and each attribute's "returned":
//
//   - always (id, schemas) is shown whatever the parameters say; never
//     (password) is never shown; request only when named in attributes;
//     default unless left out by attributes or named in
//     excludedAttributes.
//   - Names are case-insensitive and may be dotted ("name.givenName",
//     "emails.value": each email with only its value), URN-qualified
//     ("urn:...:enterprise:2.0:User:department") or an extension URN
//     (the whole extension). Unknown names are ignored.
//   - When both lists are given, excludedAttributes removes from what
//     attributes selected.
//
// The result shares nothing with res.
func Project(rt *ResourceType, res map[string]any, attributes, excludedAttributes []string) map[string]any {
	return project(rt, res, attributes, excludedAttributes, deepCopy)
}

// projectOwned is Project for a caller that hands res over: the result
// takes res's values instead of copies, and res must not be used again.
// Responses render a resource for the one answer, so copying it again
// only fed the garbage collector.
func projectOwned(rt *ResourceType, res map[string]any, attributes, excludedAttributes []string) map[string]any {
	return project(rt, res, attributes, excludedAttributes, owned)
}

func project(rt *ResourceType, res map[string]any, attributes, excludedAttributes []string, cp func(any) any) map[string]any {
	return newProjection(rt, attributes, excludedAttributes).apply(res, cp)
}

// projection is an attributes and excludedAttributes pair resolved against
// a resource type: a list resolves the names once for all its resources.
type projection struct {
	rt         *ResourceType
	incl, excl selection
	selective  bool
}

func newProjection(rt *ResourceType, attributes, excludedAttributes []string) projection {
	return projection{rt: rt, incl: parseSelection(rt, attributes), excl: parseSelection(rt, excludedAttributes),
		selective: len(attributes) > 0}
}

// owned is the copy function for a resource the caller hands over (see
// projectOwned).
func owned(v any) any { return v }

// apply is Project with the names resolved; cp copies each value taken
// from res (deepCopy, or owned).
func (pj projection) apply(res map[string]any, cp func(any) any) map[string]any {
	rt := pj.rt
	pr := projector{incl: pj.incl, excl: pj.excl, selective: pj.selective, cp: cp}
	out := map[string]any{}
	pr.project(res, "", common, out)
	pr.project(res, "", rt.Schema.Attributes, out)
	for _, e := range rt.Extensions {
		src, _ := res[e.Schema.ID].(map[string]any)
		dst := map[string]any{}
		pr.project(src, e.Schema.ID, e.Schema.Attributes, dst)
		if len(dst) > 0 {
			out[e.Schema.ID] = dst
		}
	}
	return out
}

// selection is a set of named attributes: key is ext + "|" + attribute
// name; a nil sub-attribute set means the whole attribute.
type selection struct {
	attrs map[string]map[string]bool
	exts  map[string]bool
}

func parseSelection(rt *ResourceType, names []string) selection {
	s := selection{attrs: map[string]map[string]bool{}, exts: map[string]bool{}}
	for _, n := range names {
		ref, ok := resolveName(rt, strings.TrimSpace(n))
		switch {
		case !ok:
		case ref.attr == nil:
			s.exts[ref.ext] = true
		case ref.sub == nil:
			s.attrs[ref.ext+"|"+ref.attr.Name] = nil
		default:
			key := ref.ext + "|" + ref.attr.Name
			subs, seen := s.attrs[key]
			if seen && subs == nil {
				continue // the whole attribute is already named
			}
			if subs == nil {
				subs = map[string]bool{}
				s.attrs[key] = subs
			}
			subs[ref.sub.Name] = true
		}
	}
	return s
}

// has reports whether the attribute is named, and which sub-attributes
// (nil: all of them).
func (s selection) has(ext string, a *Attribute) (bool, map[string]bool) {
	if ext != "" && s.exts[ext] {
		return true, nil
	}
	subs, ok := s.attrs[ext+"|"+a.Name]
	return ok, subs
}

type projector struct {
	incl, excl selection
	selective  bool
	cp         func(any) any // deepCopy, or the identity when res is the caller's to give
}

func (pr projector) project(src map[string]any, ext string, attrs []*Attribute, dst map[string]any) {
	for _, a := range attrs {
		v, ok := src[a.Name]
		if !ok || v == nil || a.Returned == ReturnedNever {
			continue
		}
		if a.Returned == ReturnedAlways {
			dst[a.Name] = pr.subs(a, v, nil, nil, true)
			continue
		}
		named, inclSubs := pr.incl.has(ext, a)
		if (pr.selective || a.Returned == ReturnedRequest) && !named {
			continue
		}
		excluded, exclSubs := pr.excl.has(ext, a)
		if excluded && exclSubs == nil {
			continue
		}
		if nv := pr.subs(a, v, inclSubs, exclSubs, named); nv != nil {
			dst[a.Name] = nv
		}
	}
}

// subs copies v keeping, for a complex attribute, the sub-attributes
// selected by incl (nil: all) minus excl; nil when nothing is left.
func (pr projector) subs(a *Attribute, v any, incl, excl map[string]bool, named bool) any {
	if a.Type != TypeComplex {
		return pr.cp(v)
	}
	keep := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for _, s := range a.SubAttributes {
			x, ok := m[s.Name]
			if !ok || s.Returned == ReturnedNever || excl[s.Name] {
				continue
			}
			if s.Returned != ReturnedAlways && (incl != nil && !incl[s.Name] || s.Returned == ReturnedRequest && !named) {
				continue
			}
			out[s.Name] = pr.cp(x)
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if !a.MultiValued {
		m, _ := v.(map[string]any)
		if r := keep(m); r != nil {
			return r
		}
		return nil
	}
	var out []any
	for _, el := range asList(v) {
		m, _ := el.(map[string]any)
		if r := keep(m); r != nil {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
