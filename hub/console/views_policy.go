package console

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/policy"
)

// The "Roles and policies" page: the login policy in force (stored,
// versioned, admins edit it here or through PUT /api/v1/policy) and the
// kiosk profiles (files, shown read-only). Every edit is one
// Engine.UpdatePolicy: validated whole, stored as a new version only if
// the page's version is still current (else 409), audited (policy.update
// with before and after) and applied to live sessions at once.

// maxListField caps the apps and sites fields, which list many names.
const maxListField = 8000

type policyRole struct {
	Name            string
	Apps            []string
	RequireUV       bool
	Privileged      bool
	MaxSession      time.Duration
	Certification   string
	Sites           []string
	EmploymentTypes []string
	// PerProfile is what each kiosk profile makes of the role's apps.
	PerProfile []profileApps
	ID         string // for element ids
	Named      bool   // false for the rule for other roles
}

// choice is one checkbox.
type choice struct {
	Value   string
	Checked bool
}

// EmploymentChoices are the employment-type checkboxes of the role's form.
func (p policyRole) EmploymentChoices() []choice {
	out := make([]choice, len(policy.EmploymentTypes))
	for i, et := range policy.EmploymentTypes {
		out[i] = choice{Value: et, Checked: slices.ContainsFunc(p.EmploymentTypes, func(s string) bool { return strings.EqualFold(s, et) })}
	}
	return out
}

// MaxSessionText is the role's longest session as the form shows it: ""
// for the global one.
func (p policyRole) MaxSessionText() string {
	if p.MaxSession == 0 {
		return ""
	}
	return policy.FormatDuration(p.MaxSession)
}

// profileApps is the apps a role's sessions get on one kiosk profile: the
// profile's apps for the role, or the policy's when it has none for it.
type profileApps struct {
	Profile    string
	Apps       []string
	FromPolicy bool
}

type policyProfile struct {
	Name, Description string
	Apps              []policyRole // only Name and Apps are set
	UVDefault         string
	UVRoles           []string // "role: uv"
	AAGUIDs           []string
	Idle, MaxSession  time.Duration
}

type policyData struct {
	Version         int64
	ChangedBy       string
	Changed         time.Time
	MaxSession      string
	ShiftGrace      string
	Roles           []policyRole
	Other           policyRole
	New             policyRole // the empty form that adds a role
	Profiles        []policyProfile
	EmploymentTypes []string
	Error           string
}

// policyPage renders the login policy with its edit forms, and the kiosk
// profiles.
func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	c.renderPolicy(w, r, v, http.StatusOK, "")
	return nil
}

func (c *Console) renderPolicy(w http.ResponseWriter, r *http.Request, v *viewer, code int, problem string) {
	p := c.cfg.Engine.Policy()
	rules := p.Rules
	d := policyData{
		Version: p.Version, ChangedBy: p.ChangedBy, Changed: p.Changed, EmploymentTypes: policy.EmploymentTypes, Error: problem,
		MaxSession: policy.FormatDuration(rules.MaxSessionFor(nil)),
		ShiftGrace: policy.FormatDuration(max(rules.ShiftGrace, 0)),
	}
	if rules.ShiftGrace == 0 {
		d.ShiftGrace = policy.FormatDuration(policy.DefaultShiftGrace)
	}
	names := make([]string, 0, len(rules.Roles))
	for name := range rules.Roles {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	for i, name := range names {
		d.Roles = append(d.Roles, c.policyRole(name, rules.Roles[name], "role-"+strconv.Itoa(i)))
	}
	d.Other = c.policyRole("", rules.Other, "other")
	d.New = policyRole{ID: "new", Named: true}
	for _, p := range c.cfg.Profiles {
		pp := policyProfile{Name: p.Name, Description: p.Description, UVDefault: string(p.UserVerification.Default), Idle: p.IdleTimeout, MaxSession: p.MaxSession}
		for role, apps := range p.Apps {
			pr := policyRole{Name: role}
			for _, a := range apps {
				pr.Apps = append(pr.Apps, a.ID)
			}
			pp.Apps = append(pp.Apps, pr)
		}
		sort.Slice(pp.Apps, func(i, j int) bool { return pp.Apps[i].Name < pp.Apps[j].Name })
		for role, uv := range p.UserVerification.Roles {
			pp.UVRoles = append(pp.UVRoles, role+": "+string(uv))
		}
		sort.Strings(pp.UVRoles)
		for _, id := range p.AllowedAAGUIDs {
			pp.AAGUIDs = append(pp.AAGUIDs, id.String())
		}
		d.Profiles = append(d.Profiles, pp)
	}
	sort.Slice(d.Profiles, func(i, j int) bool { return d.Profiles[i].Name < d.Profiles[j].Name })
	c.render(w, r, code, "policy", v, &page{Title: "Roles and policies", Nav: "policy", Data: d})
}

func (c *Console) policyRole(name string, rr policy.RoleRule, id string) policyRole {
	pr := policyRole{Name: name, Apps: rr.Apps, RequireUV: rr.RequireUV, Privileged: rr.Privileged, MaxSession: rr.MaxSession,
		Certification: rr.Certification, Sites: rr.Sites, EmploymentTypes: rr.EmploymentTypes, ID: id, Named: name != ""}
	if name == "" {
		return pr
	}
	for _, p := range c.cfg.Profiles {
		pa := profileApps{Profile: p.Name}
		for _, a := range p.AppsFor(name) {
			if !slices.Contains(pa.Apps, a.ID) {
				pa.Apps = append(pa.Apps, a.ID)
			}
		}
		if len(pa.Apps) == 0 {
			pa.Apps, pa.FromPolicy = rr.Apps, true
		}
		pr.PerProfile = append(pr.PerProfile, pa)
	}
	sort.Slice(pr.PerProfile, func(i, j int) bool { return pr.PerProfile[i].Profile < pr.PerProfile[j].Profile })
	return pr
}

// policyForm is a parsed policy form: the version it was rendered from
// and a reader of its fields.
type policyForm struct {
	r       *http.Request
	get     func(string) (string, error)
	version int64
}

func readPolicyForm(r *http.Request) (*policyForm, error) {
	get, err := form(r)
	if err != nil {
		return nil, err
	}
	s, err := get("version")
	if err != nil {
		return nil, err
	}
	version, err := strconv.ParseInt(s, 10, 64)
	if err != nil || version < 0 {
		return nil, badRequest("the form has no policy version: reload the page")
	}
	return &policyForm{r: r, get: get, version: version}, nil
}

// list reads a field listing names, split at commas (and at white space
// too when spaces is set), without empty entries: for app IDs, which hold
// neither (policy's validAppID). Names that may hold a comma, such as
// sites, are read by lines.
func (f *policyForm) list(key string, spaces bool) ([]string, error) {
	v := strings.TrimSpace(f.r.PostForm.Get(key))
	if len(v) > maxListField || !utf8.ValidString(v) {
		return nil, badRequest("the field " + key + " is too long or not text")
	}
	var out []string
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || spaces && unicode.IsSpace(r) }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// lines reads a field listing names one per line (a textarea's), without
// empty lines. Each line is one name, commas and all: a site's name may
// hold any text (SCIM allows "north, south" for one site), and a comma
// separator would save that site as two, changing where the role counts
// without anyone asking. A line break is the one separator no name holds:
// the policy refuses control characters in site names.
func (f *policyForm) lines(key string) ([]string, error) {
	v := f.r.PostForm.Get(key)
	if len(v) > maxListField || !utf8.ValidString(v) {
		return nil, badRequest("the field " + key + " is too long or not text")
	}
	var out []string
	// Browsers send a textarea's line breaks as CR LF; a lone CR or LF
	// from another client breaks a line too.
	for _, s := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// duration reads a duration field; empty is zero when allowed.
func (f *policyForm) duration(key, label string, emptyOK bool) (time.Duration, error) {
	s, err := f.get(key)
	if err != nil {
		return 0, err
	}
	if s == "" && emptyOK {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, badRequest(fmt.Sprintf("%s: %q is not a duration like 12h, 4h30m or 90m", label, s))
	}
	return d, nil
}

// rule reads the fields of a role's rule.
func (f *policyForm) rule() (policy.RoleRule, error) {
	var (
		rr  policy.RoleRule
		err error
	)
	if rr.Apps, err = f.list("apps", true); err != nil {
		return rr, err
	}
	if rr.Sites, err = f.lines("sites"); err != nil {
		return rr, err
	}
	for _, et := range f.r.PostForm["employment_types"] {
		if len(et) > maxField {
			return rr, badRequest("the field employment_types is too long")
		}
		rr.EmploymentTypes = append(rr.EmploymentTypes, et)
	}
	if rr.Certification, err = f.get("certification"); err != nil {
		return rr, err
	}
	if rr.MaxSession, err = f.duration("max_session", "longest session", true); err != nil {
		return rr, err
	}
	rr.RequireUV = f.r.PostForm.Get("require_uv") != ""
	rr.Privileged = f.r.PostForm.Get("privileged") != ""
	return rr, nil
}

// current returns a copy of the rules in force for an edit based on the
// form's version; a form from an older version is refused at once.
func (c *Console) current(f *policyForm) (policy.Rules, error) {
	p := c.cfg.Engine.Policy()
	if p.Version != f.version {
		return policy.Rules{}, errPolicyStale(p)
	}
	return p.Rules.Clone(), nil
}

func errPolicyStale(p lifecycle.Policy) error {
	return &statusError{http.StatusConflict, fmt.Sprintf("the policy was changed since this page was loaded (it is now version %d, by %s): reload the page and make your change again", p.Version, p.ChangedBy)}
}

// findRole returns the key of role name in rules, case-insensitively.
func findRole(rules policy.Rules, name string) (string, bool) {
	for k := range rules.Roles {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

// policyGlobals changes the longest session and the shift grace.
func (c *Console) policyGlobals(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := readPolicyForm(r)
	if err != nil {
		return err
	}
	rules, err := c.current(f)
	if err != nil {
		return err
	}
	if rules.MaxSession, err = f.duration("max_session", "longest session", false); err != nil {
		return c.policyProblem(w, r, v, err)
	}
	grace, err := f.duration("shift_grace", "shift grace", false)
	if err != nil {
		return c.policyProblem(w, r, v, err)
	}
	switch {
	case grace == 0:
		rules.ShiftGrace = -1 // none
	case grace < 0:
		return c.policyProblem(w, r, v, badRequest("shift grace: "+policy.FormatDuration(grace)+" is negative: give 0s or more"))
	default:
		rules.ShiftGrace = grace
	}
	if rules.MaxSession == 0 {
		return c.policyProblem(w, r, v, badRequest("longest session: give a duration like 12h"))
	}
	return c.savePolicy(w, r, v, f.version, rules)
}

// policyRoleSave adds a role (no "original") or replaces one, renaming it
// when the name changed.
func (c *Console) policyRoleSave(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := readPolicyForm(r)
	if err != nil {
		return err
	}
	rules, err := c.current(f)
	if err != nil {
		return err
	}
	original, err := f.get("original")
	if err != nil {
		return err
	}
	name, err := f.get("name")
	if err != nil {
		return err
	}
	rule, err := f.rule()
	if err != nil {
		return c.policyProblem(w, r, v, err)
	}
	if name == "" {
		return c.policyProblem(w, r, v, badRequest("give the role's name: the identity provider's group name"))
	}
	if original != "" {
		key, ok := findRole(rules, original)
		if !ok {
			return &statusError{http.StatusConflict, "there is no role " + original + " any more: reload the page"}
		}
		delete(rules.Roles, key)
	}
	if key, ok := findRole(rules, name); ok {
		return c.policyProblem(w, r, v, badRequest(fmt.Sprintf("there is a role %s already (role names are compared case-insensitively): edit that one", key)))
	}
	rules.Roles[name] = rule
	return c.savePolicy(w, r, v, f.version, rules)
}

// policyRoleDelete removes a role's rule: the role falls back to the rule
// for other roles.
func (c *Console) policyRoleDelete(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := readPolicyForm(r)
	if err != nil {
		return err
	}
	rules, err := c.current(f)
	if err != nil {
		return err
	}
	name, err := f.get("name")
	if err != nil {
		return err
	}
	key, ok := findRole(rules, name)
	if !ok {
		return &statusError{http.StatusConflict, "there is no role " + name + " any more: reload the page"}
	}
	delete(rules.Roles, key)
	return c.savePolicy(w, r, v, f.version, rules)
}

// policyOtherSave changes the rule for roles without one of their own.
func (c *Console) policyOtherSave(w http.ResponseWriter, r *http.Request, v *viewer) error {
	f, err := readPolicyForm(r)
	if err != nil {
		return err
	}
	rules, err := c.current(f)
	if err != nil {
		return err
	}
	if rules.Other, err = f.rule(); err != nil {
		return c.policyProblem(w, r, v, err)
	}
	return c.savePolicy(w, r, v, f.version, rules)
}

// savePolicy stores rules as the next version of the policy based on
// version base and redirects to the page; an invalid policy is shown on
// the page with a 400 and changes nothing.
func (c *Console) savePolicy(w http.ResponseWriter, r *http.Request, v *viewer, base int64, rules policy.Rules) error {
	if err := c.checkListedSites(r.Context(), c.cfg.Engine.Rules(), rules); err != nil {
		return c.policyProblem(w, r, v, err)
	}
	ch, err := c.cfg.Engine.UpdatePolicy(r.Context(), v.actor(), base, rules)
	switch {
	case errors.Is(err, lifecycle.ErrPolicyStale):
		return errPolicyStale(c.cfg.Engine.Policy())
	case errors.Is(err, policy.ErrInvalid):
		var ve *policy.ValidationError
		if errors.As(err, &ve) {
			err = badRequest(ve.Error())
		}
		return c.policyProblem(w, r, v, err)
	case err != nil:
		return err
	}
	ok := "policy-saved"
	if !ch.Changed {
		ok = "policy-unchanged"
	} else if len(ch.SessionsEnded) > 0 {
		ok = "policy-saved-ended"
	}
	return done(w, r, "/console/policy", ok)
}

// policyProblem shows the policy page with a 400 and what to fix, or
// passes on errors that are not the user's to fix.
func (c *Console) policyProblem(w http.ResponseWriter, r *http.Request, v *viewer, err error) error {
	var se *statusError
	if !errors.As(err, &se) || se.status != http.StatusBadRequest || wantsJSON(r) {
		return err
	}
	c.renderPolicy(w, r, v, http.StatusBadRequest, se.msg)
	return nil
}
