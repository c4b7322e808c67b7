package store

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestLoneSurrogate(t *testing.T) {
	for _, tt := range []struct {
		name, body, want string
	}{
		{"high alone", `{"name":"k\ud800"}`, `\ud800`},
		{"low alone", `{"name":"\udfff1"}`, `\udfff`},
		{"upper case hex", `"\uDBFF"`, `\uDBFF`},
		{"high then a character", `"\ud83dx\ude00"`, `\ud83d`},
		{"high then high", `"\ud83d\ud83d\ude00"`, `\ud83d`},
		{"low then high", `"\ude00\ud83d"`, `\ude00`},
		{"high at the end of the body", `"\ud800`, `\ud800`},
		{"high then a non-surrogate escape", `"\ud800\u0041"`, `\ud800`},
		{"in a key", `{"\udc00":1}`, `\udc00`},
		{"after a pair", `["\ud83d\ude00","\ud800"]`, `\ud800`},
		{"pair", `{"name":"\ud83d\ude00"}`, ""},
		{"pairs back to back", `"\udbff\udfff\ud800\udc00"`, ""},
		{"no escapes", `{"name":"k1"}`, ""},
		{"not a surrogate", `"\u00e9\uffff\ud7ff\ue000"`, ""},
		{"escaped backslash before u", `"\\ud800"`, ""},
		{"two escaped backslashes", `"\\\\ud800"`, ""},
		{"escaped backslash then an escape", `"\\\ud800"`, `\ud800`},
		{"short escape", `"\ud8"`, ""},
		{"backslash at the end", `"\`, ""},
		{"empty", ``, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := LoneSurrogate([]byte(tt.body))
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("LoneSurrogate(%s) = %q, %v; want %q", tt.body, got, ok, tt.want)
			}
		})
	}
}

// FuzzLoneSurrogate: for a JSON string that is UTF-8 (the callers refuse
// other bodies first), LoneSurrogate reports an escape exactly when
// encoding/json's value is not the text the string spells: when one of
// its UTF-16 code units became U+FFFD. The same string as an object's key
// or member gets the same answer.
func FuzzLoneSurrogate(f *testing.F) {
	for _, s := range []string{`"\ud800"`, `"\ud83d\ude00"`, `"\\ud800"`, `"a\udfffb"`, `"\ud83d\ud83d\ude00"`, `"\ufffd"`, "\"\xef\xbf\xbd\"", `"\n\"\/"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		esc, found := LoneSurrogate(b) // never panics, on anything
		if found && (len(esc) != 6 || esc[0] != '\\' || esc[1] != 'u') {
			t.Fatalf("LoneSurrogate(%q) = %q: not a \\u escape", b, esc)
		}
		b = bytes.Trim(b, " \t\r\n") // JSON's whitespace
		if len(b) == 0 || b[0] != '"' || !utf8.Valid(b) || !json.Valid(b) {
			return
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		units, ok := spelt(b)
		if !ok {
			t.Fatalf("the test's reader does not read %q", b)
		}
		altered := !slices.Equal(utf16.Encode([]rune(s)), units)
		if found != altered {
			t.Fatalf("LoneSurrogate(%s) = %q, %v; encoding/json read %+q, altered %v", b, esc, found, s, altered)
		}
		for _, doc := range []string{`{"k":` + string(b) + `}`, `{` + string(b) + `:1}`} {
			if e, f := LoneSurrogate([]byte(doc)); e != esc || f != found {
				t.Fatalf("LoneSurrogate(%s) = %q, %v; alone %q, %v", doc, e, f, esc, found)
			}
		}
	})
}

// spelt returns the UTF-16 code units the JSON string b spells, each
// escape as the unit it names, paired or not.
func spelt(b []byte) ([]uint16, bool) {
	var units []uint16
	s := string(b[1 : len(b)-1])
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			r, n := utf8.DecodeRuneInString(s[i:])
			units = utf16.AppendRune(units, r)
			i += n
			continue
		}
		if s[i+1] == 'u' {
			u, err := strconv.ParseUint(s[i+2:i+6], 16, 16)
			if err != nil {
				return nil, false
			}
			units = append(units, uint16(u))
			i += 6
			continue
		}
		c, ok := map[byte]uint16{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[s[i+1]]
		if !ok {
			return nil, false
		}
		units = append(units, c)
		i += 2
	}
	return units, true
}
