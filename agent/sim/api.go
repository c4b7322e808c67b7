package sim

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
	"net/url"
	"time"

	"github.com/shiftgate/shiftgate/agent/wire"
)

// SCIM schema URNs the simulator writes.
const (
	scimUser      = "urn:ietf:params:scim:schemas:core:2.0:User"
	scimGroup     = "urn:ietf:params:scim:schemas:core:2.0:Group"
	scimFrontline = "urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User"
	scimPatchOp   = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// api is the hub's HTTPS side: admin API, SCIM and kiosk enrollment.
type api struct {
	base        string // https://HOST:PORT
	hc          *http.Client
	admin, scim string
}

// HTTPError is a hub answer with an unexpected status.
type HTTPError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Body)
}

// pinnedDialer dials one address whatever the host name says: the host is
// resolved once (trying each address), so "localhost" does not cost a
// refused ::1 connection on every dial when the hub listens on 127.0.0.1,
// while TLS still verifies the name.
type pinnedDialer struct {
	addr string
	d    net.Dialer
}

func newPinnedDialer(ctx context.Context, hostport string) (*pinnedDialer, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("hub address %q: %w", hostport, err)
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolve hub %s: %w", host, err)
	}
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: -1}
	var errs []error
	for _, a := range addrs {
		addr := net.JoinHostPort(a, port)
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.Close()
		return &pinnedDialer{addr: addr, d: net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1}}, nil
	}
	return nil, fmt.Errorf("connect to hub %s: %w", hostport, errors.Join(errs...))
}

func (p *pinnedDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	return p.d.DialContext(ctx, network, p.addr)
}

func newAPI(base string, pool *x509.CertPool, dial *pinnedDialer, admin, scim string, conns int) *api {
	tr := &http.Transport{
		DialContext:         dial.DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	// The requests carry the admin and SCIM tokens and enrollment codes: a
	// redirect is answered as the status it is (an unexpected one, an
	// error), never followed to where it points.
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &api{base: base, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute, CheckRedirect: noRedirect}, admin: admin, scim: scim}
}

func (a *api) close() { a.hc.CloseIdleConnections() }

// do sends a request and decodes a JSON answer into out (when non-nil) if
// the status is one of want.
func (a *api) do(ctx context.Context, token, method, path string, body any, out any, want ...int) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	for _, w := range want {
		if resp.StatusCode == w {
			if out != nil && len(b) > 0 {
				if err := json.Unmarshal(b, out); err != nil {
					return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
				}
			}
			return resp.StatusCode, nil
		}
	}
	if len(b) > 300 {
		b = b[:300]
	}
	return resp.StatusCode, &HTTPError{Method: method, Path: path, Status: resp.StatusCode, Body: string(b)}
}

func (a *api) deviceCode(ctx context.Context, name, site string) (string, error) {
	var out struct {
		Code string `json:"code"`
	}
	if _, err := a.do(ctx, a.admin, "POST", "/api/v1/devices/codes", map[string]string{"name": name, "site": site}, &out, http.StatusCreated, http.StatusOK); err != nil {
		return "", err
	}
	if out.Code == "" {
		return "", errors.New("POST /api/v1/devices/codes: no code in the answer")
	}
	return out.Code, nil
}

func (a *api) enrollKiosk(ctx context.Context, req wire.EnrollRequest) (wire.EnrollResponse, error) {
	var out wire.EnrollResponse
	_, err := a.do(ctx, "", "POST", wire.EnrollPath, req, &out, http.StatusOK, http.StatusCreated)
	return out, err
}

func (a *api) authorizeEnrollment(ctx context.Context, user, device string) error {
	_, err := a.do(ctx, a.admin, "POST", "/api/v1/enrollments", map[string]string{"user": user, "device": device}, nil, http.StatusAccepted, http.StatusOK)
	return err
}

type scimList struct {
	TotalResults int `json:"totalResults"`
	Resources    []struct {
		ID      string `json:"id"`
		Members []struct {
			Value string `json:"value"`
		} `json:"members"`
	} `json:"Resources"`
}

// createUser creates an active user of site, or finds the existing one.
func (a *api) createUser(ctx context.Context, name, site string) (string, error) {
	body := map[string]any{
		"schemas":  []string{scimUser, scimFrontline},
		"userName": name,
		"active":   true,
		scimFrontline: map[string]any{
			"sites": []string{site},
		},
	}
	var out struct {
		ID string `json:"id"`
	}
	status, err := a.do(ctx, a.scim, "POST", "/scim/v2/Users", body, &out, http.StatusCreated)
	if status == http.StatusConflict {
		return a.findUser(ctx, name)
	}
	if err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("create user %s: no id in the answer", name)
	}
	return out.ID, nil
}

func (a *api) findUser(ctx context.Context, name string) (string, error) {
	var out scimList
	q := url.QueryEscape(fmt.Sprintf("userName eq %q", name))
	if _, err := a.do(ctx, a.scim, "GET", "/scim/v2/Users?filter="+q, nil, &out, http.StatusOK); err != nil {
		return "", err
	}
	if len(out.Resources) != 1 || out.Resources[0].ID == "" {
		return "", fmt.Errorf("find user %s: %d matches", name, len(out.Resources))
	}
	return out.Resources[0].ID, nil
}

// deactivateUser sends the leaver's PATCH active=false.
func (a *api) deactivateUser(ctx context.Context, id string) error {
	body := map[string]any{
		"schemas":    []string{scimPatchOp},
		"Operations": []map[string]any{{"op": "replace", "path": "active", "value": false}},
	}
	_, err := a.do(ctx, a.scim, "PATCH", "/scim/v2/Users/"+url.PathEscape(id), body, nil, http.StatusOK, http.StatusNoContent)
	return err
}

// findGroup returns the group named displayName and its member IDs.
func (a *api) findGroup(ctx context.Context, displayName string) (id string, members []string, err error) {
	var out scimList
	q := url.QueryEscape(fmt.Sprintf("displayName eq %q", displayName))
	if _, err := a.do(ctx, a.scim, "GET", "/scim/v2/Groups?filter="+q, nil, &out, http.StatusOK); err != nil {
		return "", nil, err
	}
	if len(out.Resources) == 0 {
		return "", nil, nil
	}
	r := out.Resources[0]
	for _, m := range r.Members {
		members = append(members, m.Value)
	}
	return r.ID, members, nil
}

func (a *api) createGroup(ctx context.Context, displayName string, members []string) (string, error) {
	ms := make([]map[string]string, len(members))
	for i, m := range members {
		ms[i] = map[string]string{"value": m}
	}
	body := map[string]any{"schemas": []string{scimGroup}, "displayName": displayName, "members": ms}
	var out struct {
		ID string `json:"id"`
	}
	if _, err := a.do(ctx, a.scim, "POST", "/scim/v2/Groups", body, &out, http.StatusCreated); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("create group %s: no id in the answer", displayName)
	}
	return out.ID, nil
}

func (a *api) deleteGroup(ctx context.Context, id string) error {
	_, err := a.do(ctx, a.scim, "DELETE", "/scim/v2/Groups/"+url.PathEscape(id), nil, nil, http.StatusNoContent, http.StatusOK)
	return err
}
