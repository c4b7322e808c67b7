package sqlite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenNoUpgrade: with Options.NoUpgrade, a file of an older schema
// (one a hub of an older build may have open) is refused with
// ErrNeedsMigration, naming both versions, and left byte for byte as it
// was; Open still migrates it. An up-to-date file opens, and a new file
// gets the schema: neither needs an upgrade.
func TestOpenNoUpgrade(t *testing.T) {
	ctx := t.Context()
	want := len(migrations())

	t.Run("older schema", func(t *testing.T) {
		path, raw := dbBefore(t, migrations()[want-1].sql)
		raw.Close()
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		db, err := OpenWith(ctx, path, Options{NoUpgrade: true})
		if err == nil {
			db.Close()
			t.Fatal("NoUpgrade opened a file of an older schema")
		}
		if !errors.Is(err, ErrNeedsMigration) || !strings.Contains(err.Error(), fmt.Sprintf("version %d is older than this build's (%d)", want-1, want)) {
			t.Errorf("err = %v; want ErrNeedsMigration naming versions %d and %d", err, want-1, want)
		}
		if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
			t.Errorf("the refused file changed (%v)", err)
		}
		if v := versionOf(t, path); v != want-1 {
			t.Errorf("schema version %d after the refusal, want %d", v, want-1)
		}

		db = openTest(t, path)
		if v, err := schemaVersion(ctx, db.writer); err != nil || v != want {
			t.Errorf("Open: schema version %d, %v; want %d", v, err, want)
		}
	})

	t.Run("up to date", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hub.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		db, err = OpenWith(ctx, path, Options{NoUpgrade: true})
		if err != nil {
			t.Fatalf("NoUpgrade on an up-to-date file: %v", err)
		}
		db.Close()
	})

	t.Run("new file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hub.db")
		db, err := OpenWith(ctx, path, Options{NoUpgrade: true})
		if err != nil {
			t.Fatalf("NoUpgrade on a new file: %v", err)
		}
		if v, err := schemaVersion(ctx, db.writer); err != nil || v != want {
			t.Errorf("schema version %d, %v; want %d", v, err, want)
		}
		db.Close()
	})
}

// versionOf reads the file's user_version through a connection of its own.
func versionOf(t *testing.T, path string) int {
	t.Helper()
	raw := rawWriter(t, path)
	defer raw.Close()
	v, err := schemaVersion(t.Context(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
