package console_test

import (
	"cmp"
	"database/sql"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // a second user of a name, as a file from before names were folded holds one

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// inviteAs posts the Accounts page's invite form for name, linked to the
// hub user userName (the Hub user field; "" leaves it empty).
func (c *client) inviteAs(name, userName, role string, sites ...string) resp {
	c.t.Helper()
	return c.post("/console/accounts", url.Values{"name": {name}, "user": {userName}, "role": {role}, "sites": sites})
}

// recordDetail decodes an audit record's detail.
func recordDetail(t *testing.T, rec store.AuditRecord) map[string]any {
	t.Helper()
	d := map[string]any{}
	if err := json.Unmarshal(rec.Detail, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestInviteForHubUserGiven: a new hire given a departed person's
// userName cannot have an account of that name (the departed person's
// account keeps it), so the admin invites them under another name and
// names their hub user in the invite form's Hub user field (in any case).
// The account is linked to the new hire's ID, not the departed person's;
// the invite and the link are audited naming that user; the Accounts
// page shows it; and the new hire's leaving disables the account and
// signs it out.
func TestInviteForHubUserGiven(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)

	oldID := scimUser(t, h, "jsmith", map[string]any{"sites": []string{"north"}})
	admin.supervisor("jsmith", "north")
	if r := h.Do(t, "DELETE", "/scim/v2/Users/"+oldID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("SCIM DELETE of the departed jsmith: %d %s", r.Status, r.Body)
	}
	newID := scimUser(t, h, "jsmith", map[string]any{"sites": []string{"north"}})

	if p := admin.get("/console/accounts"); !strings.Contains(p.Body, `<label for="acct-user">Hub user (optional`) || !strings.Contains(p.Body, `<input id="acct-user" name="user"`) {
		t.Errorf("accounts page: %d, want the invite form's optional Hub user field", p.Status)
	}
	if r := admin.inviteAs("jsmith", "", store.ConsoleSupervisor, "north"); r.Status != http.StatusConflict || !strings.Contains(r.Body, "already taken") {
		t.Fatalf("invite under the departed person's account name: %d, want 409 (name taken)", r.Status)
	}
	r := admin.inviteAs("jsmith2", "JSmith", store.ConsoleSupervisor, "north")
	m := inviteToken.FindStringSubmatch(r.Body)
	if r.Status != http.StatusCreated || m == nil {
		t.Fatalf("invite jsmith2 for hub user JSmith: %d %s", r.Status, r.Body)
	}
	acct := account(t, h, "jsmith2")
	if acct.UserID != newID {
		t.Fatalf("jsmith2 linked to %q, want the new hire %s (the departed jsmith is %s)", acct.UserID, newID, oldID)
	}
	if old := account(t, h, "jsmith"); old.UserID != oldID || old.Disabled.IsZero() {
		t.Errorf("the departed person's account: %+v, want it disabled and still linked to %s", old, oldID)
	}
	inv := auditOf(t, h, acct.ID, "console.invite")
	if len(inv) != 1 {
		t.Fatalf("%d console.invite records for jsmith2, want 1", len(inv))
	}
	if d := recordDetail(t, inv[0]); d["user"] != newID || d["userName"] != "jsmith" || d["name"] != "jsmith2" {
		t.Errorf("console.invite detail %v, want it to name the linked hub user %s (jsmith)", d, newID)
	}
	if l := links(t, h, acct.ID); len(l) != 1 || l[0]["user"] != newID || l[0]["userName"] != "jsmith" ||
		l[0]["linkedBy"] != "hub user given" || l[0]["reason"] != "account created" || !strings.Contains(l[0]["actor"].(string), "ada@example.org") {
		t.Errorf("console.account_link records of jsmith2: %v", l)
	}
	row := regexp.MustCompile(`<th scope="row">jsmith2</th><td>supervisor</td><td><span class="names" role="list"><span role="listitem">north</span></span></td><td>([^<]*)</td>`)
	if p := admin.get("/console/accounts"); p.Status != http.StatusOK {
		t.Errorf("accounts page: %d", p.Status)
	} else if got := row.FindStringSubmatch(p.Body); got == nil || got[1] != "jsmith" {
		t.Errorf("accounts page: hub user of jsmith2 %q, want jsmith", got)
	}

	sup := newClient(t, h, nil)
	if r := sup.register(m[1]); r.Status != http.StatusOK {
		t.Fatalf("register jsmith2: %d %s", r.Status, r.Body)
	}
	if r := sup.get("/console/site/"); r.Status != http.StatusOK {
		t.Fatalf("site page of jsmith2: %d", r.Status)
	}

	scimPatch(t, h, newID, map[string]any{"active": false})
	signedOut(t, h, sup, w.northSession.ID)
	if a := account(t, h, "jsmith2"); a.Disabled.IsZero() {
		t.Errorf("jsmith2 after the new hire left: %+v, want disabled", a)
	}
	if d := consoleDisables(t, h, acct.ID); len(d) != 1 || recordDetail(t, d[0])["user"] != newID {
		t.Errorf("console.account_disable records of jsmith2: %+v, want one for %s", d, newID)
	}
}

// TestInviteHubUserRefused: the Hub user field must name one hub user who
// has not left. A userName no user has (404), one only deleted users have
// had (409), a disabled user (409: a leaver gets no console account), a
// userName two users share in some case (409, a file from before names
// were folded), and an account name that is another hub user's userName
// (409: it would read as theirs) are refused on the page with a message
// saying so, and create nothing: no account, no link, no audit record.
func TestInviteHubUserRefused(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	admin := bootstrapAdmin(t, h)
	scimUser(t, h, "live", nil)
	scimUser(t, h, "other", nil)
	goneID := scimUser(t, h, "gone", nil)
	scimPatch(t, h, goneID, map[string]any{"active": false})
	leftID := scimUser(t, h, "left", nil)
	if r := h.Do(t, "DELETE", "/scim/v2/Users/"+leftID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("SCIM DELETE: %d %s", r.Status, r.Body)
	}
	zoeID := scimUser(t, h, "Zoë", nil)
	twin(t, h, zoeID, "ZOË")

	records := func() int {
		t.Helper()
		n := 0
		for _, action := range []string{"console.invite", "console.account_link"} {
			recs, err := h.Store().SearchAudit(ctx, store.AuditSearch{Action: action})
			if err != nil {
				t.Fatal(err)
			}
			n += len(recs)
		}
		return n
	}
	before := records()
	for _, tc := range []struct {
		name, account, user string
		status              int
		msg                 string
	}{
		{"unknown user", "new1", "nobody", http.StatusNotFound, `no hub user has the user name &#34;nobody&#34;`},
		{"deleted user", "new2", "Left", http.StatusConflict, `hub user &#34;Left&#34; has been deleted: a leaver gets no console account`},
		{"disabled user", "new3", "gone", http.StatusConflict, `hub user &#34;gone&#34; is disabled: a leaver gets no console account; enable the user in the identity provider first`},
		{"ambiguous user", "new4", "zoë", http.StatusConflict, `more than one hub user has the user name &#34;zoë&#34;`},
		{"name of another user", "LIVE", "other", http.StatusConflict, `&#34;LIVE&#34; is the user name of another hub user than &#34;other&#34;`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.inviteAs(tc.account, tc.user, store.ConsoleAdmin)
			if r.Status != tc.status || !strings.Contains(r.Body, tc.msg) || inviteToken.MatchString(r.Body) {
				t.Errorf("invite %s for hub user %s: %d %s\nwant %d with %q and no link", tc.account, tc.user, r.Status, r.Body, tc.status, tc.msg)
			}
			if a, err := h.Store().GetConsoleAccountByName(ctx, tc.account); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("refused invite made account %+v (%v)", a, err)
			}
		})
	}
	if n := records(); n != before {
		t.Errorf("%d console.invite and console.account_link records after the refused invites, want %d", n, before)
	}
}

// TestInviteHubUserEmpty: with the Hub user field empty (or naming the
// account's own hub user) an invite links as before: to the hub user of
// the account's name, audited as linked by the account name, or to
// nobody when no hub user has the name.
func TestInviteHubUserEmpty(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	admin := bootstrapAdmin(t, h)
	liveID := scimUser(t, h, "Live", nil)
	kimID := scimUser(t, h, "kim", nil)

	admin.invite("live", store.ConsoleAuditor)
	acct := account(t, h, "live")
	if acct.UserID != liveID {
		t.Errorf("live linked to %q, want %s", acct.UserID, liveID)
	}
	if l := links(t, h, acct.ID); len(l) != 1 || l[0]["user"] != liveID || l[0]["linkedBy"] != "account name" {
		t.Errorf("console.account_link records of live: %v", l)
	}
	if d := recordDetail(t, auditOf(t, h, acct.ID, "console.invite")[0]); d["user"] != liveID || d["userName"] != "Live" {
		t.Errorf("console.invite detail %v, want it to name %s", d, liveID)
	}

	if r := admin.inviteAs("KIM", "kim", store.ConsoleAuditor); r.Status != http.StatusCreated {
		t.Errorf("invite KIM for its own hub user: %d %s", r.Status, r.Body)
	} else if a := account(t, h, "KIM"); a.UserID != kimID {
		t.Errorf("KIM linked to %q, want %s", a.UserID, kimID)
	}

	admin.invite("root2", store.ConsoleAdmin)
	acct = account(t, h, "root2")
	if acct.UserID != "" {
		t.Errorf("root2 linked to %q, want none", acct.UserID)
	}
	if l := links(t, h, acct.ID); len(l) != 0 {
		t.Errorf("console.account_link records of an unlinked account: %v", l)
	}
	if d := recordDetail(t, auditOf(t, h, acct.ID, "console.invite")[0]); d["user"] != nil {
		t.Errorf("console.invite detail %v names a hub user", d)
	}
}

// twin stores a second user, not deleted, whose userName differs from the
// user id's in non-ASCII case only, straight in the running hub's
// database: the store refuses one since names are folded, but a file from
// before may hold such a pair.
func twin(t *testing.T, h *hubtest.Hub, id, userName string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(h.DataDir, hub.DBFile)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		`CREATE TEMP TABLE twin AS SELECT * FROM users WHERE id = ?1`,
		`UPDATE twin SET id = ?1 || '-twin', user_name = ?2`,
		`INSERT INTO users SELECT * FROM twin`,
	} {
		if _, err := conn.ExecContext(t.Context(), q, id, userName); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if us, _, err := h.Store().ListUsers(t.Context(), store.UserQuery{UserName: userName}); err != nil || len(us) != 2 {
		t.Fatalf("users named %s: %d, %v; want 2", userName, len(us), err)
	}
}

// TestLeaverNameSameForInviteAndBootstrap: the invite form and `admin
// bootstrap` make a new account by one rule (accountUser). A name only
// deleted users have had is refused without a hub user given (409;
// ErrHubUserGone for bootstrap): such an account would be linked to
// nobody, so the leaver path could take it for nobody's. With the live
// hub user it is for given, it is made, linked to that user by ID. A
// disabled user's name is refused, with or without another user given. A
// name no user ever had makes an account linked to nobody, as before.
func TestLeaverNameSameForInviteAndBootstrap(t *testing.T) {
	type outcome struct {
		account, user string
		status        int    // the invite form's; 0 for success
		msg           string // in the refusal
		linked        string // the user the account is linked to: "live", or "" for nobody
	}
	cases := []outcome{
		{"Left", "", http.StatusConflict, `"Left" is the user name of a deleted hub user: an account of a leaver's name would be linked to nobody`, ""},
		{"gone", "", http.StatusConflict, `hub user "gone" is disabled: a leaver gets no console account; enable the user in the identity provider first`, ""},
		{"gone", "live", http.StatusConflict, `"gone" is the user name of another hub user than "live"`, ""},
		{"left", "live", 0, "", "live"},
		{"fresh", "", 0, "", ""},
	}
	for _, via := range []string{"invite", "bootstrap"} {
		t.Run(via, func(t *testing.T) {
			h := hubtest.Start(t, hubtest.Options{})
			ctx := t.Context()
			admin := bootstrapAdmin(t, h)
			liveID := scimUser(t, h, "live", nil)
			goneID := scimUser(t, h, "gone", nil)
			scimPatch(t, h, goneID, map[string]any{"active": false})
			leftID := scimUser(t, h, "left", nil)
			if r := h.Do(t, "DELETE", "/scim/v2/Users/"+leftID, nil); r.Status != http.StatusNoContent {
				t.Fatalf("SCIM DELETE: %d %s", r.Status, r.Body)
			}
			for _, tc := range cases {
				var refused bool
				var msg string
				switch via {
				case "invite":
					r := admin.inviteAs(tc.account, tc.user, store.ConsoleAdmin)
					refused, msg = r.Status != http.StatusCreated, html.UnescapeString(r.Body)
					if refused && r.Status != tc.status || !refused && tc.status != 0 {
						t.Errorf("invite %s for hub user %q: %d, want %d", tc.account, tc.user, r.Status, cmp.Or(tc.status, http.StatusCreated))
					}
				case "bootstrap":
					_, err := console.BootstrapFor(ctx, h.Store(), auditLog(t, h), tc.account, tc.user, true, time.Now())
					if refused = err != nil; refused {
						msg = err.Error()
					}
					if gone := errors.Is(err, console.ErrHubUserGone); gone != strings.Contains(tc.msg, "a leaver") {
						t.Errorf("bootstrap %s for hub user %q: %v; ErrHubUserGone %v, want %v", tc.account, tc.user, err, gone, !gone)
					}
				}
				if refused != (tc.status != 0) || !strings.Contains(msg, tc.msg) {
					if via == "invite" {
						msg = "the page" // the status is above
					}
					t.Errorf("%s %s for hub user %q: refused %v (%s), want refused %v saying %q", via, tc.account, tc.user, refused, msg, tc.status != 0, tc.msg)
				}
				a, err := h.Store().GetConsoleAccountByName(ctx, tc.account)
				switch {
				case tc.status != 0 && !errors.Is(err, store.ErrNotFound):
					t.Errorf("refused %s made account %+v (%v)", via, a, err)
				case tc.status == 0 && err != nil:
					t.Errorf("account %s after %s: %v", tc.account, via, err)
				case tc.status == 0 && tc.linked == "live" && a.UserID != liveID, tc.status == 0 && tc.linked == "" && a.UserID != "":
					t.Errorf("account %s after %s linked to %q, want %s", tc.account, via, a.UserID, cmp.Or(tc.linked, "nobody"))
				}
			}
		})
	}
}
