package console_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/store"
)

// TestEnrollDisabledUserNamedAlike: of two users whose names differ only
// in non-ASCII case (a database from before names were folded), an
// admin enrolling a badge for the disabled one by its exact spelling is
// refused, on the console and through the API, and no enrollment is
// armed or audited for the other. The console found the disabled user
// by its spelling, but the enrollment looked the name up again among
// active users only, found the other one alone, and armed the badge for
// that worker: whoever tapped next got a badge that signs in as someone
// else.
func TestEnrollDisabledUserNamedAlike(t *testing.T) {
	h := hubtest.Start(t, hubtest.Options{})
	ctx := t.Context()
	k := h.EnrollKiosk(t, "north-1", "north")
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(h.DataDir, hub.DBFile)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const gone, other = "Zoë.Öst", "ZOË.ÖST"
	id := map[string]string{}
	for i, name := range []string{gone, other} {
		// Made under a name of its own, then renamed as the old database
		// holds it: the store refuses such a name now.
		made, err := h.Engine().CreateUser(ctx, lifecycleActor, store.User{ID: fmt.Sprintf("user-zoe-%d", i),
			UserName: fmt.Sprintf("zoe-%d", i), Active: name == other, Sites: []string{"north"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE users SET user_name = ?, user_name_key = ? WHERE id = ?`, name, store.FoldName(name), made.ID); err != nil {
			t.Fatal(err)
		}
		id[name] = made.ID
	}
	if u, err := h.Store().GetUser(ctx, id[gone]); err != nil || u.State != store.UserDisabled {
		t.Fatalf("%s: state %v (%v), want disabled", gone, u.State, err)
	}

	admin := bootstrapAdmin(t, h)
	k.Dial("")
	r := admin.post("/console/site/enrollments", url.Values{"user": {gone}, "device": {k.ID}})
	if r.Status == http.StatusSeeOther {
		t.Errorf("enroll the disabled %s: %d, want a refusal", gone, r.Status)
	}
	// The admin API arms enrollments the same way, by name.
	if r := h.API(t, "POST", "/api/v1/enrollments", map[string]string{"user": gone, "device": k.Name}); r.Status < 400 || r.Status >= 500 {
		t.Errorf("enroll the disabled %s through the API: %d %s, want a 4xx", gone, r.Status, r.Body)
	}
	recs, err := h.Store().SearchAudit(ctx, store.AuditSearch{Action: "credential.enroll_authorized"})
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs {
		t.Errorf("enroll the disabled %s: an enrollment was armed for %s (%s is user:%s)", gone, rec.Subject, other, id[other])
	}
}
