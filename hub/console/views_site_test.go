package console_test

import (
	"bufio"
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/policy"
	"github.com/shiftgate/shiftgate/hub/store"
)

// event is one server-sent event of a live-update stream.
type event struct{ name, data string }

// stream is a live-update stream (/console/site/events) a client opened.
type stream struct {
	t      testing.TB
	status int
	events chan event // closed when the stream ends
}

// eventWait bounds how long a test waits for a stream's next event: the
// hub polls every second.
const eventWait = 10 * time.Second

// events opens the client's live-update stream, as the page's EventSource
// does, with headers as name, value pairs. The stream is read until it
// ends or the test does.
func (c *client) events(headers ...string) *stream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", c.h.URL+"/console/site/events", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// No client timeout: the stream stays open.
	hc := &http.Client{Transport: c.http.Transport, Jar: c.http.Jar, CheckRedirect: c.http.CheckRedirect}
	res, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("open the live stream: %v", err)
	}
	s := &stream{t: c.t, status: res.StatusCode, events: make(chan event, 64)}
	go func() {
		defer close(s.events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev event
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				if ev.name != "" {
					s.events <- ev
				}
				ev = event{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// next returns the stream's next event; ok is false if the stream ended
// first.
func (s *stream) next() (ev event, ok bool) {
	s.t.Helper()
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(eventWait):
		s.t.Fatalf("no live-stream event within %v", eventWait)
		return event{}, false
	}
}

// expect fails the test unless the stream's next event is name; it
// returns the event's data.
func (s *stream) expect(name string) string {
	s.t.Helper()
	ev, ok := s.next()
	if !ok || ev.name != name {
		s.t.Fatalf("live stream: got event %q (open %t), want %q", ev.name, ok, name)
	}
	return ev.data
}

// expectEnd fails the test unless the stream ends with no other event.
func (s *stream) expectEnd() {
	s.t.Helper()
	if ev, ok := s.next(); ok {
		s.t.Fatalf("live stream: got event %q, want the end of the stream", ev.name)
	}
}

// TestLiveStreamsPerAccount: an account holds at most MaxLiveStreams
// live-update streams over all its sessions. Another one works (a reloaded
// page keeps its live updates) and ends the account's oldest with
// "superseded"; that page's automatic reconnection gets 204, which stops
// an EventSource. Streams of other accounts, and the rest of the
// account's, go on.
func TestLiveStreamsPerAccount(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	again := newClient(t, h, sup.badge) // the same account in another browser
	if r := again.signin(); r.Status != 200 {
		t.Fatalf("second sign-in: %d %s", r.Status, r.Body)
	}
	adminStream := admin.events()
	adminStream.expect("sessions")

	var open []*stream
	for i := range console.MaxLiveStreams {
		c := sup
		if i%2 == 1 {
			c = again
		}
		s := c.events()
		if s.status != http.StatusOK {
			t.Fatalf("stream %d: %d, want 200", i, s.status)
		}
		s.expect("sessions")
		open = append(open, s)
	}
	for i := range 2 {
		s := again.events()
		if s.status != http.StatusOK {
			t.Fatalf("stream %d past the bound: %d, want 200", i, s.status)
		}
		if got := s.expect("sessions"); got != "1" {
			t.Errorf("stream %d past the bound: %s sessions, want north's 1", i, got)
		}
		open[i].expect("superseded")
		open[i].expectEnd()
		open = append(open, s)
	}
	if s := sup.events("Last-Event-ID", "superseded"); s.status != http.StatusNoContent {
		t.Errorf("reconnection of a superseded stream: %d, want 204", s.status)
	}

	// The streams left, and the admin's, still report changes.
	if _, err := h.Engine().EndSessionForced(t.Context(), lifecycleActor, w.northSession.ID); err != nil {
		t.Fatal(err)
	}
	for i, s := range open[2:] {
		if got := s.expect("sessions"); got != "0" {
			t.Errorf("stream %d after the sign-out: %s sessions, want 0", i+2, got)
		}
	}
	if got := adminStream.expect("sessions"); got != "1" {
		t.Errorf("admin stream after the sign-out: %s sessions, want south's 1", got)
	}
}

// TestLiveStreamEndsWithSession: a live-update stream ends with
// "signedout" when its console session is signed out, idles out or its
// account is disabled, and it follows the account's sites as they are now.
func TestLiveStreamEndsWithSession(t *testing.T) {
	clock := hubtest.NewClock(time.Now())
	h := hubtest.Start(t, hubtest.Options{Clock: clock})
	makeWorld(t, h)
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north", "south")

	// Sign-out.
	{
		s := sup.events()
		s.expect("sessions")
		if r := sup.post("/console/signout", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("sign out: %d", r.Status)
		}
		s.expect("signedout")
		s.expectEnd()
	}
	if r := sup.signin(); r.Status != 200 {
		t.Fatalf("sign in again: %d %s", r.Status, r.Body)
	}

	// Sites taken away: the stream watches what is left.
	{
		s := sup.events()
		if got := s.expect("sessions"); got != "2" {
			t.Fatalf("stream of north and south: %s sessions, want 2", got)
		}
		acct := account(t, h, "sam")
		if _, err := h.Store().UpdateConsoleAccount(t.Context(), acct.ID, func(a store.ConsoleAccount) (store.ConsoleAccount, error) {
			a.Sites = []string{"north"}
			return a, nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := s.expect("sessions"); got != "1" {
			t.Errorf("stream after south was taken away: %s sessions, want north's 1", got)
		}
	}

	// Idle timeout (live updates are no activity).
	{
		s := sup.events()
		s.expect("sessions")
		clock.Advance(console.DefaultIdleTimeout)
		s.expect("signedout")
		s.expectEnd()
	}
	if r := sup.signin(); r.Status != 200 {
		t.Fatalf("sign in again: %d %s", r.Status, r.Body)
	}
	admin.signin() // the admin idled out too

	// The account disabled.
	{
		s := sup.events()
		s.expect("sessions")
		if r := admin.post("/console/accounts/"+account(t, h, "sam").ID+"/disable", nil); r.Status != http.StatusSeeOther {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
		s.expect("signedout")
		s.expectEnd()
	}
}

// TestSiteUserPageOwnSitesOnly: a supervisor viewing a worker of its site
// who works at another site too sees only its own sites: not the other
// site's name, nor grants there, nor a group role whose rule counts only
// there; a group role without site limits, or limited to the
// supervisor's site, shows. An admin sees everything.
func TestSiteUserPageOwnSitesOnly(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	makeWorld(t, h)
	ctx := t.Context()
	eng := h.Engine()
	rules := eng.Rules().Clone()
	rules.Roles["Dispenser"] = policy.RoleRule{Apps: []string{"pharmacy"}, Sites: []string{"south"}}
	rules.Roles["Porter"] = policy.RoleRule{Apps: []string{"transport"}, Sites: []string{"north"}}
	if _, err := eng.UpdatePolicy(ctx, lifecycleActor, eng.Policy().Version, rules); err != nil {
		t.Fatal(err)
	}
	u, err := eng.CreateUser(ctx, lifecycleActor, store.User{ID: "u-both", UserName: "both.worker", DisplayName: "Both Worker", Active: true, Sites: []string{"north", "south"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"Nurse", "Dispenser", "Porter"} {
		if _, err := eng.CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-" + g, DisplayName: g, Members: []string{u.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	end := time.Now().Add(4 * time.Hour)
	for _, g := range []store.Grant{
		{UserID: u.ID, Role: "Picker", Site: "north", Reason: "north-cover", End: end},
		{UserID: u.ID, Role: "Courier", Site: "south", Reason: "south-cover", End: end},
	} {
		if _, err := eng.GrantAccess(ctx, lifecycleActor, g); err != nil {
			t.Fatal(err)
		}
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")

	own := []string{"north", "Nurse", "Porter", "Picker", "north-cover"}
	other := []string{"south", "Dispenser", "Courier", "south-cover"}
	for _, tc := range []struct {
		name       string
		c          *client
		want, hide []string
	}{
		{"supervisor of north", sup, own, other},
		{"admin", admin, append(own, other...), nil},
	} {
		r := tc.c.get("/console/site/users/" + u.ID)
		if r.Status != 200 {
			t.Fatalf("%s: worker page: %d", tc.name, r.Status)
		}
		body := html.UnescapeString(r.Body)
		for _, s := range tc.want {
			if !strings.Contains(body, s) {
				t.Errorf("%s: worker page lacks %q", tc.name, s)
			}
		}
		for _, s := range tc.hide {
			if strings.Contains(body, s) {
				t.Errorf("%s: worker page shows %q", tc.name, s)
			}
		}
	}
}

// TestSupervisorCannotExtendPrivilegedUser: a supervisor may not extend
// the shift of a worker of its site who holds a privileged role, through a
// group or a grant not yet ended (at any site: the extension holds at all
// of them); the 403 says to ask an admin and names the role only if it is
// at the supervisor's sites. Nothing is extended. An admin may, and a
// worker without a privileged role is not refused.
func TestSupervisorCannotExtendPrivilegedUser(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	w := makeWorld(t, h)
	ctx := t.Context()
	eng := h.Engine()
	now := time.Now().UTC()
	for _, u := range []store.User{
		{ID: "u-lead", UserName: "north.lead", Sites: []string{"north"}},
		{ID: "u-cover", UserName: "north.cover", Sites: []string{"north"}},
		{ID: "u-away", UserName: "north.away", Sites: []string{"north"}},
		{ID: "u-later", UserName: "north.later", Sites: []string{"north"}},
		{ID: "u-past", UserName: "north.past", Sites: []string{"north"}},
	} {
		u.Active, u.DisplayName = true, u.UserName
		if _, err := eng.CreateUser(ctx, lifecycleActor, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"u-lead", "u-cover", "u-away", "u-later", "u-past", w.northUser.ID} {
		if _, err := eng.SetShifts(ctx, lifecycleActor, id, []store.Shift{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := eng.CreateGroup(ctx, lifecycleActor, store.Group{ID: "g-sup", DisplayName: "Supervisor", Members: []string{"u-lead"}}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []store.Grant{
		{UserID: "u-cover", Role: "supervisor", Site: "north", End: now.Add(4 * time.Hour)},
		{UserID: "u-away", Role: "Supervisor", Site: "south", End: now.Add(4 * time.Hour)},
		{UserID: "u-later", Role: "Supervisor", Site: "north", Start: now.Add(2 * time.Hour), End: now.Add(4 * time.Hour)},
		{UserID: "u-past", Role: "Supervisor", Site: "north", End: now.Add(4 * time.Hour)},
	} {
		g.Reason = "cover"
		if _, err := eng.GrantAccess(ctx, lifecycleActor, g); err != nil {
			t.Fatal(err)
		}
	}
	grants, err := h.Store().ListGrants(ctx, "u-past")
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants of north.past: %v %v", grants, err)
	}
	if _, err := eng.RevokeGrant(ctx, lifecycleActor, grants[0].ID, "over"); err != nil {
		t.Fatal(err)
	}
	admin := bootstrapAdmin(t, h)
	sup := admin.supervisor("sam", "north")
	extend := func(c *client, user string) resp {
		t.Helper()
		return c.post("/console/site/extensions", url.Values{"user": {user}, "until": {"2h"}, "reason": {"late handover"}})
	}

	for _, tc := range []struct {
		user, role string // role: what the refusal names
	}{
		{"north.lead", "the privileged role Supervisor"},
		{"north.cover", "the privileged role supervisor"},
		{"north.later", "the privileged role Supervisor"},
		{"north.away", "a privileged role"},
	} {
		r := extend(sup, tc.user)
		msg := html.UnescapeString(r.Body)
		if r.Status != http.StatusForbidden || !strings.Contains(msg, tc.user+", who holds "+tc.role+": ask an admin") {
			t.Errorf("supervisor extends %s: %d %q; want 403 naming %q and asking for an admin", tc.user, r.Status, msg, tc.role)
		}
	}
	if recs, _ := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "shift.extend"}); len(recs) != 0 {
		t.Errorf("refused extensions made %d extensions", len(recs))
	}
	for _, tc := range []struct {
		c    *client
		user string
	}{
		{sup, w.northUser.UserName}, // no privileged role
		{sup, "north.past"},         // a revoked privileged grant
		{admin, "north.lead"},
	} {
		if r := extend(tc.c, tc.user); r.Status != http.StatusSeeOther {
			t.Errorf("extend %s: %d %s, want 303", tc.user, r.Status, r.Body)
		}
	}
}
