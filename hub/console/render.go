package console

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/hub/store"
)

// page is what every template gets.
type page struct {
	Title   string
	Account *store.ConsoleAccount // nil when signed out
	Admin   bool
	// Auditor: the viewer reads and changes nothing. Pages leave out the
	// forms and links it could not use (the routes refuse them anyway):
	// the evidence pages show their actions to admins only, the pages
	// supervisors share hide them from auditors.
	Auditor bool
	CSRF    string
	OK      string // a confirmation from the previous action
	Nav     string // the current section, for aria-current
	Data    any
}

type pageTemplate struct {
	t *template.Template
}

// okMessages are the confirmations a redirect may ask for with ?ok=KEY;
// only these texts can appear, so the query cannot inject content.
var okMessages = map[string]string{
	"signed-out":            "You are signed out.",
	"signed-out-everywhere": "You are signed out on every browser.",
	"browser-signed-out":    "That browser is signed out.",
	"session-ended":         "The session was ended; the kiosk has been told.",
	"session-unchanged":     "The session had ended already; nothing was changed.",
	"kiosk-cleared":         "Every session on the kiosk was ended; the kiosk has been told.",
	"user-signed-out":       "The user was signed out everywhere.",
	"user-disabled":         "The user was disabled and stripped of access.",
	"credential-revoked":    "The credential was revoked.",
	"credential-unchanged":  "The credential was revoked already; nothing was changed.",
	"passkeys-revoked":      "The account's passkeys were revoked and its sessions ended; send it a new link to register another.",
	"device-disabled":       "The kiosk was disabled and cut off.",
	"device-unchanged":      "The kiosk was disabled already; nothing was changed.",
	"token-revoked":         "The token was revoked.",
	"token-unchanged":       "The token was revoked already; nothing was changed.",
	"account-disabled":      "The console account was disabled and signed out.",
	"account-unchanged":     "The console account was disabled already; nothing was changed.",
	"enrollment-armed":      "The kiosk is ready: the worker taps their badge there now.",
	"grant-created":         "Access granted.",
	"grant-repeated":        "Access granted: the form was sent more than once, and one grant was made.",
	"grant-replayed-over":   "Nothing was granted: this form made a grant before, which has since been revoked or has ended. Reload the page to grant access again.",
	"grant-revoked":         "The grant was revoked.",
	"grant-unchanged":       "The grant was over or revoked already; nothing was changed.",
	"shift-extended":        "The shift was extended; the worker's live sessions now end later and their kiosks have been told.",
	"campaign-started":      "The access review started; its items are assigned to their reviewers.",
	"campaign-repeated":     "The access review started: the form was sent more than once, and one campaign was started.",
	"reviews-run":           "The due default campaigns were started (those of this period that had not been) and overdue items escalated.",
	"review-kept":           "Kept: the decision is recorded.",
	"review-revoked":        "Revoked: the access was removed; sessions that depended on it ended and their kiosks have been told.",
	"review-gone":           "Recorded as revoked: the access was already gone.",
	"review-commented":      "The comment was added; the item is still pending.",
	"finding-remediated":    "The finding was remediated; sessions it ended were pushed to their kiosks.",
	"finding-gone":          "The finding was remediated: what it was about was already gone.",
	"policy-saved":          "The policy was saved as a new version and applies now.",
	"policy-saved-ended":    "The policy was saved as a new version and applies now; live sessions that lost access were ended and their kiosks told.",
	"policy-unchanged":      "Nothing changed: the policy already says that.",
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"iso": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"hex":  func(b []byte) string { return hex.EncodeToString(b) },
	"join": strings.Join,
	"dur": func(d time.Duration) string {
		switch {
		case d <= 0:
			return "—"
		case d < time.Second:
			return fmt.Sprintf("%d ms", d.Milliseconds())
		case d < time.Minute:
			return fmt.Sprintf("%.1f s", d.Seconds())
		}
		return d.Round(time.Second).String()
	},
	// livepage hands the live-sessions partial the page it is part of,
	// with the live data as its Data.
	"livepage": func(p *page, d liveData) *page {
		cp := *p
		cp.Data = d
		return &cp
	},
	"scope":   scopeText,
	"percent": percent,
	// short is the tail of an ID: the random part of a UUIDv7 (its head
	// is a timestamp, the same for everything created in a minute).
	"short": func(s string) string {
		if len(s) > 8 {
			return "…" + s[len(s)-8:]
		}
		return s
	},
}

// parsePages parses each page template together with the layout.
func parsePages() (map[string]*pageTemplate, error) {
	layout, err := fs.ReadFile(templateFS, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*pageTemplate{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t := template.New("layout").Funcs(funcs)
		if _, err := t.Parse(string(layout)); err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
		partials, _ := fs.Glob(templateFS, "templates/_*.html")
		if len(partials) > 0 {
			if _, err := t.ParseFS(templateFS, partials...); err != nil {
				return nil, err
			}
		}
		if _, err := t.ParseFS(templateFS, n); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[base] = &pageTemplate{t: t}
	}
	return out, nil
}

// render writes the named page with status code. Templates execute into a
// buffer first, so a template failure becomes a clean 500.
func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, v *viewer, p *page) {
	c.renderTemplate(w, r, code, name, "layout", v, p)
}

func (c *Console) renderTemplate(w http.ResponseWriter, r *http.Request, code int, name, tmpl string, v *viewer, p *page) {
	if v != nil {
		p.Account, p.Admin, p.Auditor, p.CSRF = &v.account, v.admin(), v.auditor(), v.csrf
	}
	if p.OK == "" {
		p.OK = okMessages[r.URL.Query().Get("ok")]
	}
	pt, ok := c.pages[name]
	var buf bytes.Buffer
	if ok {
		if err := pt.t.ExecuteTemplate(&buf, tmpl, p); err != nil {
			ok = false
			c.cfg.Logger.Error("console template", "page", name, "err", err)
		}
	}
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// done redirects after a successful action (post/redirect/get).
func done(w http.ResponseWriter, r *http.Request, to, ok string) error {
	if ok != "" {
		if strings.Contains(to, "?") {
			to += "&ok=" + ok
		} else {
			to += "?ok=" + ok
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
