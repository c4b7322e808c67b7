package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/governance"
	"github.com/shiftgate/shiftgate/hub/lifecycle"
)

// progressHub makes a hub in a new directory with ten users of site north
// in one group, a campaign "Q1" over them (20 items, two decided) and
// their audit trail. It returns the directory, the campaign's ID and
// what review show printed of it, as text and as JSON, when it held the
// output in memory: showCampaign into memory, in pages of page items.
func progressHub(t *testing.T, page int) (dir, id string, shown map[string]string) {
	t.Helper()
	ctx := t.Context()
	dir = t.TempDir()
	st, err := hub.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := audit.LoadOrCreateKey(ctx, dir, st)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := lifecycle.New(lifecycle.Config{Store: st, Audit: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	g, err := governance.New(governance.Config{Store: st, Audit: log, Engine: eng, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := nurseCampaign(t, eng, g, "w%02d")
	if len(c.Items) != 20 {
		t.Fatalf("campaign of %d items, want 20 (3 pages of 7)", len(c.Items))
	}
	shown = map[string]string{}
	for _, format := range []string{"text", "json"} {
		var b bytes.Buffer
		if err := showCampaign(ctx, &b, g, c.ID, format, page); err != nil {
			t.Fatal(err)
		}
		shown[format] = b.String()
	}
	// The JSON is what writeJSON makes of the whole campaign, as the
	// command wrote it before it read a page at a time.
	whole, err := g.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeJSON(&b, whole); err != nil {
		t.Fatal(err)
	}
	if b.String() != shown["json"] {
		t.Fatalf("fixture: the paged JSON\n%s\nis not the whole campaign's\n%s", shown["json"], &b)
	}
	return dir, c.ID, shown
}

// spoolWatch is a command's stdout and stderr both, in the order
// written. At each write to stdout it notes whether a temporary file of
// review show's is in dir: the output read back from disk, not held in
// memory.
type spoolWatch struct {
	all      *bytes.Buffer
	dir      string
	spooled  *bool
	isStdout bool
}

func (w spoolWatch) Write(p []byte) (int, error) {
	if w.isStdout {
		if m, _ := filepath.Glob(filepath.Join(w.dir, "shiftgate-review-show-*")); len(m) > 0 {
			*w.spooled = true
		}
	}
	return w.all.Write(p)
}

// TestReviewShowSpooledWithProgress: `review show` in text and JSON read a
// campaign a page at a time, but what it wrote was held whole in memory
// until the command ended (readHub): tens of megabytes for a campaign of
// tens of thousands of items. It is now held in a temporary file, as the
// CSV export is, and printed byte for byte as before (here in 3 pages of
// 7 items), and the file is removed. A tick waiting before the first page
// gives a line of how many items are written, on stderr as it happens,
// before the campaign is printed (a held line would come at the end);
// it said nothing for as long as it ran.
func TestReviewShowSpooledWithProgress(t *testing.T) {
	dir, id, shown := progressHub(t, 7)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var all bytes.Buffer
			spooled := false
			e := env{
				stdout: spoolWatch{all: &all, dir: tmp, spooled: &spooled, isStdout: true},
				stderr: spoolWatch{all: &all, dir: tmp, spooled: &spooled},
			}
			ticks := make(chan time.Time, 1)
			ticks <- time.Now()
			if err := e.reviewWith(t.Context(), []string{"show", "--data", dir, "--id", id, "--format", format}, ticks, 7); err != nil {
				t.Fatal(err)
			}
			want := "review show: 7 of 20 items written\n" + shown[format]
			if got := all.String(); got != want {
				t.Errorf("review show --format %s wrote\n%s\nwant\n%s", format, got, want)
			}
			if !spooled {
				t.Errorf("review show --format %s: stdout not printed from a temporary file; want it held on disk", format)
			}
			if m, _ := filepath.Glob(filepath.Join(tmp, "*")); len(m) > 0 {
				t.Errorf("left behind: %q", m)
			}
		})
	}
}

// TestImportShiftsProgress: import shifts looks up and updates every user
// of the file in one transaction, minutes for a file of hundreds of
// thousands of lines, and said nothing between its start and its result.
// At a tick it now says how far it has come, before its result.
func TestImportShiftsProgress(t *testing.T) {
	dir, _, _ := progressHub(t, 7)
	start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)
	file := filepath.Join(t.TempDir(), "week.csv")
	body := "userName,start,end\n"
	for _, name := range []string{"w01", "w02", "w03"} {
		body += name + "," + start.Format(time.RFC3339) + "," + start.Add(8*time.Hour).Format(time.RFC3339) + "\n"
	}
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, flag, line, result string
	}{
		{"dry run", "--dry-run", "checking " + file + ": 1 of 3 users looked up, shifts of 0 set\n", "dry run: "},
		{"import", "--dry-run=false", "importing " + file + ": 1 of 3 users looked up, shifts of 0 set\n", "imported "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			ticks := make(chan time.Time, 1)
			ticks <- time.Now()
			if err := (env{stdout: &out, stderr: &errb}).importTicks(t.Context(), []string{"shifts", "--data", dir, tt.flag, file}, ticks); err != nil {
				t.Fatalf("import shifts: %v\n%s", err, &errb)
			}
			if errs := errb.String(); !strings.HasPrefix(errs, tt.line) || !strings.Contains(errs, tt.result) {
				t.Errorf("import shifts %s: stderr\n%s\nwant first\n%s", tt.flag, errs, tt.line)
			}
			if !strings.Contains(out.String(), "the shifts of 3 users") {
				t.Errorf("import shifts %s: stdout\n%s", tt.flag, &out)
			}
		})
	}
}

// TestTrailReportsProgress: findings and report fold the whole audit trail
// before they print a line, minutes on a trail of millions of records,
// and said nothing meanwhile. At a tick they now say how much of it they
// have read, on stderr as it happens: before what they print, which is
// held till they are done.
func TestTrailReportsProgress(t *testing.T) {
	dir, _, _ := progressHub(t, 7)
	line := regexp.MustCompile(`^(findings|report): read ([0-9]+) audit records \(up to record ([0-9]+)\)\n`)
	for _, tt := range []struct {
		name string
		run  func(e env, ticks <-chan time.Time) error
	}{
		{"findings", func(e env, ticks <-chan time.Time) error {
			return e.findingsTicks(t.Context(), []string{"--data", dir}, ticks)
		}},
		{"report", func(e env, ticks <-chan time.Time) error {
			return e.reportTicks(t.Context(), []string{"--data", dir}, ticks)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var all bytes.Buffer
			ticks := make(chan time.Time, 1)
			ticks <- time.Now()
			if err := tt.run(env{stdout: &all, stderr: &all}, ticks); err != nil {
				t.Fatalf("%s: %v\n%s", tt.name, err, &all)
			}
			m := line.FindStringSubmatch(all.String())
			if m == nil || m[1] != tt.name || m[2] == "0" || m[2] != m[3] {
				t.Errorf("%s wrote\n%s\nwant first a line of the audit records read", tt.name, &all)
			}
			if n := strings.Count(all.String(), "audit records"); n != 1 {
				t.Errorf("%s: %d progress lines for one tick; want 1", tt.name, n)
			}
		})
	}
}
