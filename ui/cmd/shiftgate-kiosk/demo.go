package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/authenticator"
	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/cli"
	"github.com/shiftgate/shiftgate/hub/store"
	"github.com/shiftgate/shiftgate/hub/token"
)

// The demo kiosk: its name, site and hardware profile.
const (
	demoKiosk   = "north-ward-1"
	demoSite    = "north-ward"
	demoProfile = "generic-x86"
	// demoStepTimeout bounds each step of the setup (a badge registration,
	// the first connection).
	demoStepTimeout = 15 * time.Second
)

// demoBadge is a virtual badge on the demo's screen and the demo user
// registered on it ("" for a badge nobody enrolled).
type demoBadge struct{ name, user string }

// demoBadges: two workers who sign in here, one from another site (refused
// here), and a badge the hub has never seen.
func demoBadges() []demoBadge {
	return []demoBadge{{"amira", "amira.haddad"}, {"chen", "chen.li"}, {"ben", "ben.okafor"}, {"visitor", ""}}
}

// demo is a hub with the demo organisation (hub/cli.SeedDemo) running in
// this process on 127.0.0.1, with a kiosk enrolled in State and soft
// badges in BadgeDir registered through the hub's enrollment API, all in
// a temporary directory that Close removes.
type demo struct {
	State, BadgeDir string
	Badges          []string

	dir    string
	srv    *hub.Server
	cancel context.CancelFunc
	served chan error
}

// startDemo starts the demo hub, enrolls the kiosk and registers the demo
// badges, and tells out how to reach the hub.
func startDemo(ctx context.Context, out io.Writer) (_ *demo, err error) {
	dir, err := os.MkdirTemp("", "shiftgate-kiosk-demo-")
	if err != nil {
		return nil, err
	}
	d := &demo{dir: dir, State: filepath.Join(dir, "kiosk"), BadgeDir: filepath.Join(dir, "badges")}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	hubLog := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn})).With("part", "demo hub")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return d, err
	}
	hctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.srv, err = hub.New(hctx, hub.Config{DataDir: filepath.Join(dir, "hub"), Listen: ln.Addr().String(), Logger: hubLog})
	if err != nil {
		ln.Close()
		return d, err
	}
	if err := cli.SeedDemo(ctx, d.srv); err != nil {
		ln.Close()
		return d, fmt.Errorf("seed: %w", err)
	}
	d.served = make(chan error, 1)
	go func() { d.served <- d.srv.ServeListener(hctx, ln, nil) }()
	hubURL := "https://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	caFile := filepath.Join(dir, "hub", "ca.pem")

	plain, tok, err := token.New("kiosk-demo", store.ScopeAdmin, time.Now())
	if err != nil {
		return d, err
	}
	if _, err := d.srv.Store().CreateToken(ctx, tok); err != nil {
		return d, err
	}
	api, err := newDemoAPI(hubURL, caFile, plain)
	if err != nil {
		return d, err
	}
	var code struct{ Code string }
	if err := api.post(ctx, "/api/v1/devices/codes", map[string]string{"name": demoKiosk, "site": demoSite}, http.StatusCreated, &code); err != nil {
		return d, err
	}
	if _, err := agent.Enroll(ctx, agent.EnrollConfig{HubURL: hubURL, CAFile: caFile, Code: code.Code, StateDir: d.State, Profile: demoProfile}); err != nil {
		return d, err
	}
	if err := d.register(ctx, api); err != nil {
		return d, err
	}
	for _, b := range demoBadges() {
		d.Badges = append(d.Badges, b.name)
	}

	curl := fmt.Sprintf("curl -sS --cacert %s -H 'Authorization: Bearer %s'", caFile, plain)
	fmt.Fprintf(out, `shiftgate-kiosk demo: hub %s, kiosk %s at site %s (profile %s)
  badges: amira (Amira Haddad, Nurse) and chen (Chen Li, Supervisor) sign in here;
          ben (Ben Okafor) works at south-ward and is refused; visitor is not enrolled.
  sign amira out from the hub:
    %s -X POST %s/api/v1/users/amira.haddad/signout
  let a supervisor enroll a badge for ben (then tap visitor on the kiosk):
    %s -X POST %s/api/v1/enrollments -d '{"user":"ben.okafor","device":"%s"}'
`, hubURL, demoKiosk, demoSite, demoProfile, curl, hubURL, curl, hubURL, demoKiosk)
	return d, nil
}

// register registers the demo badges the way a supervisor would: an
// enrollment through the admin API, then a tap at the kiosk, with an agent
// core of its own that stops when it is done.
func (d *demo) register(ctx context.Context, api *demoAPI) error {
	src, err := agent.ParseAuthenticator("soft:"+d.BadgeDir, authenticator.SoftOptions{UserVerification: true})
	if err != nil {
		return err
	}
	events := make(chan agent.Event, 64)
	core, err := agent.New(agent.Config{StateDir: d.State, Authenticators: src, Events: agent.EventFunc(func(e agent.Event) { events <- e })})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	await := func(name string) error {
		deadline := time.After(demoStepTimeout)
		for {
			select {
			case e := <-events:
				switch {
				case e.Event == name:
					return nil
				case e.Event == agent.EventCredentialRefused, e.Event == agent.EventLoginRefused:
					return fmt.Errorf("%s (%s) while waiting for %s", e.Event, e.Reason, name)
				}
			case <-deadline:
				return fmt.Errorf("no %s within %s", name, demoStepTimeout)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	if err := await(agent.EventConnected); err != nil {
		return err
	}
	for _, b := range demoBadges() {
		if b.user == "" {
			continue
		}
		if err := api.post(ctx, "/api/v1/enrollments", map[string]string{"user": b.user, "device": demoKiosk}, http.StatusAccepted, nil); err != nil {
			return err
		}
		if err := await(agent.EventEnrollmentArmed); err != nil {
			return fmt.Errorf("badge %s: %w", b.name, err)
		}
		core.Tap(b.name)
		if err := await(agent.EventEnrollmentEnded); err != nil {
			return fmt.Errorf("badge %s: %w", b.name, err)
		}
	}
	return nil
}

// Close stops the demo hub and removes the demo's files.
func (d *demo) Close() error {
	var err error
	if d.cancel != nil {
		d.cancel()
		if d.served != nil {
			err = <-d.served
		}
	}
	if d.srv != nil {
		err = errors.Join(err, d.srv.Close())
	}
	return errors.Join(err, os.RemoveAll(d.dir))
}

// demoAPI calls the demo hub's admin API, trusting only its CA.
type demoAPI struct {
	url, token string
	client     *http.Client
}

func newDemoAPI(url, caFile, token string) (*demoAPI, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &demoAPI{url: url, token: token, client: &http.Client{Transport: tr, Timeout: demoStepTimeout}}, nil
}

// post sends body as JSON to path and decodes the answer into out, which
// must come with status want.
func (c *demoAPI) post(ctx context.Context, path string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: HTTP %d: %s", path, resp.StatusCode, strings.TrimSpace(string(rb)))
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			return fmt.Errorf("POST %s: %w", path, err)
		}
	}
	return nil
}
