package policy

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseDocument: any input either parses into rules that validate,
// marshal and parse back to the same document, or fails with ErrInvalid;
// it never panics.
func FuzzParseDocument(f *testing.F) {
	def, _ := DefaultRules().Marshal()
	for _, s := range []string{
		string(def), validDoc, `{}`, `[]`, `null`, `{"max_session":"12h","shift_grace":"0s","roles":[],"other":{}}`,
		`{"max_session":"12h","shift_grace":"15m","roles":[{"name":"A","apps":["a"],"sites":["x","X"],"employment_types":["temp"]}],"other":{"apps":[]}}`,
		`{"max_session":"1m","shift_grace":"12h","roles":[{"name":"a,b","apps":["a"]}],"other":{"name":"x"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseDocument(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not match ErrInvalid: %v", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed rules do not validate: %v", err)
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := ParseDocument(out)
		if err != nil {
			t.Fatalf("reparse of %s: %v", out, err)
		}
		out2, err := r2.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable: %s vs %s (%v)", out, out2, err)
		}
	})
}
