package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// jsonEnvelope is the API's PUT body as encoding/json read it before
// ParseEdit: the document with the API's read-only members around it.
type jsonEnvelope struct {
	Version   int64      `json:"version"`
	ChangedBy string     `json:"changed_by,omitempty"`
	Changed   *time.Time `json:"changed,omitempty"`
	Document
	SessionsEnded     []string `json:"sessions_ended,omitempty"`
	SessionsShortened []string `json:"sessions_shortened,omitempty"`
}

// decodeWithEncodingJSON is how a document was read before the field by
// field decoder: names given twice refused (DuplicateKey), then
// encoding/json with DisallowUnknownFields into v, nothing after it.
func decodeWithEncodingJSON(b []byte, v any) error {
	if _, dup := DuplicateKey(b); dup {
		return errors.New("a name given twice")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more after the object")
	}
	return nil
}

// compareWithEncodingJSON checks that ParseDocument and ParseEdit take
// what encoding/json took, into the same rules (and the same envelope),
// and refuse what it refused: the one difference is ParseEdit refusing
// "sites": null and "employment_types": null.
func compareWithEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	var (
		d       Document
		want    Rules
		wantErr error
	)
	if len(b) > MaxDocumentBytes {
		wantErr = errors.New("too big")
	} else if wantErr = decodeWithEncodingJSON(b, &d); wantErr == nil {
		want, wantErr = d.Rules()
	}
	got, err := ParseDocument(b)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("ParseDocument(%q): %v; encoding/json: %v", b, err, wantErr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ParseDocument(%q): rules (-encoding/json +ParseDocument):\n%s", b, diff)
	}

	var env jsonEnvelope
	wantErr = decodeWithEncodingJSON(b, &env)
	want = Rules{}
	if wantErr == nil {
		want, wantErr = env.Document.Rules()
	}
	var (
		version    int64
		changedBy  string
		changed    *time.Time
		ended, cut []string
	)
	got, err = ParseEdit(b, map[string]any{"version": &version, "changed_by": &changedBy, "changed": &changed,
		"sessions_ended": &ended, "sessions_shortened": &cut})
	switch {
	case err == nil && wantErr != nil:
		t.Fatalf("ParseEdit(%q) takes what encoding/json refused: %v", b, wantErr)
	case err == nil:
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("ParseEdit(%q): rules (-encoding/json +ParseEdit):\n%s", b, diff)
		}
		if version != env.Version || changedBy != env.ChangedBy || !cmp.Equal(changed, env.Changed) ||
			!cmp.Equal(ended, env.SessionsEnded) || !cmp.Equal(cut, env.SessionsShortened) {
			t.Fatalf("ParseEdit(%q): envelope %d %q %v %q %q, encoding/json read %+v", b, version, changedBy, changed, ended, cut, env)
		}
	case wantErr == nil:
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("ParseEdit(%q): %v (%T)", b, err, err)
		}
		for _, p := range ve.Problems {
			if !strings.Contains(p.Message, "null is ambiguous") {
				t.Fatalf("ParseEdit(%q) refuses what encoding/json took: %v", b, err)
			}
		}
	}
}

// TestParseMatchesEncodingJSON: the field by field decoder takes exactly
// the documents encoding/json (with DisallowUnknownFields and the check
// for names given twice) took, into the same rules: names in any case,
// including the Unicode folds encoding/json matches (ſ for s), escapes,
// nulls, numbers with exponents where a string or a boolean belongs,
// whitespace around the object; so every stored document still loads.
func TestParseMatchesEncodingJSON(t *testing.T) {
	const head = `"max_session":"12h","shift_grace":"15m"`
	for _, doc := range []string{
		validDoc,
		`{` + head + `,"roles":[],"other":{}}`,
		` {` + head + `}` + "\n\t ",
		`{"MAX_SESSION":"12h","Shift_Grace":"15m","ROLES":[{"NAME":"A","APPS":["a"],"Require_UV":true,"PRIVILEGED":true}],"OTHER":{"Apps":["b"]}}`,
		`{"max_ſession":"12h","ſhift_grace":"15m","roleſ":[{"name":"A","apps":["a"],"ſites":["North"],"employment_typeſ":["temp"]}]}`,
		`{"\u006dax_session":"\u0031\u0032h","shift_grace":"15m","roles":[{"n\u0061me":"\u00c9quipe","apps":["\u0061"],"certification":"\u212a9"}]}`,
		`{` + head + `,"roles":null,"other":null}`,
		`{"max_session":null,"shift_grace":null}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a"],"require_uv":null,"privileged":null,"certification":null,"sites":null,"employment_types":null}]}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a"],"max_session":null}]}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a"],"max_session":"0s"}]}`,
		`{` + head + `,"roles":[{"name":null,"apps":["a"]}]}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a",null]}]}`,
		`{` + head + `,"roles":[null]}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a"],"require_uv":1e0}]}`,
		`{"max_session":1.2e1,"shift_grace":"15m"}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a"],"sites":["North","nORTH"]}]}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a"],"employment_types":["Temp"," vendor "]}]}`,
		`{` + head + `,"other":{"sites":["North"],"SITES":["x"]}}`,
		`{` + head + `,"other":{"sites":["North"],"ſites":["x"]}}`,
		`{` + head + `,"roles":[{"name":"A","apps":["a"]}],"Roles":[]}`,
		`{` + head + `,"other":{"apps":["a"],"x":{"y":1,"Y":2}}}`,
		`{` + head + `,"":1}`,
		`{` + head + `,"roles":{},"other":[]}`,
		`{` + head + `} {}`,
		`{` + head + `,"version":1,"Changed_By":"token:ops","changed":"2026-03-01T08:00:00+01:00","sessions_ended":["s1"],"sessions_shortened":null}`,
		`{` + head + `,"version":1.5}`,
		`{` + head + `,"version":1,"VERSION":2}`,
		"{\"max_session\":\"12h\",\"shift_grace\":\"15m\",\"other\":{\"name\":\"\xff\"}}",
		"{\"max_session\":\"12h\",\"shift_grace\":\"15m\",\"roles\":[{\"name\":\"A\xff\",\"apps\":[\"a\"],\"sites\":[\"\xffx\"]}]}",
		`null`, `{}`, `[]`, `"x"`, ``, `{`,
	} {
		compareWithEncodingJSON(t, []byte(doc))
	}
}

// FuzzParseMatchesEncodingJSON is TestParseMatchesEncodingJSON on any
// input.
func FuzzParseMatchesEncodingJSON(f *testing.F) {
	def, _ := DefaultRules().Marshal()
	for _, s := range []string{
		string(def), validDoc,
		`{"version":3,"Changed":"2026-01-02T03:04:05Z","changed_by":"x","sessions_ended":["a"],"MAX_SESSION":"12h","Shift_Grace":"15m","ROLES":[{"NAME":"A","APPS":["a"],"Require_UV":true,"max_session":"1h","certification":"\u0041","sites":["x"],"employment_types":["temp"]}],"OTHER":{"Apps":["b"]}}`,
		`{"max_ſession":"12h","shift_grace":"15m","roles":null,"other":null,"version":null,"changed":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(compareWithEncodingJSON)
}
