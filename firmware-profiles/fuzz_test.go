package profiles

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// FuzzParse checks that Parse never panics, that every failure is a
// *ValidationError naming the file, and that every accepted profile
// validates clean again.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("*.json")
	more, _ := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	for _, file := range append(seeds, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte(`{"version": 1, "apps": {"a": [{"command": [""]}]}, "teardown": [{"grace": "1s"}]}`))
	f.Add([]byte(`{"display": {"scale": 1e400}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("kiosk.json", data)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("Parse error %v (%T) is not a *ValidationError with problems", err, err)
			}
			for _, pr := range ve.Problems {
				if pr.File != "kiosk.json" || pr.Message == "" {
					t.Fatalf("problem %+v does not name the file or say what is wrong", pr)
				}
			}
			if p != nil {
				t.Fatal("Parse returned a profile and an error")
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted profile does not validate:\n%v", err)
		}
		_ = p.AAGUIDAllowed(data)
		_ = p.UVFor("Nurse")
		_ = p.AppsFor("Nurse")
	})
}
