package sqlite

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mattn/go-sqlite3"

	"github.com/shiftgate/shiftgate/hub/store"
)

// SQLITE_PROTOCOL is what SQLite returns when a connection lost the race
// for the write-ahead log's locks for seconds under contention; SQLite
// documents it as retryable, and nothing was written. It is store.ErrBusy
// (503 with Retry-After), as SQLITE_BUSY is, not a bug (500), with the
// driver's error kept in the chain, from writes (writeTx, unavailable)
// and reads (mapErr) alike. Other codes keep their meaning.
func TestProtocolErrorIsErrBusy(t *testing.T) {
	for _, tt := range []struct {
		name string
		code sqlite3.ErrNo
		busy bool
		full bool
	}{
		{name: "protocol", code: sqlite3.ErrProtocol, busy: true},
		{name: "busy", code: sqlite3.ErrBusy, busy: true},
		{name: "full", code: sqlite3.ErrFull, full: true},
		{name: "corrupt", code: sqlite3.ErrCorrupt},
	} {
		t.Run(tt.name, func(t *testing.T) {
			driver := fmt.Errorf("begin transaction: %w", sqlite3.Error{Code: tt.code})
			for _, f := range []struct {
				name string
				fn   func(error) error
			}{{"unavailable", unavailable}, {"mapErr", mapErr}} {
				err := f.fn(driver)
				if got := errors.Is(err, store.ErrBusy); got != tt.busy {
					t.Errorf("%s(%v): errors.Is(ErrBusy) = %v, want %v", f.name, driver, got, tt.busy)
				}
				if got := errors.Is(err, store.ErrFull); got != tt.full {
					t.Errorf("%s(%v): errors.Is(ErrFull) = %v, want %v", f.name, driver, got, tt.full)
				}
				var se sqlite3.Error
				if !errors.As(err, &se) || se.Code != tt.code {
					t.Errorf("%s(%v) = %v: the driver's error is not in the chain", f.name, driver, err)
				}
			}
			// The mark is not added twice.
			if err := unavailable(unavailable(driver)); tt.busy && err.Error() != unavailable(driver).Error() {
				t.Errorf("unavailable twice = %v, want %v", err, unavailable(driver))
			}
		})
	}
}
