package shift

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseCSVHeaderAllEmpty: a first line of empty cells only, which a
// spreadsheet writes for an empty row above the table (",,,"), is no
// header with empty columns at its right: deleting "the empty columns at
// the right of the header" would delete every column. It is refused once,
// saying that the line names no column, byte order mark or not.
func TestParseCSVHeaderAllEmpty(t *testing.T) {
	const rest = "userName,start,end,\r\nana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z,\r\n"
	want := []LineError{{Line: 1, Msg: "the header line names no column, its cells are all empty (a spreadsheet writes such a line for an empty row above the table): the first line must name the columns, e.g. userName,start,end; delete the empty rows above it"}}
	for name, in := range map[string]string{
		"empty row above the table": ",,,\r\n" + rest,
		"with a byte order mark":    "\ufeff,,,\r\n" + rest,
		"quoted empty cells":        `"","",` + "\r\n" + rest,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(in), ImportOptions{})
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseCSV: %v, want an *ImportError", err)
			}
			if d := cmp.Diff(want, ie.Problems); d != "" {
				t.Errorf("problems (-want +got)\n%s", d)
			}
		})
	}
}
