package sqlite

/*
// Resolved against the SQLite that github.com/mattn/go-sqlite3 compiles
// into the same binary; weak, so that cgo's per-package link check does
// not need it.
typedef struct sqlite3 sqlite3;
extern int sqlite3_db_config(sqlite3 *db, int op, ...) __attribute__((weak));

// shiftgate_qpsg sets (set 1) or reads (set -1) SQLITE_DBCONFIG_ENABLE_QPSG
// (1007) and returns the setting, or a negative number on failure.
static int shiftgate_qpsg(void *db, int set) {
	int on = -1;
	if (sqlite3_db_config == 0) return -1;
	if (sqlite3_db_config((sqlite3 *)db, 1007, set, &on) != 0) return -2;
	return on;
}
*/
import "C"

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/mattn/go-sqlite3"
)

// enableQPSG turns on SQLite's query planner stability guarantee on the
// connection (SQLITE_DBCONFIG_ENABLE_QPSG), which mattn/go-sqlite3 does not
// expose. Without it SQLite plans some statements with the values bound to
// their parameters and marks them to be compiled again whenever a value is
// bound: statements with an ORDER BY that an index partly satisfies were
// parsed and planned anew on every execution from the statement cache,
// which doubled their cost (measured: a grant lookup 11.6 µs → 6.0 µs).
// Plans made without the values are as good here: every query is written
// for the index it uses.
func enableQPSG(c *sqlite3.SQLiteConn) error {
	if on, err := qpsg(c, 1); err != nil || !on {
		return fmt.Errorf("enable query planner stability guarantee: on %v, %v", on, err)
	}
	return nil
}

// qpsg sets (set 1) or reads (set -1) the setting on c.
func qpsg(c *sqlite3.SQLiteConn, set int) (bool, error) {
	f := reflect.ValueOf(c).Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.IsNil() {
		return false, fmt.Errorf("this go-sqlite3 has no open db handle field")
	}
	rc := C.shiftgate_qpsg(unsafe.Pointer(f.Pointer()), C.int(set))
	if rc < 0 {
		return false, fmt.Errorf("sqlite3_db_config failed (%d)", int(rc))
	}
	return rc == 1, nil
}
