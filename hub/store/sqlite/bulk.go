package sqlite

import "strings"

// bulkRows is how many rows (or IDs) one statement of a bulk operation
// carries. Binding parameters directly costs SQLite far less than
// decoding a JSON document per row (json_each with ->> per column), and a
// fixed chunk size means the statement text of every full chunk is the
// same, so the driver's statement cache prepares it once per connection.
// 128 rows of 9 columns stay well below SQLite's 32,766 parameters.
const bulkRows = 128

// placeholders returns n comma-separated groups of cols "?", e.g.
// "(?, ?), (?, ?)" for n=2, cols=2, or "?, ?, ?" for cols=0 (a plain
// list for IN).
func placeholders(n, cols int) string {
	var b strings.Builder
	if cols == 0 {
		b.Grow(3 * n)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		return b.String()
	}
	b.Grow(n * (3*cols + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
	return b.String()
}

// chunks calls fn with the bounds of each run of at most bulkRows of n
// items, in order, and stops at the first error.
func chunks(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += bulkRows {
		if err := fn(lo, min(lo+bulkRows, n)); err != nil {
			return err
		}
	}
	return nil
}
