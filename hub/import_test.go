package hub_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/cli"
	"github.com/shiftgate/shiftgate/hub/hubtest"
	"github.com/shiftgate/shiftgate/hub/shift"
	"github.com/shiftgate/shiftgate/hub/store"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = cli.Run(t.Context(), args, &o, &e)
	return code, o.String(), e.String()
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportShiftsCLI: `shiftgate-hub import shifts` works on the data
// directory next to a running hub: a file with any mistake changes nothing
// and lists every problem with its line; a good one replaces the shifts of
// exactly the users it lists, audited as the CLI, and cuts short a live
// session that is now outside every shift (the hub's scheduler ends it).
func TestImportShiftsCLI(t *testing.T) {
	h, clock, now := startClocked(t, hubtest.Options{})
	ana := createUser(t, h, "ana", shiftsExt(now.Add(-2*time.Hour), now.Add(6*time.Hour)))
	ben := createUser(t, h, "ben", `{"sites":["north"]}`)
	cleo := createUser(t, h, "cleo", shiftsExt(now.Add(-time.Hour), now.Add(time.Hour)))
	dan := createUser(t, h, "dan", shiftsExt(now.Add(-time.Hour), now.Add(time.Hour)))
	createGroup(t, h, "Nurse", ana)
	sess := liveSession(t, h, ana, "north", "Nurse")
	before := map[string][]store.Shift{}
	for _, id := range []string{ana, ben, cleo, dan} {
		before[id] = user(t, h, id).Shifts
	}
	unchanged := func(when string) {
		t.Helper()
		for id, want := range before {
			if got := user(t, h, id).Shifts; !shift.Equal(got, want) {
				t.Errorf("%s: shifts of %s changed to %v", when, id, got)
			}
		}
		if n := count(t, h, "shifts.import", ""); n != 0 {
			t.Errorf("%s: %d shifts.import records", when, n)
		}
	}

	rfc := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	bad := writeFile(t, "bad.csv", "userName,start,end\n"+
		"ana,"+rfc(20*time.Hour)+","+rfc(28*time.Hour)+"\n"+
		"ben,tomorrow,"+rfc(8*time.Hour)+"\n"+
		"cleo,"+rfc(8*time.Hour)+","+rfc(time.Hour)+"\n")
	code, _, stderr := runCLI(t, "import", "shifts", "--data", h.DataDir, bad)
	if code != 1 || !strings.Contains(stderr, `line 3: start: "tomorrow" is not a time`) || !strings.Contains(stderr, "line 4: the shift") || !strings.Contains(stderr, "nothing was imported") {
		t.Errorf("bad file: exit %d, stderr:\n%s", code, stderr)
	}
	unchanged("after a bad file")
	unknown := writeFile(t, "unknown.csv", "userName,start,end\nana,"+rfc(20*time.Hour)+","+rfc(28*time.Hour)+"\nghost,"+rfc(20*time.Hour)+","+rfc(28*time.Hour)+"\n")
	code, _, stderr = runCLI(t, "import", "shifts", "--data", h.DataDir, unknown)
	if code != 1 || !strings.Contains(stderr, `line 3: no user "ghost"`) {
		t.Errorf("unknown user: exit %d, stderr:\n%s", code, stderr)
	}
	unchanged("after an unknown user")

	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := now.In(berlin).AddDate(0, 0, 1)
	local := func(h int) string {
		return time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, time.UTC).Format("2006-01-02 15:04")
	}
	inBerlin := func(h int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, berlin).UTC() }
	// Ben's second shift is placed by the calendar, not by now + N hours:
	// relative to now it would overlap his Chicago shift at some times of
	// day (the test failed when run near 23:00 UTC).
	benStart := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, time.UTC)
	benEnd := benStart.Add(8 * time.Hour)
	good := writeFile(t, "wfm-week.csv", "userName,start,end,zone\n"+
		"ana,"+local(6)+","+local(14)+",\n"+
		"BEN,"+benStart.Format(time.RFC3339)+","+benEnd.Format(time.RFC3339)+",\n"+
		"ben,"+local(6)+","+local(9)+",America/Chicago\n"+
		"cleo,,,\n")

	code, stdout, stderr := runCLI(t, "import", "shifts", good, "--data", h.DataDir, "--zone", "Europe/Berlin", "--dry-run")
	if code != 0 || !strings.Contains(stdout, "would replace the shifts of 3 users (3 shifts from 4 lines)") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	unchanged("after a dry run")

	code, stdout, stderr = runCLI(t, "import", "shifts", good, "--data", h.DataDir, "--zone", "Europe/Berlin")
	if code != 0 || !strings.Contains(stdout, "replaced the shifts of 3 users (3 shifts from 4 lines)") {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	chicago, _ := time.LoadLocation("America/Chicago")
	for id, want := range map[string][]store.Shift{
		ana:  {{Start: inBerlin(6), End: inBerlin(14)}},
		ben:  {{Start: time.Date(day.Year(), day.Month(), day.Day(), 6, 0, 0, 0, chicago).UTC(), End: time.Date(day.Year(), day.Month(), day.Day(), 9, 0, 0, 0, chicago).UTC()}, {Start: benStart, End: benEnd}},
		cleo: nil,
		dan:  before[dan],
	} {
		if got := user(t, h, id).Shifts; !shift.Equal(got, want) {
			t.Errorf("shifts of %s = %v, want %v", id, got, want)
		}
	}
	for _, id := range []string{ana, ben, cleo} {
		recs, _ := h.Store().ListAudit(t.Context(), store.AuditQuery{Action: "user.shifts_replace", Subject: "user:" + id})
		if len(recs) != 1 || recs[0].Actor != "cli" || recs[0].System != "cli" || !strings.Contains(string(recs[0].Detail), "wfm-week.csv") {
			t.Errorf("audit of %s: %+v", id, recs)
		}
	}
	if n := count(t, h, "user.shifts_replace", "user:"+dan); n != 0 {
		t.Errorf("dan, not in the file, was audited %d times", n)
	}
	if n := count(t, h, "shifts.import", "import:wfm-week.csv"); n != 1 {
		t.Errorf("%d shifts.import records, want 1", n)
	}

	// Ana's session is outside every shift now: the CLI cannot reach her
	// kiosk, so it set the session to expire now; the hub ends it.
	s, _ := h.Store().GetSession(t.Context(), sess.ID)
	if !s.Ended.IsZero() || s.Expires.After(time.Now()) {
		t.Fatalf("session after the import = %+v, want live and due", s)
	}
	clock.Advance(time.Minute)
	if d, err := h.Engine().RunDue(t.Context()); err != nil || d.Expired != 1 {
		t.Fatalf("RunDue: %+v, %v", d, err)
	}
	if s, _ := h.Store().GetSession(t.Context(), sess.ID); s.Ended.IsZero() {
		t.Errorf("session not ended: %+v", s)
	}

	for _, args := range [][]string{
		{"import", "shifts", "--data", h.DataDir},
		{"import", "shifts", "--data", h.DataDir, good, good},
		{"import", "shifts", good},
		{"import", "users", "--data", h.DataDir, good},
		{"import", "shifts", "--data", h.DataDir, "--zone", "Mars/Olympus", good},
	} {
		if code, _, stderr := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage)\n%s", args, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "import", "shifts", "--data", h.DataDir, filepath.Join(t.TempDir(), "missing.csv")); code != 1 || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d\n%s", code, stderr)
	}
}
