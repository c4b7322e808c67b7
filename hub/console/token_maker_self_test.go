package console_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/cli"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestConsoleTokenStandsForItsMaker: an API token made on the console's
// Tokens page is the console account that made it in the checks that keep
// a person from deciding on their own access. The admin ada, linked to hub
// user ada@example.org, makes an admin token in the console and, with it,
// may not grant herself access, extend her own shift, nor keep or comment
// on an access-review item about herself (403, as with her console
// session): nothing is stored, and nothing audited as done. With the same
// token she acts on another worker's access, and the audit records name the
// account that made the token. A token made by the CLI operator, who is no
// hub user, still acts on ada's access.
func TestConsoleTokenStandsForItsMaker(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	now := time.Now().UTC()
	if _, err := h.Store().CreateDevice(ctx, store.Device{ID: "dev-north", Name: "north-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err) // a site is one where a kiosk is enrolled
	}
	shifts := []store.Shift{{Start: now.Add(-2 * time.Hour), End: now.Add(30 * time.Minute)}}
	for _, u := range []store.User{
		{ID: "u-ada", UserName: "ada@example.org", Sites: []string{"north"}, Shifts: shifts}, // the console admin
		{ID: "u-nia", UserName: "nia", Sites: []string{"north"}, Shifts: shifts},
	} {
		u.Active = true
		if _, err := h.Engine().CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Engine().CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-nurse", DisplayName: "Nurse", Members: []string{"u-ada", "u-nia"}}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	ada := account(t, h, "ada@example.org")
	if ada.UserID != "u-ada" {
		t.Fatalf("console account ada is linked to %q, want u-ada", ada.UserID)
	}
	campaign := startCampaign(t, admin)
	adaRole := item(t, h, campaign, "u-ada", store.ReviewItemRole, "Nurse")
	niaRole := item(t, h, campaign, "u-nia", store.ReviewItemRole, "Nurse")
	tok := newTokenOn(t, admin.post("/console/tokens", url.Values{"name": {"ada-scripts"}, "scope": {"admin"}}))

	grant := func(tok, user string) hubtest.Response {
		return h.DoToken(t, tok, "POST", "/api/v1/grants", map[string]any{"user": user, "role": "Nurse", "site": "north",
			"end": time.Now().Add(time.Hour), "reason": "cover"})
	}
	extend := func(tok, user string) hubtest.Response {
		return h.DoToken(t, tok, "POST", "/api/v1/users/"+user+"/extend", map[string]any{"site": "north",
			"until": time.Now().Add(2 * time.Hour), "reason": "late handover"})
	}
	decide := func(tok string, it store.ReviewItem, decision string) hubtest.Response {
		return h.DoToken(t, tok, "POST", "/api/v1/reviews/"+campaign+"/items/"+it.ID, map[string]string{"decision": decision, "comment": "fine"})
	}
	before := map[string]int{}
	for _, action := range []string{"grant.create", "shift.extend", "review.decide", "review.comment"} {
		before[action] = actionCount(t, h, action)
	}

	for _, tc := range []struct {
		name, want string
		send       func() hubtest.Response
	}{
		{"grant", "yourself", func() hubtest.Response { return grant(tok, "ada@example.org") }},
		{"extend", "your own shift", func() hubtest.Response { return extend(tok, "ada@example.org") }},
		{"keep", "own access", func() hubtest.Response { return decide(tok, adaRole, "keep") }},
		{"comment", "own access", func() hubtest.Response { return decide(tok, adaRole, "comment") }},
	} {
		t.Run("console token "+tc.name+" for its maker", func(t *testing.T) {
			if r := tc.send(); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), tc.want) {
				t.Errorf("%d %s, want 403 about %s", r.Status, r.Body, tc.want)
			}
		})
	}
	if gs, err := h.Store().ListGrants(ctx, "u-ada"); err != nil || len(gs) != 0 {
		t.Errorf("grants of ada after refused requests: %+v (%v)", gs, err)
	}
	if xs, err := h.Store().ListShiftExtensions(ctx, "u-ada"); err != nil || len(xs) != 0 {
		t.Errorf("shift extensions of ada after refused requests: %+v (%v)", xs, err)
	}
	if it := reviewItem(t, h, adaRole.ID); it.Decision != store.ReviewPending || it.Comment != "" {
		t.Errorf("refused decisions changed ada's item: %+v", it)
	}
	for action, n := range before {
		if got := actionCount(t, h, action); got != n {
			t.Errorf("refused requests wrote %d %s records", got-n, action)
		}
	}

	// The console token acts on others' access, and the audit records
	// say which account made it.
	maker := "console account " + ada.ID
	if r := grant(tok, "nia"); r.Status != http.StatusCreated || !strings.Contains(string(r.Body), maker) {
		t.Errorf("console token grants nia: %d %s, want 201 with an approver naming %s", r.Status, r.Body, maker)
	}
	if r := extend(tok, "nia"); r.Status != http.StatusCreated {
		t.Errorf("console token extends nia's shift: %d %s", r.Status, r.Body)
	}
	if r := decide(tok, niaRole, "keep"); r.Status != http.StatusOK {
		t.Errorf("console token keeps nia's role: %d %s", r.Status, r.Body)
	}
	for _, action := range []string{"grant.create", "shift.extend", "review.decide"} {
		recs, err := h.Store().ListAudit(ctx, store.AuditQuery{Action: action, Subject: "user:u-nia"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1 || recs[0].System != "api" || !strings.HasPrefix(recs[0].Actor, "token:"+idOf(tok)+" (ada-scripts)") || !strings.Contains(recs[0].Actor, maker) {
			t.Errorf("%s records of nia: %+v; want one by the token, naming %s", action, recs, maker)
		}
	}

	// A token the CLI operator made is no person: it acts on ada's access.
	var out, errOut bytes.Buffer
	if code := cli.Run(ctx, []string{"token", "create", "--data", h.DataDir, "--name", "ops", "--scope", "admin"}, &out, &errOut); code != 0 {
		t.Fatalf("token create: exit %d: %s", code, errOut.String())
	}
	cliTok := regexp.MustCompile(`sgt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`).FindString(out.String())
	if cliTok == "" {
		t.Fatalf("no token in the output of token create: %s", out.String())
	}
	page := admin.get("/console/tokens").Body
	if row := tokenRowOf(t, page, idOf(tok)); !strings.Contains(row, `<td class="made-by">console:ada@example.org</td>`) {
		t.Errorf("Tokens page row of the console token: %s; want it made by console:ada@example.org", row)
	}
	if row := tokenRowOf(t, page, idOf(cliTok)); !strings.Contains(row, `<td class="made-by">CLI, or not recorded</td>`) {
		t.Errorf("Tokens page row of the CLI token: %s; want it made by the CLI", row)
	}
	if r := grant(cliTok, "ada@example.org"); r.Status != http.StatusCreated {
		t.Errorf("CLI token grants ada: %d %s", r.Status, r.Body)
	}
	if r := extend(cliTok, "ada@example.org"); r.Status != http.StatusCreated {
		t.Errorf("CLI token extends ada's shift: %d %s", r.Status, r.Body)
	}
	if r := decide(cliTok, adaRole, "keep"); r.Status != http.StatusOK {
		t.Errorf("CLI token keeps ada's role: %d %s", r.Status, r.Body)
	}
	if it := reviewItem(t, h, adaRole.ID); it.Decision != store.ReviewKeep || it.DecidedBy != "token:"+idOf(cliTok)+" (ops)" {
		t.Errorf("ada's item after the CLI token kept it: %+v; want kept by token:%s (ops)", it, idOf(cliTok))
	}
}

// TestConsoleRotatedTokenStandsForTheRotator: an admin who rotates, on the
// console, a token the CLI operator made is shown the successor's secret,
// and the successor is the admin's: with it she may not grant herself
// access (403, nothing stored), while the old token, the CLI operator's,
// still may in its overlap.
func TestConsoleRotatedTokenStandsForTheRotator(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	now := time.Now().UTC()
	if _, err := h.Store().CreateDevice(ctx, store.Device{ID: "dev-north", Name: "north-1", Site: "north", Profile: "generic-x86", State: store.DeviceActive, Created: now, Modified: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: "u-ada", UserName: "ada@example.org", Active: true, Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	old := h.AdminToken(t) // made as the CLI makes them: by nobody known
	succ := newTokenOn(t, admin.post("/console/tokens/"+idOf(old)+"/rotate", url.Values{"overlap": {"1h"}}))

	grant := func(tok string) hubtest.Response {
		return h.DoToken(t, tok, "POST", "/api/v1/grants", map[string]any{"user": "ada@example.org", "role": "Nurse", "site": "north",
			"end": time.Now().Add(time.Hour), "reason": "cover"})
	}
	if r := grant(succ); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "yourself") {
		t.Errorf("rotated token grants ada: %d %s, want 403 about granting yourself", r.Status, r.Body)
	}
	if gs, err := h.Store().ListGrants(ctx, "u-ada"); err != nil || len(gs) != 0 {
		t.Errorf("grants of ada after the refused grant: %+v (%v)", gs, err)
	}
	if r := grant(old); r.Status != http.StatusCreated {
		t.Errorf("the CLI operator's token grants ada in its overlap: %d %s", r.Status, r.Body)
	}
}
