package sqlite

import (
	"database/sql/driver"
	"path/filepath"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// TestQPSG: the store's connections (all made by a connector) have the
// query planner stability guarantee on, and a plain connection does not,
// so the check can fail.
func TestQPSG(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "hub.db"))
	check := func(name string, conn driver.Conn, want bool) {
		t.Helper()
		on, err := qpsg(conn.(*sqlite3.SQLiteConn), -1)
		if err != nil || on != want {
			t.Errorf("%s: QPSG on = %v, %v; want %v", name, on, err, want)
		}
	}
	for name, c := range map[string]*connector{
		"writer": newConnector(db.path+"?"+writerParams, writerInit),
		"reader": newConnector(db.path+"?"+readerParams, readerInit),
	} {
		conn, err := c.Connect(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		check(name, conn, true)
		conn.Close()
	}
	plain, err := (&sqlite3.SQLiteDriver{}).Open(db.path)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	check("plain connection", plain, false)
}
