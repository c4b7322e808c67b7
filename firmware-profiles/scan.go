package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// scan walks the JSON token stream against the shape of fileV1 and reports,
// with their field paths, what json.Decoder would report only one at a time
// or not at all: unknown fields, duplicate keys (the decoder silently keeps
// the last), and values of the wrong type. Keys match exactly, case included.
// A syntax error ends the scan and is returned as err.
func scan(data []byte, ps *problems) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	s := &scanner{dec: dec, ps: ps}
	if err := s.value(reflect.TypeFor[fileV1](), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		ps.add("", "unexpected data after the profile object")
	}
	return nil
}

type scanner struct {
	dec *json.Decoder
	ps  *problems
}

var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_*-]+$`)

// child returns the path of key inside path: a.b, or a["odd key"].
func child(path, key string) string {
	if !simpleKey.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// jsonFields maps a struct type's JSON keys to field types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		m[name] = f.Type
	}
	return m
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	default:
		return "a number"
	}
}

func tokenName(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "the number " + v.String()
	case bool:
		return "a boolean"
	default:
		return "null"
	}
}

func (s *scanner) value(t reflect.Type, path string) error {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	ok := false
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		ok = tok == json.Delim('{')
	case reflect.Slice:
		ok = tok == json.Delim('[')
	case reflect.String:
		_, ok = tok.(string)
	case reflect.Int:
		if n, isNum := tok.(json.Number); isNum {
			_, err := strconv.ParseInt(n.String(), 10, 0)
			ok = err == nil
		}
	case reflect.Float64:
		if n, isNum := tok.(json.Number); isNum {
			_, err := strconv.ParseFloat(n.String(), 64)
			ok = err == nil
		}
	}
	if !ok {
		s.ps.malformed(path, fmt.Sprintf("got %s, want %s", tokenName(tok), kindName(t)))
		return s.skip(tok)
	}
	switch t.Kind() {
	case reflect.Struct:
		return s.object(path, func(key string) (reflect.Type, bool) {
			ft, ok := jsonFields(t)[key]
			return ft, ok
		})
	case reflect.Map:
		return s.object(path, func(string) (reflect.Type, bool) { return t.Elem(), true })
	case reflect.Slice:
		for i := 0; s.dec.More(); i++ {
			if err := s.value(t.Elem(), index(path, i)); err != nil {
				return err
			}
		}
		_, err := s.dec.Token() // ]
		return err
	}
	return nil
}

// object scans the members of an object whose '{' has been read.
func (s *scanner) object(path string, field func(key string) (reflect.Type, bool)) error {
	seen := make(map[string]bool)
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string) // the decoder only yields string keys
		kp := child(path, key)
		if seen[key] {
			s.ps.malformed(kp, "duplicate key")
		}
		seen[key] = true
		ft, ok := field(key)
		if !ok {
			s.ps.add(kp, "unknown field")
			if err := s.skipValue(); err != nil {
				return err
			}
			continue
		}
		if err := s.value(ft, kp); err != nil {
			return err
		}
	}
	_, err := s.dec.Token() // }
	return err
}

func (s *scanner) skipValue() error {
	tok, err := s.dec.Token()
	if err != nil {
		return err
	}
	return s.skip(tok)
}

// skip consumes the rest of a value whose first token was tok.
func (s *scanner) skip(tok json.Token) error {
	if d, ok := tok.(json.Delim); !ok || (d != '{' && d != '[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := s.dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
	}
	return nil
}

// syntaxProblem describes a JSON syntax error with its line and column. The
// token decoder's offsets are approximate, so the position comes from
// json.Unmarshal's scanner, whose offset counts the offending byte.
func syntaxProblem(data []byte, err error) string {
	var v any
	var se *json.SyntaxError
	uerr := json.Unmarshal(data, &v)
	if errors.As(uerr, &se) && se.Offset > 0 && !strings.Contains(se.Error(), "unexpected end") {
		line, col := position(data, se.Offset-1)
		return fmt.Sprintf("invalid JSON at line %d, column %d: %s", line, col, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || uerr != nil && strings.Contains(uerr.Error(), "unexpected end") {
		return "invalid JSON: unexpected end of file"
	}
	return "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")
}

// position returns the 1-based line and column of data[off].
func position(data []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := 0; i < len(data) && int64(i) < off; i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
