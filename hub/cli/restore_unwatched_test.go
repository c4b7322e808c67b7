package cli_test

import (
	"strings"
	"testing"
)

// TestRestoreRollbackTheWatchDoesNotSee: the hub's audit watch checks the
// trail once a minute, so the records a hub wrote after its last check
// (up to a minute's worth before it stopped) are not in audit.head. A
// backup that holds the record audit.head names, restored, rolls those
// records back, and the restored hub's watch goes on from audit.head
// without a word: no audit.alert. Restore must not say that the watch
// records the rollback; it says that it will not, and names what the
// trail went back from (the replaced database's head) and to, for the
// operator to file off the hub.
func TestRestoreRollbackTheWatchDoesNotSee(t *testing.T) {
	live := t.TempDir()
	deviceCodes(t, live, "north-1", "north-2")
	if st := watchOnce(t, live); st.Checked.Seq != 2 {
		t.Fatalf("the watch checked up to record %d, want 2", st.Checked.Seq)
	}
	backup, head := takeBackup(t, live)
	deviceCodes(t, live, "north-3", "north-4") // records 3 and 4: after the watch's last check
	replaced := verifyHead(t, live)
	code, stdout, stderr := run(t, "restore", "--data", live, "--from", backup)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, stdout, stderr)
	}
	if st := watchOnce(t, live); st.Breaks != 0 || st.Checked.Seq != 2 {
		t.Fatalf("the watch on the restored trail: %+v; want no break (this test's premise)", st)
	}
	if strings.Contains(stderr, "its audit watch records the rollback") {
		t.Errorf("restore says the watch records a rollback it will not see:\n%s", stderr)
	}
	for _, want := range []string{
		"its audit watch will not record this rollback",
		"from record 4 (" + replaced + ", the replaced database's head) to record 2 (" + head + ", the backup's)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("restore's advice lacks %q:\n%s", want, stderr)
		}
	}
}
