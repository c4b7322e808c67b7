package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

const extURN = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"

// demoDirEmpty refuses a data directory with files other than hub.lock:
// the demo makes a new hub, and must not write into a real one.
func demoDirEmpty(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // missing: the lock creates it; unreadable: the lock says why
	}
	for _, e := range entries {
		if e.Name() != lockFile {
			return fmt.Errorf("%w: demo wants a new or empty --data directory, and %s has files (remove it first)", errUsage, dir)
		}
	}
	return nil
}

// listenFirst opens the demo hub's listener, and returns it with the
// address the hub is configured with: addr, with the port the system
// chose when addr's is 0, so that the hub's public URL (the console's and
// the kiosks' WebAuthn origin) names the port it serves on. A port in use
// says which flag picks another.
func listenFirst(addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen on %s: %w: pick another --listen (with make demo: DEMO_ADDR=127.0.0.1:9443)", addr, err)
	}
	host, _, _ := net.SplitHostPort(addr) // checkServeFlags checked it
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln, net.JoinHostPort(host, port), nil
}

// demo starts a hub on a fresh data directory with a demo organisation,
// walks through a joiner, a mover and a leaver over real SCIM, shows the
// audit trail, and keeps serving for the user to try the printed commands.
func (e env) demo(ctx context.Context, args []string) error {
	fs := e.flags("demo")
	data := fs.String("data", "", "data directory; must be new or empty")
	listen := fs.String("listen", "127.0.0.1:8443", "address to listen on")
	exit := fs.Bool("exit", false, "stop after the walk-through instead of serving until Ctrl-C")
	if err := parse(fs, args, "data"); err != nil {
		return err
	}
	if err := checkServeFlags(*listen, ""); err != nil {
		return err
	}
	// A directory with a hub.lock may have a hub running on it, which is
	// the thing to say; one without gets a hub.lock only if it is empty
	// (not in a mistyped --data $HOME).
	if _, err := os.Lstat(filepath.Join(*data, lockFile)); err != nil {
		if err := demoDirEmpty(*data); err != nil {
			return err
		}
	}
	lock, err := lockDataDir(*data)
	if err != nil {
		return err
	}
	defer lock.Close() // after s.Close: deferred first, runs last
	// Again under the lock: another demo may have filled it meanwhile.
	if err := demoDirEmpty(*data); err != nil {
		return err
	}
	log, err := e.logger("text", "warn")
	if err != nil {
		return err
	}
	// The port before anything is made in --data: a port in use found
	// only when the hub starts to serve would leave the directory seeded,
	// and a second try, with another --listen, refused as not empty.
	ln, bound, err := listenFirst(*listen)
	if err != nil {
		return err
	}
	serving := false
	defer func() {
		if !serving {
			ln.Close() // ServeListener closes it once it has it
		}
	}()
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, format+"\n", a...) }

	say("==> Starting a Shiftgate hub in %s", *data)
	s, err := hub.New(ctx, hub.Config{DataDir: *data, Listen: bound, Logger: log, FillWAL: true})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := seed(ctx, s.Engine(), s.Store()); err != nil {
		return fmt.Errorf("seed demo organisation: %w", err)
	}
	say("    demo organisation: sites north-ward, south-ward; roles Nurse, Picker, Supervisor; users amira.haddad, ben.okafor, chen.li")
	tok, err := createToken(ctx, *data, "demo-idp", store.ScopeSCIM, "demo")
	if err != nil {
		return err
	}

	srvCtx, stopSrv := context.WithCancel(ctx)
	defer stopSrv()
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	serving = true
	go func() { errc <- s.ServeListener(srvCtx, ln, func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		return err
	}
	base := "https://" + addr.String() + "/scim/v2"
	caFile, _ := filepath.Abs(filepath.Join(*data, "ca.pem"))
	c, err := newDemoClient(caFile, tok)
	if err != nil {
		return err
	}
	say("    listening on https://%s  (CA certificate: %s)", addr, caFile)
	say("    SCIM base URL: %s", base)
	say("    SCIM token (shown once; stored only as a hash): %s", tok)
	consoleURL := "https://localhost:" + strconv.Itoa(addr.(*net.TCPAddr).Port)
	if link, err := demoConsoleLink(ctx, s, *data, consoleURL); err != nil {
		say("    (web console link not made: %v)", err)
	} else {
		say("    web console %s/console/ (trust %s in the browser, or accept its warning)", consoleURL, caFile)
		say("    one-time link that registers the demo admin's passkey: %s", link)
	}
	say("")

	nurse, err := groupID(ctx, s.Store(), "Nurse")
	if err != nil {
		return err
	}
	curl := fmt.Sprintf("curl -sS --cacert %s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/scim+json'", caFile)
	// Kiosks: three shiftgate-agent processes with software badges, when
	// the agent binary sits next to this one (make build puts it there).
	var kiosks map[string]*demoKiosk
	hubURL := "https://localhost:" + strconv.Itoa(addr.(*net.TCPAddr).Port)
	setupKiosks := func() error {
		agent, err := agentBinary()
		if err != nil {
			say("    (kiosks skipped: %v)", err)
			return nil
		}
		adminTok, err := createToken(ctx, *data, "demo-admin", store.ScopeAdmin, "demo")
		if err != nil {
			return err
		}
		admin, err := newDemoClient(caFile, adminTok)
		if err != nil {
			return err
		}
		kiosks = map[string]*demoKiosk{}
		for _, k := range [][2]string{{"north-ward-1", "north-ward"}, {"north-ward-2", "north-ward"}, {"south-ward-1", "south-ward"}} {
			status, resp, err := admin.do(ctx, "POST", hubURL+"/api/v1/devices/codes", `{"name":"`+k[0]+`","site":"`+k[1]+`"}`)
			if err != nil || status != 201 {
				return fmt.Errorf("device code for %s: %d %s %v", k[0], status, resp, err)
			}
			var code struct{ Code string }
			json.Unmarshal(resp, &code)
			say("    kiosk %s at %s: enrollment code %s → shiftgate-agent enroll", k[0], k[1], code.Code)
			dk, err := startDemoKiosk(ctx, agent, hubURL, caFile, code.Code, *data, k[0], say)
			if err != nil {
				return err
			}
			kiosks[k[0]] = dk
		}
		say("    a supervisor authorises Dana's badge at north-ward-1 (POST /api/v1/enrollments)")
		if status, resp, err := admin.do(ctx, "POST", hubURL+"/api/v1/enrollments", `{"user":"dana.kim","device":"north-ward-1"}`); err != nil || status != 202 {
			return fmt.Errorf("enrollment: %d %s %v", status, resp, err)
		}
		time.Sleep(100 * time.Millisecond)
		kiosks["north-ward-1"].tap("dana")
		if _, err := kiosks["north-ward-1"].wait("credential.registered", 10*time.Second); err != nil {
			return err
		}
		for _, name := range []string{"north-ward-1", "north-ward-2"} {
			kiosks[name].tap("dana")
			if _, err := kiosks[name].wait("session.started", 10*time.Second); err != nil {
				return err
			}
		}
		return nil
	}
	// teardown waits for the named kiosks to end their sessions and says
	// how long it took from the SCIM request.
	teardown := func(start time.Time, reason string, names ...string) error {
		if kiosks == nil {
			return nil
		}
		for _, name := range names {
			ev, err := kiosks[name].wait("session.ended", 5*time.Second)
			if err != nil {
				return err
			}
			if ev["reason"] != reason {
				return fmt.Errorf("kiosk %s ended its session with reason %v, want %s", name, ev["reason"], reason)
			}
		}
		say("    => %d kiosk session(s) torn down and acknowledged %v after the SCIM request", len(names), time.Since(start).Round(100*time.Microsecond))
		return nil
	}
	defer func() {
		for _, k := range kiosks {
			k.stop()
		}
	}()

	steps := []struct {
		title, method, path, body string
		want                      int
		before                    func() error
		after                     func(start time.Time) error
	}{
		{title: "Joiner: HR hires Dana Kim, a nurse at north-ward", method: "POST", path: "/Users", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + extURN + `"],"userName":"dana.kim","name":{"givenName":"Dana","familyName":"Kim"},"emails":[{"value":"dana.kim@example.org","type":"work","primary":true}],"active":true,"` + extURN + `":{"sites":["north-ward"],"employmentType":"employee"}}`, want: 201},
		{title: "Joiner: the IdP adds her to the Nurse group (role)", method: "PATCH", path: "/Groups/" + nurse, body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"value":"{{id}}"}]}]}`, want: 204},
		{title: "Lookup: the IdP checks who dana.kim is (as Entra and Okta do)", method: "GET", path: `/Users?filter=userName%20eq%20%22dana.kim%22`, want: 200,
			after: func(time.Time) error {
				say("")
				say("==> Kiosks: three kiosks enroll; Dana registers her badge and signs in at both north-ward kiosks")
				return setupKiosks()
			}},
		{title: "Mover: she transfers to south-ward (her north-ward sessions end at once)", method: "PATCH", path: "/Users/{{id}}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"` + extURN + `:sites","value":["south-ward"]}]}`, want: 200,
			after: func(start time.Time) error {
				if err := teardown(start, "entitlement_removed", "north-ward-1", "north-ward-2"); err != nil || kiosks == nil {
					return err
				}
				kiosks["south-ward-1"].tap("dana")
				_, err := kiosks["south-ward-1"].wait("session.started", 10*time.Second)
				return err
			}},
		{title: "Leaver: HR marks her as gone (Entra sends \"False\" as a string)", method: "PATCH", path: "/Users/{{id}}", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, want: 200,
			after: func(start time.Time) error { return teardown(start, "deprovisioned", "south-ward-1") }},
	}
	var userID string
	for i, st := range steps {
		path := strings.ReplaceAll(st.path, "{{id}}", userID)
		body := strings.ReplaceAll(st.body, "{{id}}", userID)
		say("")
		say("==> %d. %s", i+1, st.title)
		cmd := fmt.Sprintf("    %s -X %s '%s%s'", curl, st.method, base, path)
		if body != "" {
			cmd += " -d '" + body + "'"
		}
		say("%s", cmd)
		start := time.Now()
		status, resp, err := c.do(ctx, st.method, base+path, body)
		if err != nil {
			return err
		}
		say("    -> %d %s", status, brief(resp))
		if status != st.want {
			return fmt.Errorf("demo step %d: got HTTP %d, want %d: %s", i+1, status, st.want, resp)
		}
		if i == 0 {
			var u struct{ ID string }
			if err := json.Unmarshal(resp, &u); err != nil || u.ID == "" {
				return fmt.Errorf("demo: no id in create response: %s", resp)
			}
			userID = u.ID
		}
		if st.after != nil {
			if err := st.after(start); err != nil {
				return fmt.Errorf("demo step %d: %w", i+1, err)
			}
		}
	}
	// The kiosks have acked (they said so above); the hub records acks in
	// batches a few milliseconds later, so give it a moment.
	var revs []store.Revocation
	for deadline := time.Now().Add(3 * time.Second); ; {
		if revs, err = s.Store().ListRevocations(ctx, store.RevocationQuery{UserID: userID}); err != nil {
			return err
		}
		pending := slices.ContainsFunc(revs, func(r store.Revocation) bool { return r.SessionID != "" && r.Acked.IsZero() })
		if !pending || kiosks == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	say("")
	say("==> Revocations recorded for dana.kim, with the kiosks' acknowledgements:")
	for _, r := range revs {
		ack := "no live session: nothing to tear down"
		switch {
		case r.SessionID != "" && r.Acked.IsZero():
			ack = "not yet acknowledged: the kiosk gets it when it reconnects"
		case r.SessionID != "":
			ack = fmt.Sprintf("session …%s acknowledged %v after the revocation", r.SessionID[len(r.SessionID)-8:], r.Acked.Sub(r.Created).Round(100*time.Microsecond))
		}
		say("    #%d %-20s %-18s %s", r.ID, r.Reason, r.Detail, ack)
	}
	say("")
	say("==> Audit trail (hash-chained; `shiftgate-hub audit export --data %s` gives JSON lines):", *data)
	recs, err := s.Store().ListAudit(ctx, store.AuditQuery{})
	if err != nil {
		return err
	}
	for _, r := range recs {
		say("    %4d %s %-26s %-45s %s", r.Seq, r.Time.Local().Format("15:04:05.000"), r.Action, r.Subject, r.Actor)
	}
	key, err := audit.LoadKey(*data)
	if err != nil {
		return err
	}
	rep, err := audit.Verify(ctx, key, s.Store())
	if err != nil {
		return err
	}
	say("    chain verified: %d records intact (same check: shiftgate-hub audit verify --data %s)", rep.Records, *data)
	say("")
	if err := demoNumbers(ctx, s, say, *data); err != nil {
		return err
	}
	say("")
	if *exit {
		stopSrv()
		return <-errc
	}
	say("==> The hub keeps running. In another terminal, try:")
	say("    export TOKEN=%s", tok)
	say("    %s '%s/Users?filter=userName%%20sw%%20%%22a%%22&attributes=userName,active'", curl, base)
	say("    %s -X POST '%s/Users' -d '{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"erin.walsh\",\"active\":true}'", curl, base)
	say("    %s '%s/ServiceProviderConfig'", curl, base)
	say("    bin/shiftgate-hub audit verify --data %s", *data)
	say("Press Ctrl-C to stop.")
	select {
	case <-ctx.Done():
		stopSrv()
		return <-errc
	case err := <-errc:
		return err
	}
}

// demoNumbers prints the four numbers auditors ask for, as the demo's
// history made them.
func demoNumbers(ctx context.Context, s *hub.Server, say func(string, ...any), dir string) error {
	r, err := s.Governance().Numbers(ctx)
	if err != nil {
		return err
	}
	say("==> The four numbers (shiftgate-hub report --data %s; also on /metrics and the console dashboard):", dir)
	durations := func(name string, d governance.Durations) {
		if d.Count == 0 || d.P50 == nil || d.Max == nil {
			say("    %-28s not yet measured (%d pending)", name, d.Pending)
			return
		}
		say("    %-28s p50 %.3fs  max %.3fs  over %d (%d pending)", name, *d.P50, *d.Max, d.Count, d.Pending)
	}
	rate := func(name string, v *float64) {
		if v == nil {
			say("    %-28s not yet measured", name)
			return
		}
		say("    %-28s %.1f%%", name, *v*100)
	}
	durations("time to provision", r.TimeToProvision)
	durations("time to deprovision", r.TimeToDeprovision)
	rate("orphaned-account rate", r.OrphanedAccountRate)
	rate("access-review completion", r.AccessReviewCompletionRate)
	return nil
}

// demoConsoleLink makes the first console admin of the demo hub and
// returns its one-time passkey registration link.
func demoConsoleLink(ctx context.Context, s *hub.Server, dir, publicURL string) (string, error) {
	key, err := audit.LoadOrCreateKey(ctx, dir, s.Store())
	if err != nil {
		return "", err
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		return "", err
	}
	tok, err := console.Bootstrap(ctx, s.Store(), log, "demo-admin", false, time.Now())
	if err != nil {
		return "", err
	}
	return console.InviteLink(publicURL, tok), nil
}

// seed creates the demo organisation (DemoSites, DemoUsers) through the
// lifecycle engine, so it is audited like any other change.
func seed(ctx context.Context, eng *lifecycle.Engine, st store.Store) error {
	now := time.Now().UTC()
	for _, name := range DemoSites() {
		if _, err := st.CreateSite(ctx, store.Site{ID: uuid.NewString(), Name: name, TimeZone: "UTC", Created: now}); err != nil {
			return err
		}
	}
	a := lifecycle.Actor{Name: "demo seed", System: "cli"}
	members := map[string][]string{}
	for _, p := range DemoUsers() {
		doc, _ := json.Marshal(map[string]any{
			"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", extURN},
			"userName": p.UserName,
			"name":     map[string]string{"givenName": p.GivenName, "familyName": p.FamilyName},
			extURN:     map[string]any{"sites": []string{p.Site}, "employmentType": "employee"},
		})
		u, err := eng.CreateUser(ctx, a, store.User{
			ID: uuid.NewString(), UserName: p.UserName, DisplayName: p.DisplayName(), Active: true,
			Sites: []string{p.Site}, EmploymentType: "employee", Document: doc,
		})
		if err != nil {
			return err
		}
		members[p.Role] = append(members[p.Role], u.ID)
	}
	for _, role := range []string{"Nurse", "Picker", "Supervisor"} {
		if _, err := eng.CreateGroup(ctx, a, store.Group{ID: uuid.NewString(), DisplayName: role, Members: members[role]}); err != nil {
			return err
		}
	}
	return nil
}

func groupID(ctx context.Context, st store.Store, name string) (string, error) {
	gs, _, err := st.ListGroups(ctx, store.GroupQuery{DisplayName: name})
	if err != nil {
		return "", err
	}
	if len(gs) != 1 {
		return "", fmt.Errorf("demo: group %s not found", name)
	}
	return gs[0].ID, nil
}

// demoClient talks SCIM to the demo hub, trusting only its CA.
type demoClient struct {
	http  *http.Client
	token string
}

func newDemoClient(caFile, token string) (*demoClient, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("demo: no certificate in " + caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &demoClient{http: &http.Client{Transport: tr, Timeout: 10 * time.Second}, token: token}, nil
}

func (c *demoClient) do(ctx context.Context, method, url, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewBufferString(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// brief summarises a SCIM response body on one line.
func brief(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	if n, ok := m["totalResults"]; ok {
		return fmt.Sprintf("totalResults=%v", n)
	}
	parts := []string{}
	for _, k := range []string{"event", "user", "role", "reason", "userName", "active", "displayName", "detail"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if ext, ok := m[extURN].(map[string]any); ok {
		parts = append(parts, fmt.Sprintf("sites=%v", ext["sites"]))
	}
	return strings.Join(parts, " ")
}
