package hub

import (
	"os"
	"path/filepath"
	"testing"
)

// A BLOB file read while it was still being written (copied in place)
// does not verify; the file as it was before that read is noted, so the
// finished file counts as changed and is read at the next look. Noting it
// after the failed read took the finished file for the broken one, and the
// new BLOB was never taken.
func TestFIDOMetadataReadWhileWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), FIDOMetadataFile)
	if err := os.WriteFile(path, []byte("eyJhbGciOiJFUzI1NiJ9.half"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fidoMetadata{path: path}
	f.readDone = func() { // the copy finishes meanwhile
		if err := os.WriteFile(path, []byte("eyJhbGciOiJFUzI1NiJ9.the-rest-of-the-new-blob.signature"), 0o600); err != nil {
			t.Error(err)
		}
	}
	if _, err := f.read(); err == nil {
		t.Fatal("a half-written BLOB verified")
	}
	if !f.changed() {
		t.Fatal("the finished file is taken for the one read half-written: it would never be read")
	}
	f.readDone = nil
	if _, err := f.read(); err == nil {
		t.Fatal("not a BLOB verified")
	}
	if f.changed() {
		t.Error("a file that did not verify and has not changed since counts as changed: it would be read and logged at every look")
	}
}
