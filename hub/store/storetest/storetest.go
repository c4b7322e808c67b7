// Package storetest is the conformance suite every store.Store backend must
// pass: call Run from the backend's test file.
//
// The suite pins down what store.go leaves to prose, so the hub can rely on
// it whatever the backend:
//   - Times round-trip exactly, to the nanosecond, and come back in UTC (the
//     suite stores times in other zones and checks Location() == time.UTC).
//     Zero times stay zero.
//   - Byte strings (Document, Detail, Prev, Hash, credential keys) come back
//     byte for byte; JSON is not re-encoded. A nil and an empty slice are
//     treated as equal.
//   - Update methods keep ID and Created (and Version, which they increment)
//     whatever fn returns. If fn fails, the record is unchanged and fn's
//     error is returned (errors.Is).
//   - InTx: an error from fn rolls back every write made inside it, audit
//     appends included, and comes back as is. A panic in fn rolls back too,
//     then the panic continues: InTx re-panics with the same value and the
//     store stays usable.
//   - InReadTx: every read inside it sees one snapshot, taken no later than
//     its first read, while writes commit outside it without waiting; a
//     write through it fails and changes nothing.
//   - Where store.go specifies no order (credentials, devices, sites,
//     grants, tokens), the suite sorts before comparing.
package storetest

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/shiftgate/shiftgate/hub/store"
)

// Run runs the suite. newStore must return a new, empty store for each
// subtest and close it in t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"UserCreateGet", testUserCreateGet},
		{"UserCreateConflict", testUserCreateConflict},
		{"UserUpdate", testUserUpdate},
		{"UserUpdateErrors", testUserUpdateErrors},
		{"UserDays", testUserDays},
		{"CertificationDays", testCertificationDays},
		{"UserNameReuse", testUserNameReuse},
		{"UserNameUnicodeCase", testUserNameUnicodeCase},
		{"ListUsers", testListUsers},
		{"ListAfter", testListAfter},
		{"GroupCreateGet", testGroupCreateGet},
		{"GroupCreateErrors", testGroupCreateErrors},
		{"GroupUpdate", testGroupUpdate},
		{"GroupNameUnicodeCase", testGroupNameUnicodeCase},
		{"ListGroups", testListGroups},
		{"GroupDelete", testGroupDelete},
		{"MembershipMovesUserVersion", testMembershipMovesUserVersion},
		{"RemoveMemberships", testRemoveMemberships},
		{"ListUsersWithGroups", testListUsersWithGroups},
		{"Sites", testSites},
		{"Devices", testDevices},
		{"TouchDevices", testTouchDevices},
		{"CountDevices", testCountDevices},
		{"DeviceSites", testDeviceSites},
		{"DeviceCerts", testDeviceCerts},
		{"Credentials", testCredentials},
		{"RevokeCredentials", testRevokeCredentials},
		{"RecordCredentialUse", testRecordCredentialUse},
		{"Sessions", testSessions},
		{"EndSessions", testEndSessions},
		{"StartAndEndOnDevice", testStartAndEndOnDevice},
		{"Grants", testGrants},
		{"GrantOne", testGrantOne},
		{"ActiveGrants", testActiveGrants},
		{"GrantKeys", testGrantKeys},
		{"Revocations", testRevocations},
		{"Tokens", testTokens},
		{"TokenMaker", testTokenMaker},
		{"EnrollmentCodes", testEnrollmentCodes},
		{"Bulk", testBulk},
		{"Audit", testAudit},
		{"ListAudit", testListAudit},
		{"TimePrecision", testTimePrecision},
		{"TxCommit", testTxCommit},
		{"TxRollback", testTxRollback},
		{"TxPanic", testTxPanic},
		{"TxReadsOwnWrites", testTxReadsOwnWrites},
		{"TxConcurrentAudit", testTxConcurrentAudit},
		{"ReadTx", testReadTx},
		{"ShiftExtensions", testShiftExtensions},
		{"GrantExpiry", testGrantExpiry},
		{"SessionExpiry", testSessionExpiry},
		{"SessionExpiryReason", testSessionExpiryReason},
		{"Campaigns", testCampaigns},
		{"CampaignRollback", testCampaignRollback},
		{"CampaignItems", testCampaignItems},
		{"ListPages", testListPages},
		{"ActiveCredentials", testActiveCredentials},
		{"ConsoleAccounts", testConsoleAccounts},
		{"ConsoleCredentials", testConsoleCredentials},
		{"ConsoleInvites", testConsoleInvites},
		{"ConsoleSessions", testConsoleSessions},
		{"ConsoleQueries", testConsoleQueries},
		{"ConsoleAccountLinks", testConsoleAccountLinks},
		{"ConsoleAccountNames", testConsoleAccountNames},
		{"ConsoleAccountsOfUserOrName", testConsoleAccountsOfUserOrName},
		{"PolicyVersions", testPolicyVersions},
		{"PolicyConcurrent", testPolicyConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newStore(t))
		})
	}
}

// zone is a non-UTC zone the suite stores times in.
var zone = time.FixedZone("UTC+5:30", 5*3600+30*60)

// at returns a fixed instant, h hours after the suite's epoch, with a
// nanosecond part, in a zone other than UTC.
func at(h int) time.Time {
	return time.Date(2025, 3, 10, 8, 0, 0, 123456789, zone).Add(time.Duration(h) * time.Hour)
}

// opts compares values of the store: times by instant (time.Time's Equal),
// nil and empty slices alike.
var opts = gocmp.Options{cmpopts.EquateEmpty()}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := gocmp.Diff(want, got, opts); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// checkUTC fails unless every time is in UTC.
func checkUTC(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for i, tm := range ts {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time #%d %v is in %v, want UTC", what, i, tm, tm.Location())
		}
	}
}

func userTimes(u store.User) []time.Time {
	ts := []time.Time{u.StartDate, u.EndDate, u.Created, u.Modified, u.Deleted}
	for _, s := range u.Shifts {
		ts = append(ts, s.Start, s.End)
	}
	for _, c := range u.Certifications {
		ts = append(ts, c.Expires)
	}
	return ts
}

// newUser returns a minimal active user created at h.
func newUser(id, userName string, h int) store.User {
	return store.User{
		ID:       id,
		UserName: userName,
		Active:   true,
		State:    store.UserActive,
		Created:  at(h),
		Modified: at(h),
	}
}

func createUsers(t *testing.T, s store.Ops, users ...store.User) {
	t.Helper()
	for _, u := range users {
		if _, err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatalf("create user %s: %v", u.ID, err)
		}
	}
}

var errFn = errors.New("storetest: fn refuses")

// sortBy sorts a copy of s by key.
func sortBy[T any, K cmp.Ordered](s []T, key func(T) K) []T {
	s = slices.Clone(s)
	slices.SortStableFunc(s, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	return s
}
