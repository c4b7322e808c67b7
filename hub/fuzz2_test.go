package hub_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/shiftgate/shiftgate/agent/wire"
	"github.com/shiftgate/shiftgate/certs"
	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// checkAPIAnswer fails t unless rec is an answer the admin and agent APIs
// promise for any input: never a 5xx, always a JSON body, and a 4xx with a
// non-empty "error" saying what to fix.
func checkAPIAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code >= 500 {
		t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: %d with Content-Type %q: %s", what, rec.Code, ct, rec.Body)
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s: %d with a body that is not JSON: %q", what, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &e) != nil || strings.TrimSpace(e.Error) == "" {
			t.Fatalf("%s: %d without an error message: %s", what, rec.Code, rec.Body)
		}
	}
}

// adminRoutes are the admin API's calls as FuzzAdminAPI sends them: SEG
// is replaced by the fuzzed path segment (escaped), CAMPAIGN by a
// campaign's ID; body says whether the fuzzed body goes with it.
var adminRoutes = []struct {
	method, path string
	body         bool
}{
	{"POST", "/api/v1/enrollments", true},
	{"POST", "/api/v1/devices/codes", true},
	{"POST", "/api/v1/users/SEG/signout", false},
	{"POST", "/api/v1/devices/SEG/disable", false},
	{"POST", "/api/v1/credentials/SEG/revoke", false},
	{"POST", "/api/v1/grants", true},
	{"GET", "/api/v1/users/SEG/grants", false},
	{"POST", "/api/v1/grants/SEG/revoke", false},
	{"GET", "/api/v1/users/SEG/shifts", false},
	{"PUT", "/api/v1/users/ana/shifts", true},
	{"POST", "/api/v1/users/ana/extend", true},
	{"PUT", "/api/v1/sites/SEG", true},
	{"PUT", "/api/v1/policy", true}, // SEG goes in If-Match
	{"POST", "/api/v1/reviews", true},
	{"GET", "/api/v1/reviews/SEG", false},
	{"POST", "/api/v1/reviews/CAMPAIGN/items/SEG", true},
	{"GET", "/api/v1/findings?dormant_days=SEG", false},
	{"POST", "/api/v1/findings/SEG/remediate?dormant_days=SEG", false},
	{"PUT", "/api/v1/users/SEG/shifts", true},
	{"POST", "/api/v1/users/SEG/extend", true},
}

// FuzzAdminAPI sends arbitrary bodies, path segments, query values and
// If-Match headers to every admin API call that reads them, on a real hub
// with a user, a kiosk and a campaign: whatever comes in, the answer is
// never a 5xx (nor a panic, which logRequests would turn into one), and a
// refusal is JSON with a message.
func FuzzAdminAPI(f *testing.F) {
	seeds := []struct {
		op   uint8
		seg  string
		body string
	}{
		{0, "", `{"user":"ana","device":"north-1"}`},
		{1, "", `{"name":"north-2","site":"north","profile":"generic-x86"}`},
		{1, "", `{"name":"a\u0000b","site":"north"}`},
		{2, "ana", ``},
		{3, "north-1", ``},
		{4, "00ff", ``},
		{4, "zz", ``},
		{5, "", `{"user":"ana","role":"Nurse","site":"north","end":"2030-01-01T00:00:00Z","reason":"cover"}`},
		{5, "", `{"user":"ana","role":"Nurse","ROLE":"Admin","end":"2030-01-01T00:00:00Z"}`},
		{6, "ana", ``},
		{7, "nope", ``},
		{8, "ana", ``},
		{9, "", `[{"start":"2026-12-01T06:00:00Z","end":"2026-12-01T14:00:00Z"}]`},
		{9, "", `[{"start":"2026-12-01T06:00:00","end":"0000-01-01T00:00:00Z"}]`},
		{9, "", `[]`},
		{10, "", `{"site":"north","until":"2099-12-31T23:59:59Z","reason":"x"}`},
		{11, "south", `{"timeZone":"Europe/Berlin"}`},
		{11, "south", `{"timeZone":"../../etc/passwd"}`},
		{12, `"1"`, `{"version":1,"roles":{}}`},
		{12, `W/"x"`, `{"max_session":"1h"}`},
		{13, "", `{"name":"q","due":"2099-12-01","scope":{"sites":["north"]}}`},
		{14, "CAMPAIGN", ``},
		{15, "x", `{"decision":"keep","comment":"ok"}`},
		{16, "30", ``},
		{16, "99999999999999999999", ``},
		{17, "dormant:ana", ``},
		{18, "nobody", `[]`},
		{19, "ana", `{"until":"2099-12-31T23:59:59Z"}`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.seg, []byte(s.body))
	}
	h := hubtest.Start(f, hubtest.Options{})
	campaign := fuzzSetup(f, h)
	handler := h.Handler()
	admin := h.AdminToken(f)
	f.Fuzz(func(t *testing.T, op uint8, seg string, body []byte) {
		rt := adminRoutes[int(op)%len(adminRoutes)]
		target := strings.ReplaceAll(rt.path, "CAMPAIGN", campaign)
		if strings.Contains(target, "?") {
			target = strings.ReplaceAll(target, "dormant_days=SEG", "dormant_days="+url.QueryEscape(seg))
		}
		target = strings.ReplaceAll(target, "SEG", url.PathEscape(seg))
		var rd *bytes.Reader
		if rt.body {
			rd = bytes.NewReader(body)
		} else {
			rd = bytes.NewReader(nil)
		}
		req := httptest.NewRequest(rt.method, target, rd)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		if rt.path == "/api/v1/policy" && seg != "" && !strings.ContainsAny(seg, "\r\n\x00") {
			req.Header.Set("If-Match", seg)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		what := fmt.Sprintf("%s %s %q", rt.method, target, body)
		if strings.Contains(rt.path, "SEG") && (seg == "" || seg == "." || seg == "..") {
			// No route matches (or the mux redirects to the cleaned
			// path): net/http's own plain-text answer, no handler ran.
			if rec.Code >= 500 {
				t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
			}
			return
		}
		checkAPIAnswer(t, what, rec)
	})
}

// fuzzSetup gives a fuzzed hub something to act on: user ana (site north,
// a shift now, role Nurse), kiosk north-1, and a review campaign, whose ID
// it returns.
func fuzzSetup(f *testing.F, h *hubtest.Hub) (campaign string) {
	f.Helper()
	now := time.Now().UTC()
	body := fmt.Sprintf(`{"schemas":[%q,%q],"userName":"ana","active":true,%q:{"sites":["north"],"shifts":[{"start":%q,"end":%q}]}}`,
		coreUser, frontline, frontline, now.Add(-time.Hour).Format(time.RFC3339), now.Add(8*time.Hour).Format(time.RFC3339))
	r := h.Do(f, "POST", "/scim/v2/Users", body)
	uid, _ := r.JSON()["id"].(string)
	if r.Status != http.StatusCreated || uid == "" {
		f.Fatalf("create user: %d %s", r.Status, r.Body)
	}
	if r := h.Do(f, "POST", "/scim/v2/Groups", `{"schemas":["`+coreGroup+`"],"displayName":"Nurse","members":[{"value":"`+uid+`"}]}`); r.Status != http.StatusCreated {
		f.Fatalf("create group: %d %s", r.Status, r.Body)
	}
	h.EnrollKiosk(f, "north-1", "north")
	r = h.API(f, "POST", "/api/v1/reviews", `{"name":"fuzz","due":"`+now.AddDate(0, 1, 0).Format(time.DateOnly)+`"}`)
	campaign, _ = r.JSON()["id"].(string)
	if r.Status != http.StatusCreated || campaign == "" {
		f.Fatalf("start review: %d %s", r.Status, r.Body)
	}
	return campaign
}

// enrollRequest sends a kiosk enrollment straight to the handler from a
// source address of its own: the wrong-code guard (enrollguard.go) would
// otherwise answer every later request 429.
func enrollRequest(h *hubtest.Hub, n uint64, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", wire.EnrollPath, bytes.NewReader(body))
	req.RemoteAddr = fmt.Sprintf("127.%d.%d.%d:40000", byte(n>>16), byte(n>>8), byte(n))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.Handler().ServeHTTP(rec, req)
	return rec
}

// FuzzEnrollBody sends arbitrary bodies to the kiosk enrollment endpoint,
// which answers anyone (the one-time code is the credential): never a
// 5xx, always a JSON error saying what is wrong, and no kiosk enrolled
// without a code.
func FuzzEnrollBody(f *testing.F) {
	for _, s := range []string{
		`{"code":"ABCD-EFGH","csr":"MAA=","profile":"generic-x86"}`,
		`{"code":"","csr":null,"profile":""}`,
		`{"code":"x","csr":"!!","profile":"generic-x86"}`,
		`{"code":1}`, `[]`, `null`, ``, `{"code":"a"} {"code":"b"}`,
	} {
		f.Add([]byte(s))
	}
	h := hubtest.Start(f, hubtest.Options{})
	var n atomic.Uint64
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := enrollRequest(h, n.Add(1), body)
		checkAPIAnswer(t, fmt.Sprintf("POST %s %q", wire.EnrollPath, body), rec)
		if rec.Code < 300 {
			t.Fatalf("enrolled without a code: %q: %d %s", body, rec.Code, rec.Body)
		}
	})
}

// FuzzEnrollCSR redeems a fresh, valid code with an arbitrary CSR and
// profile. An accepted one gets a certificate for the device it names and
// nothing more; a refused one is a 4xx with a message and leaves the code
// usable (enroll.Redeem's promise: the installer runs it again).
func FuzzEnrollCSR(f *testing.F) {
	key, err := certs.NewDeviceKey()
	if err != nil {
		f.Fatal(err)
	}
	good, err := certs.NewCSR(key, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, "generic-x86")
	f.Add(good[:len(good)/2], "generic-x86")
	f.Add(good, "rpi5-touch")
	f.Add(good, " GENERIC-X86 ")
	f.Add([]byte{0x30, 0x00}, "generic-x86")
	f.Add([]byte{}, "")
	h := hubtest.Start(f, hubtest.Options{})
	var n atomic.Uint64
	f.Fuzz(func(t *testing.T, csr []byte, profile string) {
		i := n.Add(1)
		name := "fuzz-" + strconv.FormatUint(i, 10)
		r := h.API(t, "POST", "/api/v1/devices/codes", map[string]string{"name": name, "site": "north", "profile": "generic-x86"})
		code, _ := r.JSON()["code"].(string)
		if r.Status != http.StatusCreated || code == "" {
			t.Fatalf("device code: %d %s", r.Status, r.Body)
		}
		body, _ := json.Marshal(wire.EnrollRequest{Code: code, CSR: csr, Profile: profile})
		rec := enrollRequest(h, i<<1, body)
		checkAPIAnswer(t, fmt.Sprintf("enroll with csr %x profile %q", csr, profile), rec)
		if rec.Code == http.StatusOK {
			var resp wire.EnrollResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			c, err := x509.ParseCertificate(resp.Cert)
			if err != nil {
				t.Fatalf("issued certificate does not parse: %v", err)
			}
			if id, err := certs.DeviceID(c); err != nil || id != resp.DeviceID || resp.DeviceName != name {
				t.Fatalf("certificate for %q (%v), response %+v", id, err, resp)
			}
			return
		}
		// Refused: the code must still enroll the kiosk.
		body, _ = json.Marshal(wire.EnrollRequest{Code: code, CSR: good, Profile: "generic-x86"})
		if rec2 := enrollRequest(h, i<<1|1, body); rec2.Code != http.StatusOK {
			t.Fatalf("after a refusal (%d %s) the code no longer enrolls: %d %s", rec.Code, rec.Body, rec2.Code, rec2.Body)
		}
	})
}

// FuzzChannel sends arbitrary messages over a real device channel (mTLS
// WebSocket) of an enrolled kiosk: every answer is a valid envelope, an
// error answer carries a code the kiosk can act on and never
// wire.ErrInternal (which means a hub fault: the hub must refuse a bad
// message as bad_message, unknown_type or a refusal code), and the
// channel stays up.
func FuzzChannel(f *testing.F) {
	for _, s := range []struct{ typ, data string }{
		{wire.TypeChallengeRequest, `{}`},
		{wire.TypeLogin, `{"credential":{"id":"AAAA","rawId":"AAAA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"AAAA","signature":"AAAA"}}}`},
		{wire.TypeLogin, `{"credential":null}`},
		{wire.TypeLogin, `"x"`},
		{wire.TypeRegister, `{"credential":{"id":"AAAA","response":{"attestationObject":"oA","clientDataJSON":"e30"}}}`},
		{wire.TypeSessionEnd, `{"session_id":"nope","reason":"signout"}`},
		{wire.TypeSessionEnd, `{"session_id":"","reason":"expired"}`},
		{wire.TypeSessionEnd, `{"session_id":"x","reason":"made up"}`},
		{wire.TypeCertRenew, `{"csr":"MAA="}`},
		{wire.TypeCertRenew, `{"csr":null}`},
		{wire.TypeError, `{"code":"teardown_failed","message":"x"}`},
		{wire.TypeHello, `{}`},
		{wire.TypeAck, ``},
		{"no.such.type", `[1,2]`},
		{"", `null`},
	} {
		f.Add(s.typ, []byte(s.data))
	}
	h := hubtest.Start(f, hubtest.Options{})
	fuzzSetup(f, h)
	k := h.EnrollKiosk(f, "north-2", "north")
	k.Dial("")
	var n atomic.Uint64
	f.Fuzz(func(t *testing.T, typ string, data []byte) {
		i := strconv.FormatUint(n.Add(1), 10)
		env := map[string]any{"v": wire.Version, "type": typ, "id": "f" + i}
		if json.Valid(data) {
			env["data"] = json.RawMessage(data)
		}
		frame, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		sync := []byte(`{"v":1,"type":"` + wire.TypeChallengeRequest + `","id":"s` + i + `"}`)
		if err := k.Conn.WriteMessage(websocket.TextMessage, frame); err != nil {
			t.Fatalf("send %s: %v", frame, err)
		}
		if err := k.Conn.WriteMessage(websocket.TextMessage, sync); err != nil {
			t.Fatalf("after %s the channel is down: %v", frame, err)
		}
		// Requests of one connection are answered in order: everything
		// the fuzzed frame brought comes before the sync's challenge.
		for {
			k.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, msg, err := k.Conn.ReadMessage()
			if err != nil {
				t.Fatalf("after %s the channel is down: %v", frame, err)
			}
			got, err := wire.Decode(msg)
			if err != nil {
				t.Fatalf("after %s the hub sent an invalid frame %q: %v", frame, msg, err)
			}
			if got.Re == "s"+i {
				if got.Type != wire.TypeChallenge {
					t.Fatalf("after %s the challenge request got %s %s", frame, got.Type, got.Data)
				}
				return
			}
			if got.ID != "" && got.Re == "" { // a push (enroll.start sent again): acknowledge it
				ack, _ := json.Marshal(map[string]any{"v": wire.Version, "type": wire.TypeAck, "re": got.ID})
				k.Conn.WriteMessage(websocket.TextMessage, ack)
				continue
			}
			if got.Type == wire.TypeError {
				var e wire.Error
				if err := got.Unmarshal(&e); err != nil || e.Code == "" || e.Code == wire.ErrInternal {
					t.Fatalf("%s answered with error %s", frame, got.Data)
				}
			}
		}
	})
}

// FuzzSCIMListing pages and projects SCIM lists with arbitrary startIndex,
// count and attributes, in the query and in a POST /.search body, which
// FuzzSCIM leaves at their defaults: never a 5xx, a refusal in the SCIM
// error schema, and a page that keeps to what was asked: at most count
// (and 1000) resources, the startIndex asked for (1 for less), and a
// total that counts them.
func FuzzSCIMListing(f *testing.F) {
	for _, s := range []struct {
		op                 uint8
		start, count, attr string
	}{
		{0, "1", "10", "userName"},
		{0, "0", "-5", ""},
		{0, "9223372036854775807", "1000", "emails.value"},
		{0, "2", "9223372036854775807", "meta"},
		{1, "1", "2", "displayName,members"},
		{2, `1`, `3`, `["userName","name.givenName"]`},
		{2, `-9223372036854775808`, `0`, `null`},
		{3, `2147483648`, `1`, `[]`},
		{2, `1.5`, `"x"`, `{}`},
	} {
		f.Add(s.op, s.start, s.count, s.attr)
	}
	h := hubtest.Start(f, hubtest.Options{})
	fuzzSetup(f, h)
	for _, name := range []string{"ben", "cy"} {
		if r := h.Do(f, "POST", "/scim/v2/Users", `{"schemas":["`+coreUser+`"],"userName":"`+name+`"}`); r.Status != http.StatusCreated {
			f.Fatalf("create %s: %d %s", name, r.Status, r.Body)
		}
	}
	handler := h.Handler()
	f.Fuzz(func(t *testing.T, op uint8, start, count, attr string) {
		var method, target, body string
		switch op % 4 {
		case 0, 1:
			method, target = "GET", "/scim/v2/Users"
			if op%4 == 1 {
				target = "/scim/v2/Groups"
			}
			target += "?startIndex=" + url.QueryEscape(start) + "&count=" + url.QueryEscape(count) + "&attributes=" + url.QueryEscape(attr)
		case 2, 3:
			method, target = "POST", "/scim/v2/Users/.search"
			if op%4 == 3 {
				target = "/scim/v2/Groups/.search"
			}
			body = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"startIndex":` + start + `,"count":` + count + `,"attributes":` + attr + `}`
		}
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h.SCIMToken)
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		what := fmt.Sprintf("%s %s %s", method, target, body)
		if rec.Code >= 500 {
			t.Fatalf("%s: %d %s", what, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			if !strings.Contains(rec.Body.String(), "urn:ietf:params:scim:api:messages:2.0:Error") {
				t.Fatalf("%s: %d without a SCIM error body: %s", what, rec.Code, rec.Body)
			}
			return
		}
		var list struct {
			TotalResults int               `json:"totalResults"`
			StartIndex   int               `json:"startIndex"`
			ItemsPerPage int               `json:"itemsPerPage"`
			Resources    []json.RawMessage `json:"Resources"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			t.Fatalf("%s: %d %s: %v", what, rec.Code, rec.Body, err)
		}
		if list.ItemsPerPage != len(list.Resources) || len(list.Resources) > 1000 || list.TotalResults < len(list.Resources) || list.StartIndex < 1 {
			t.Fatalf("%s: page %+v with %d resources", what, list, len(list.Resources))
		}
		var asked struct{ start, count int }
		asked.start, asked.count = 1, -1
		if op%4 < 2 {
			if n, err := strconv.Atoi(start); err == nil {
				asked.start = max(n, 1)
			}
			if n, err := strconv.Atoi(count); err == nil {
				asked.count = n
			}
		} else {
			var n, c *int
			if json.Unmarshal([]byte(start), &n) == nil && n != nil {
				asked.start = max(*n, 1)
			}
			if json.Unmarshal([]byte(count), &c) == nil && c != nil {
				asked.count = *c
			}
		}
		if list.StartIndex != asked.start || asked.count >= 0 && len(list.Resources) > asked.count {
			t.Fatalf("%s: page starts at %d with %d resources; asked for %d from %d", what, list.StartIndex, len(list.Resources), asked.count, asked.start)
		}
	})
}
