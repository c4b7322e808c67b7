package cli_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub/lifecycle"
	"github.com/shiftgate/shiftgate/hub/store"
)

// anaCampaign makes a hub in a new data directory with worker ana at
// north, and campaign id, due in two days, of n pending items about her
// site (item-0000, item-0001, ...) for the admins to decide, and closes
// its store for the commands the test runs. It returns the directory.
func anaCampaign(t *testing.T, id string, n int) string {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	st, _, eng := openEngine(t, dir)
	admin := lifecycle.Actor{Name: "token:t1 (admin)", System: "api"}
	if _, err := eng.CreateUser(ctx, admin, store.User{ID: "u-ana", UserName: "ana", Active: true, Sites: []string{"north"}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	items := make([]store.ReviewItem, n)
	for i := range items {
		items[i] = store.ReviewItem{ID: fmt.Sprintf("item-%04d", i), CampaignID: id, UserID: "u-ana", Kind: store.ReviewItemSite,
			Entitlement: "north", Detail: "north", ReviewerKind: "admins", Decision: store.ReviewPending, Created: now}
	}
	if _, err := st.CreateCampaign(ctx, store.Campaign{ID: id, Name: id, Due: now.Add(48 * time.Hour), Created: now, CreatedBy: admin.Name}, items); err != nil {
		t.Fatal(err)
	}
	st.Close()
	return dir
}

// TestReviewShowEvidenceOutPlantedLink: `review show --format csv --out
// FILE` follows a symbolic link FILE and replaces the file it names. In a
// shared directory such as /tmp, another local user can plant that link
// before the operator (root, at the auditor's request) runs the export:
// the export then replaced whatever the link named, /etc/passwd included.
// A link in a sticky, world-writable directory that is neither the
// caller's nor the directory owner's is refused (exit 2), as the kernel's
// protected_symlinks refuses to follow it, and the file it names is left
// as it was. Run as another user than root, who cannot make a link
// another's, the test checks that the caller's own link there is still
// followed.
func TestReviewShowEvidenceOutPlantedLink(t *testing.T) {
	dir := anaCampaign(t, "camp", 1)
	shared := t.TempDir() // as /tmp: sticky and world-writable
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	const precious = "root:x:0:0:root:/root:/bin/sh\n"
	victim := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(victim, []byte(precious), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "evidence.csv")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	show := []string{"review", "show", "--data", dir, "--id", "camp", "--format", "csv", "--out", link}

	if os.Geteuid() != 0 {
		code, _, errs := run(t, show...)
		if b, _ := os.ReadFile(victim); code != 0 || !strings.HasPrefix(string(b), "campaign_id,") {
			t.Fatalf("--out onto the caller's own link in a shared directory: exit %d (%s), the file it names holds %q; want the export", code, errs, b)
		}
		return
	}
	if err := os.Lchown(link, 4321, 4321); err != nil { // another user's link
		t.Fatal(err)
	}
	code, out, errs := run(t, show...)
	if code != 2 || out != "" || !strings.Contains(errs, "symbolic link another user made") {
		t.Errorf("--out onto another user's link in a shared directory: exit %d, stdout %q, stderr %q; want exit 2 saying the link is not followed", code, out, errs)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != precious {
		t.Errorf("the file the planted link names now holds %q (%v); want it untouched", b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(victim), ".shiftgate-evidence-*")); len(left) != 0 {
		t.Errorf("temporary files left beside the file the link names: %q", left)
	}

	// A link to nowhere is refused too: written through, it would make
	// the file it names (a file in /etc/cron.d).
	made := filepath.Join(filepath.Dir(victim), "cron-job")
	dangling := filepath.Join(shared, "dangling.csv")
	if err := os.Symlink(made, dangling); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(dangling, 4321, 4321); err != nil {
		t.Fatal(err)
	}
	show[len(show)-1] = dangling
	if code, _, errs := run(t, show...); code != 2 {
		t.Errorf("--out onto another user's dangling link: exit %d, stderr %q; want 2", code, errs)
	}
	if _, err := os.Lstat(made); err == nil {
		t.Errorf("the planted dangling link made %s", made)
	}

	// The directory owner's own link (root's, here) is followed, as the
	// kernel follows it.
	if err := os.Lchown(link, 0, 0); err != nil {
		t.Fatal(err)
	}
	show[len(show)-1] = link
	if code, _, errs := run(t, show...); code != 0 {
		t.Errorf("--out onto root's own link: exit %d, stderr %q; want 0", code, errs)
	}
	if b, _ := os.ReadFile(victim); !strings.HasPrefix(string(b), "campaign_id,") {
		t.Errorf("--out onto root's own link: the file holds %q; want the export", b)
	}
}
