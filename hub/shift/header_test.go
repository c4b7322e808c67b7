package shift

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseCSVHeaderUnnamedColumns: a header that ends in columns without
// a name, as Excel writes it when cells to the right of the table were
// ever formatted, is refused with one problem that says to delete them,
// not with unknown column "" once per column; a column without a name
// inside the header says which one it is.
func TestParseCSVHeaderUnnamedColumns(t *testing.T) {
	const row = "ana,2026-12-01T06:00:00Z,2026-12-01T14:00:00Z"
	tests := []struct {
		name string
		in   string
		want []LineError
	}{
		{
			name: "two empty columns at the right (Excel)",
			in:   "userName,start,end,,\r\n" + row + ",,\r\n",
			want: []LineError{{Line: 1, Msg: "the header ends in 2 columns without a name (a spreadsheet writes them when cells to the right of the table were ever formatted): delete the empty columns at the right of the header, save and import again"}},
		},
		{
			name: "one blank column after zone",
			in:   "userName,start,end,zone, \n" + row + ",UTC,\n",
			want: []LineError{{Line: 1, Msg: "the header ends in 1 column without a name (a spreadsheet writes them when cells to the right of the table were ever formatted): delete the empty columns at the right of the header, save and import again"}},
		},
		{
			name: "a column without a name inside",
			in:   "userName,,start,end\n",
			want: []LineError{{Line: 1, Msg: "column 2 of the header has no name: name it (userName, start, end or zone) or delete it"}},
		},
		{
			name: "empty columns at the right and an unknown column",
			in:   "userName,start,end,extra,,\n",
			want: []LineError{
				{Line: 1, Msg: "the header ends in 2 columns without a name (a spreadsheet writes them when cells to the right of the table were ever formatted): delete the empty columns at the right of the header, save and import again"},
				{Line: 1, Msg: `unknown column "extra": the columns are userName, start, end and optionally zone`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCSV(strings.NewReader(tt.in), ImportOptions{})
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("ParseCSV: %v, want an *ImportError", err)
			}
			if d := cmp.Diff(tt.want, ie.Problems); d != "" {
				t.Errorf("problems (-want +got)\n%s", d)
			}
		})
	}
}
