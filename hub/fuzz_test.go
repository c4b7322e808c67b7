package hub_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/shiftgate/shiftgate/hub/hubtest"
)

// FuzzSCIM sends arbitrary filters, PATCH bodies and resource bodies to the
// real SCIM handler on a real store: whatever comes in, the answer is never
// a 5xx and the handler never panics.
func FuzzSCIM(f *testing.F) {
	seeds := []struct {
		op   uint8
		text string
	}{
		{0, `userName eq "bjensen"`},
		{0, `emails[type eq "work" and value co "@example.com"] or not (title pr)`},
		{0, `urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User:sites eq "north"`},
		{0, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{0, `name.familyName sw "J" and (active eq true or userType ne "x")`},
		{1, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`},
		{1, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"a@b"}]}`},
		{1, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"name.givenName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager":{"value":"1"}}}]}`},
		{1, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"x\"]"}]}`},
		{2, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"fuzz","emails":[{"value":"x","primary":true}],"urn:ietf:params:scim:schemas:extension:shiftgate:2.0:User":{"sites":["a"],"shifts":[{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T08:00:00Z"}]}}`},
		{3, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"G","members":[{"value":"x"}]}`},
	}
	for _, s := range seeds {
		f.Add(s.op, s.text)
	}
	h := hubtest.Start(f, hubtest.Options{})
	handler := h.Handler()
	create := h.Do(f, "POST", "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"target"}`)
	uid, _ := create.JSON()["id"].(string)
	group := h.Do(f, "POST", "/scim/v2/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Target","members":[{"value":"`+uid+`"}]}`)
	gid, _ := group.JSON()["id"].(string)
	if uid == "" || gid == "" {
		f.Fatalf("setup failed: %s %s", create.Body, group.Body)
	}
	f.Fuzz(func(t *testing.T, op uint8, text string) {
		var method, target, body string
		switch op % 7 {
		case 0:
			method, target = "GET", "/scim/v2/Users?filter="+url.QueryEscape(text)
		case 1:
			method, target, body = "PATCH", "/scim/v2/Users/"+uid, text
		case 2:
			method, target, body = "POST", "/scim/v2/Users", text
		case 3:
			method, target, body = "POST", "/scim/v2/Groups", text
		case 4:
			method, target, body = "PATCH", "/scim/v2/Groups/"+gid, text
		case 5:
			method, target = "GET", "/scim/v2/Groups?filter="+url.QueryEscape(text)+"&attributes="+url.QueryEscape(text)
		case 6:
			method, target, body = "PUT", "/scim/v2/Users/"+uid, text
		}
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+h.SCIMToken)
		req.Header.Set("Content-Type", "application/scim+json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", method, target, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), "urn:ietf:params:scim:api:messages:2.0:Error") {
			t.Fatalf("%s %s: %d without a SCIM error body: %s", method, target, rec.Code, rec.Body)
		}
	})
}
