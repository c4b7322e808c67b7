package sqlite

import (
	"path/filepath"
	"syscall"
	"testing"
)

// A read that sorts more than a connection's page cache holds (an ORDER
// BY, DISTINCT or GROUP BY without an index to follow) does not spill to
// temporary files: SQLite puts them in SQLITE_TMPDIR, TMPDIR or /var/tmp,
// which the hub's unit makes private (PrivateTmp) on the root file system,
// often not the data directory's. When that file system was full, the
// read failed with SQLITE_FULL, which the hub answers as a full database
// (507, "free space on the file system of the hub's data directory"):
// the wrong file system, and a read failed for want of space it did not
// need. Here a file size limit (RLIMIT_FSIZE, which Go's runtime does not
// die of) makes every file write past 1 MiB fail while a reader sorts
// 12 MiB.
func TestReadSortsDoNotWriteTempFiles(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	limited := old
	limited.Cur = 1 << 20
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		t.Fatal(err)
	}
	var n int
	err := db.reader.QueryRowContext(t.Context(), `SELECT count(*) FROM (
		WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 100000)
		SELECT hex(randomblob(64)) AS h FROM i ORDER BY h)`).Scan(&n)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err != nil || n != 100000 {
		t.Fatalf("sort of 12 MiB on a reader with file writes limited to 1 MiB: %d rows, %v; want it sorted in memory", n, err)
	}
}
