package profiles

import (
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
)

// Limits a profile must keep to.
const (
	MinIdleTimeout = 10 * time.Second
	MaxMaxSession  = 24 * time.Hour
	// MinOfflineGrace bounds offlineGrace from below: a dropped Wi-Fi
	// packet or a hub restart must not sign a worker out.
	MinOfflineGrace = time.Minute
	// DefaultOfflineGrace is offlineGrace when a profile gives none.
	DefaultOfflineGrace = 15 * time.Minute
	MaxGrace            = time.Minute
	maxPixels           = 16384
	maxScale            = 4.0
)

var (
	validName  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	validAppID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)
)

// readerNeeds is the transport each badge reader serves.
var readerNeeds = map[Reader]Transport{
	ReaderUSBHID:  TransportUSB,
	ReaderPCSCNFC: TransportNFC,
	ReaderBLE:     TransportBLE,
}

// transportNeeds is the reader each transport cannot work without.
var transportNeeds = map[Transport]Reader{
	TransportNFC: ReaderPCSCNFC,
	TransportBLE: ReaderBLE,
}

// checkRoleCase refuses two keys of one map that differ only in case:
// role names compare without case (see UVFor), so they would name one
// role twice, and which of them a role gets would depend on map order.
func checkRoleCase(ps *problems, field string, roles []string) {
	seen := make(map[string]string)
	for _, role := range roles {
		k := foldKey(role)
		if prev, dup := seen[k]; dup {
			ps.addf(child(field, role), "names the same role as %q: role names compare without case", prev)
			continue
		}
		seen[k] = role
	}
}

// foldKey maps s to a key that two strings share exactly when strings.EqualFold
// (which UVFor and AppsFor use, as the hub does) says they are equal: each
// rune becomes the smallest rune of its Unicode simple case-folding orbit.
// strings.ToLower is not that: "ſ" (long s) folds to "s" but stays "ſ".
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b.WriteRune(low)
	}
	return b.String()
}

// roleSeparator joins a session's roles in the hub's decision (the hub's
// policy.RoleSeparator): no role name contains it.
const roleSeparator = ","

// roleProblem says why a role key could never equal a role the hub grants,
// or returns "". Roles are group displayNames, which the hub trims; a key
// that never matches would silently leave its role with the default (for
// userVerification.roles, a role meant to need verification without it).
func roleProblem(role string) string {
	switch {
	case role != strings.TrimSpace(role):
		return "role name has leading or trailing spaces; roles are group names, which the hub trims, so it would never match"
	case strings.Contains(role, roleSeparator):
		return `role name contains ","; a session's roles are separated by commas, so it would never match`
	}
	return ""
}

// requiredSteps must appear in every teardown; clear-clipboard is optional
// because not every kiosk session has a clipboard.
var requiredSteps = []Action{ActionTerminate, ActionWipeHome, ActionLockScreen, ActionNotifyHub}

// Validate reports every problem with p as a *ValidationError, or nil.
// Profiles returned by this package already passed it; it is for profiles
// built or modified in code.
func (p *Profile) Validate() error {
	ps := &problems{file: p.File}
	p.check(ps)
	if len(ps.list) == 0 {
		return nil
	}
	sortProblems(ps.list)
	return &ValidationError{Problems: ps.list}
}

// check adds p's problems to ps, skipping fields ps already knows are
// malformed.
func (p *Profile) check(ps *problems) {
	add := ps.addf

	if p.Version != Version && !ps.isBad("version") {
		add("version", "unsupported version %d; this build reads version %d", p.Version, Version)
	}

	switch {
	case p.Name == "":
		add("name", "missing")
	case !validName.MatchString(p.Name):
		add("name", "%q must be lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters", p.Name)
	case p.File != "":
		if want := strings.TrimSuffix(filepath.Base(p.File), ".json"); p.Name != want {
			add("name", "%q does not match the file name %s; name the file %s.json or set name to %q", p.Name, filepath.Base(p.File), p.Name, want)
		}
	}
	if strings.TrimSpace(p.Description) == "" {
		add("description", "missing")
	}

	p.checkAuthenticator(ps)

	seen := make(map[uuid.UUID]int)
	for i, id := range p.AllowedAAGUIDs {
		field := index("allowedAAGUIDs", i)
		if id == uuid.Nil {
			add(field, "the all-zero AAGUID identifies no model (it is what unattested authenticators send); remove it")
		} else if j, dup := seen[id]; dup {
			add(field, "duplicate of allowedAAGUIDs[%d]", j)
		}
		if _, dup := seen[id]; !dup {
			seen[id] = i
		}
	}

	checkUV := func(field string, uv UV) {
		switch uv {
		case UVRequired, UVPreferred, UVDiscouraged:
		case "":
			add(field, "missing; want required, preferred or discouraged")
		default:
			add(field, "%q is not required, preferred or discouraged", uv)
		}
	}
	checkUV("userVerification.default", p.UserVerification.Default)
	checkRoleCase(ps, "userVerification.roles", sortedKeys(p.UserVerification.Roles))
	checkRoleCase(ps, "apps", sortedKeys(p.Apps))
	for _, role := range sortedKeys(p.UserVerification.Roles) {
		field := child("userVerification.roles", role)
		switch {
		case strings.TrimSpace(role) == "":
			add(field, "empty role name")
		case role == AnyRole:
			add(field, `"*" is not a role; use userVerification.default`)
		case roleProblem(role) != "":
			add(field, "%s", roleProblem(role))
		default:
			checkUV(field, p.UserVerification.Roles[role])
		}
	}

	switch {
	case p.IdleTimeout == 0:
		add("idleTimeout", "missing; want a duration like \"5m\"")
	case p.IdleTimeout < MinIdleTimeout:
		add("idleTimeout", "%s is shorter than the minimum %s", p.IdleTimeout, MinIdleTimeout)
	}
	switch {
	case p.MaxSession == 0:
		add("maxSession", "missing; want a duration like \"12h\"")
	case p.MaxSession < 0:
		add("maxSession", "%s is negative", p.MaxSession)
	case p.MaxSession > MaxMaxSession:
		add("maxSession", "%s is longer than the maximum %s", p.MaxSession, MaxMaxSession)
	}
	if p.IdleTimeout > 0 && p.MaxSession > 0 && p.IdleTimeout > p.MaxSession {
		add("idleTimeout", "%s is longer than maxSession %s", p.IdleTimeout, p.MaxSession)
	}
	switch {
	case p.OfflineGrace < MinOfflineGrace && (p.MaxSession <= 0 || p.OfflineGrace < p.MaxSession):
		add("offlineGrace", "%s is shorter than the minimum %s", p.OfflineGrace, MinOfflineGrace)
	case p.MaxSession > 0 && p.OfflineGrace > p.MaxSession:
		add("offlineGrace", "%s is longer than maxSession %s", p.OfflineGrace, p.MaxSession)
	}

	d := p.Display
	if d.Width <= 0 || d.Width > maxPixels {
		add("display.width", "%d is not between 1 and %d pixels", d.Width, maxPixels)
	}
	if d.Height <= 0 || d.Height > maxPixels {
		add("display.height", "%d is not between 1 and %d pixels", d.Height, maxPixels)
	}
	if !(d.Scale > 0 && d.Scale <= maxScale) { // also catches NaN
		add("display.scale", "%g is not greater than 0 and at most %g", d.Scale, maxScale)
	}

	p.checkApps(ps)
	p.checkTeardown(ps)
}

func (p *Profile) checkAuthenticator(ps *problems) {
	add := ps.addf
	a := p.Authenticator
	if len(a.Transports) == 0 {
		add("authenticator.transports", "missing; list at least one of usb, nfc, ble, internal")
	}
	firstAt := make(map[Transport]int)
	for i, t := range a.Transports {
		field := index("authenticator.transports", i)
		switch t {
		case TransportUSB, TransportNFC, TransportBLE, TransportInternal:
		default:
			add(field, "unknown transport %q; want usb, nfc, ble or internal", t)
			continue
		}
		if j, dup := firstAt[t]; dup {
			add(field, "duplicate of authenticator.transports[%d]", j)
		} else {
			firstAt[t] = i
		}
		if r, ok := transportNeeds[t]; ok && a.Reader != r && validReader(a.Reader) {
			add(field, "transport %s needs reader %s, but reader is %s", t, r, a.Reader)
		}
	}
	switch {
	case a.Reader == "":
		add("authenticator.reader", "missing; want none, usb-hid, pcsc-nfc or ble")
	case !validReader(a.Reader):
		add("authenticator.reader", "unknown reader %q; want none, usb-hid, pcsc-nfc or ble", a.Reader)
	default:
		t, ok := readerNeeds[a.Reader]
		if ok && !ps.isBad("authenticator.transports") && !slices.Contains(a.Transports, t) {
			add("authenticator.reader", "reader %s serves transport %s, which authenticator.transports does not list", a.Reader, t)
		}
	}
}

func validReader(r Reader) bool {
	switch r {
	case ReaderNone, ReaderUSBHID, ReaderPCSCNFC, ReaderBLE:
		return true
	}
	return false
}

func (p *Profile) checkApps(ps *problems) {
	add := ps.addf
	total := 0
	// anyIDs records where each "*" app id is; ids must be unique within a
	// role's apps and "*"'s together, since AppsFor merges the two.
	anyIDs := make(map[string]string)
	for i, a := range p.Apps[AnyRole] {
		if _, dup := anyIDs[a.ID]; !dup && a.ID != "" {
			anyIDs[a.ID] = index(child("apps", AnyRole), i)
		}
	}
	for _, role := range sortedKeys(p.Apps) {
		base := child("apps", role)
		total += len(p.Apps[role])
		if strings.TrimSpace(role) == "" {
			add(base, "empty role name")
			continue
		}
		if msg := roleProblem(role); msg != "" {
			add(base, "%s", msg)
		}
		ids := make(map[string]string)
		for i, a := range p.Apps[role] {
			field := index(base, i)
			switch {
			case a.ID == "":
				add(field+".id", "missing")
			case !validAppID.MatchString(a.ID):
				add(field+".id", "%q must be lowercase letters, digits, dots, dashes and underscores", a.ID)
			default:
				if prev, dup := ids[a.ID]; dup {
					add(field+".id", "duplicate app id %q (also %s)", a.ID, prev)
				} else if prev, dup := anyIDs[a.ID]; dup && role != AnyRole {
					add(field+".id", "duplicate app id %q (also %s, which every role gets)", a.ID, prev)
				} else {
					ids[a.ID] = field
				}
			}
			if strings.TrimSpace(a.Label) == "" {
				add(field+".label", "missing")
			}
			switch {
			case len(a.Command) == 0:
				add(field+".command", "empty; want the program's absolute path and its arguments")
			case !strings.HasPrefix(a.Command[0], "/"):
				add(index(field+".command", 0), "%q is not an absolute path; the agent does not search PATH", a.Command[0])
			}
		}
	}
	if total == 0 {
		add("apps", "no apps; a session would show an empty screen")
	}
}

func (p *Profile) checkTeardown(ps *problems) {
	add := ps.addf
	first := make(map[Action]int)
	for i, s := range p.Teardown {
		field := index("teardown", i)
		switch s.Action {
		case ActionTerminate, ActionWipeHome, ActionClearClipboard, ActionLockScreen, ActionNotifyHub:
		case "":
			add(field+".action", "missing")
			continue
		default:
			add(field+".action", "unknown step %q; want terminate-processes, wipe-session-home, clear-clipboard, lock-screen or notify-hub", s.Action)
			continue
		}
		if j, dup := first[s.Action]; dup {
			add(field+".action", "duplicate of teardown[%d]", j)
			continue
		}
		first[s.Action] = i
		if s.Action == ActionTerminate {
			if s.Grace < 0 || s.Grace > MaxGrace {
				add(field+".grace", "%s is not between 0s and %s", s.Grace, MaxGrace)
			}
		} else if s.Grace != 0 {
			add(field+".grace", "only terminate-processes takes a grace")
		}
	}
	var missing []string
	for _, a := range requiredSteps {
		if _, ok := first[a]; !ok {
			missing = append(missing, string(a))
		}
	}
	if len(missing) > 0 {
		add("teardown", "missing required step(s): %s", strings.Join(missing, ", "))
	}
	if t, ok := first[ActionTerminate]; ok {
		if w, ok := first[ActionWipeHome]; ok && w < t {
			add(index("teardown", w)+".action", "wipe-session-home must come after terminate-processes (teardown[%d]): running processes could write the home again", t)
		}
	}
	if n, ok := first[ActionNotifyHub]; ok && n != len(p.Teardown)-1 {
		add(index("teardown", n)+".action", "notify-hub must be the last step: the hub's ack means teardown is complete")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
