package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func TestBuiltin(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	names := sortedKeys(all)
	if diff := cmp.Diff([]string{"generic-x86", "rpi5-touch", "thinclient-nfc"}, names); diff != "" {
		t.Errorf("built-in names (-want +got):\n%s", diff)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p := all[name]
			if err := p.Validate(); err != nil {
				t.Errorf("Validate:\n%v", err)
			}
			if p.File != name+".json" || p.Name != name {
				t.Errorf("File, Name = %q, %q; want %q, %q", p.File, p.Name, name+".json", name)
			}
			got, err := Get(name)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if diff := cmp.Diff(p, got); diff != "" {
				t.Errorf("Get differs from Builtin (-builtin +get):\n%s", diff)
			}
			// The copies on disk load the same way.
			loaded, err := Load(name + ".json")
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(p, loaded); diff != "" {
				t.Errorf("Load differs from Builtin (-builtin +load):\n%s", diff)
			}
		})
	}
}

func TestBuiltinValues(t *testing.T) {
	p, err := Get("thinclient-nfc")
	if err != nil {
		t.Fatal(err)
	}
	want := &Profile{
		File:          "thinclient-nfc.json",
		Version:       1,
		Name:          "thinclient-nfc",
		Description:   p.Description,
		Authenticator: Authenticator{Transports: []Transport{TransportNFC}, Reader: ReaderPCSCNFC},
		AllowedAAGUIDs: []uuid.UUID{
			uuid.MustParse("fa2b99dc-9e39-4257-8f92-4a30d23c4118"), // YubiKey 5 NFC, firmware 5.1
			uuid.MustParse("2fc0579f-8113-47ea-b116-bb5a8db9202a"), // YubiKey 5 NFC, firmware 5.2/5.4
			uuid.MustParse("a25342c0-3cdc-4414-8e46-f4807fca511c"), // YubiKey 5 NFC, firmware 5.7
			uuid.MustParse("ee041bce-25e5-4cdb-8f86-897fd6418464"), // Feitian ePass FIDO2-NFC
			uuid.MustParse("260e3021-482d-442d-838c-7edfbe153b7e"), // Feitian ePass FIDO2-NFC Plus
			uuid.MustParse("234cd403-35a2-4cc2-8015-77ea280c77f5"), // Feitian ePass FIDO2-NFC series (CTAP 2.1)
		},
		UserVerification: UserVerification{Default: UVPreferred, Roles: map[string]UV{"Charge Nurse": UVRequired, "Pharmacist": UVRequired}},
		IdleTimeout:      2 * time.Minute,
		MaxSession:       13 * time.Hour,
		OfflineGrace:     30 * time.Minute,
		Display:          Display{Width: 1920, Height: 1080, Scale: 1.5},
		Apps:             p.Apps,
		Teardown: []Step{
			{Action: ActionLockScreen},
			{Action: ActionTerminate, Grace: 3 * time.Second},
			{Action: ActionWipeHome},
			{Action: ActionClearClipboard},
			{Action: ActionNotifyHub},
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("thinclient-nfc (-want +got):\n%s", diff)
	}
}

func TestGetUnknown(t *testing.T) {
	for _, name := range []string{"", "nope", "../firmware-profiles/generic-x86", "generic-x86.json", "GENERIC-X86"} {
		t.Run(name, func(t *testing.T) {
			_, err := Get(name)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get(%q) = %v, want ErrNotFound", name, err)
			}
		})
	}
}

func TestAAGUIDAllowed(t *testing.T) {
	yk := uuid.MustParse("2fc0579f-8113-47ea-b116-bb5a8db9202a")
	other := uuid.MustParse("08987058-cadc-4b81-b6e1-30de50dcbe96") // Windows Hello
	tests := []struct {
		name    string
		profile string
		aaguid  []byte
		want    bool
	}{
		{"listed", "thinclient-nfc", yk[:], true},
		{"not listed", "thinclient-nfc", other[:], false},
		{"zero", "thinclient-nfc", uuid.Nil[:], false},
		{"short", "thinclient-nfc", yk[:15], false},
		{"nil", "thinclient-nfc", nil, false},
		{"any model", "generic-x86", other[:], true},
		{"any model, zero", "generic-x86", uuid.Nil[:], true},
		{"any model, nil", "generic-x86", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Get(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AAGUIDAllowed(tt.aaguid); got != tt.want {
				t.Errorf("AAGUIDAllowed(%x) = %v, want %v", tt.aaguid, got, tt.want)
			}
		})
	}
}

func TestUVFor(t *testing.T) {
	tests := []struct {
		name, profile, role, want string
	}{
		{"role override", "thinclient-nfc", "Pharmacist", "required"},
		{"role with space", "thinclient-nfc", "Charge Nurse", "required"},
		{"default", "thinclient-nfc", "Nurse", "preferred"},
		{"unknown role", "rpi5-touch", "Visitor", "discouraged"},
		{"roles compare without case", "rpi5-touch", "store manager", "required"},
		{"relaxed role", "generic-x86", "Line Operator", "discouraged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Get(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.UVFor(tt.role); got != tt.want {
				t.Errorf("UVFor(%q) = %q, want %q", tt.role, got, tt.want)
			}
		})
	}
}

func TestAppsFor(t *testing.T) {
	ids := func(apps []App) []string {
		var out []string
		for _, a := range apps {
			out = append(out, a.ID)
		}
		return out
	}
	tests := []struct {
		name, profile, role string
		want                []string
	}{
		{"role then any", "generic-x86", "Supervisor", []string{"wms-admin", "shifts", "intranet"}},
		{"role in another case", "generic-x86", "supervisor", []string{"wms-admin", "shifts", "intranet"}},
		{"unknown role gets any", "generic-x86", "Visitor", []string{"intranet"}},
		{"star itself", "generic-x86", "*", []string{"intranet"}},
		{"no star apps", "rpi5-touch", "Associate", []string{"stock", "schedule"}},
		{"nothing", "rpi5-touch", "Visitor", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Get(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(p.AppsFor(tt.role))); diff != "" {
				t.Errorf("AppsFor(%q) ids (-want +got):\n%s", tt.role, diff)
			}
		})
	}

	t.Run("copy", func(t *testing.T) {
		p, err := Get("generic-x86")
		if err != nil {
			t.Fatal(err)
		}
		apps := p.AppsFor("Picker")
		apps[0].Command[0] = "/bin/sh"
		apps[0].ID = "changed"
		if got := p.AppsFor("Picker"); got[0].Command[0] != "/usr/bin/chromium" || got[0].ID != "wms" {
			t.Errorf("changing AppsFor's result changed the profile: %+v", got[0])
		}
	})
}

func TestTerminateGrace(t *testing.T) {
	p, err := Parse("kiosk.json", []byte(patch(t, func(m map[string]any) {
		m["teardown"] = []any{
			map[string]any{"action": "terminate-processes"},
			map[string]any{"action": "wipe-session-home"},
			map[string]any{"action": "lock-screen"},
			map[string]any{"action": "notify-hub"},
		}
	})))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.TerminateGrace(); got != DefaultGrace {
		t.Errorf("TerminateGrace without grace = %v, want %v", got, DefaultGrace)
	}
	rpi, err := Get("thinclient-nfc")
	if err != nil {
		t.Fatal(err)
	}
	if got := rpi.TerminateGrace(); got != 3*time.Second {
		t.Errorf("thinclient-nfc TerminateGrace = %v, want 3s", got)
	}
}

func TestLoadDir(t *testing.T) {
	t.Run("built-in copies", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"generic-x86.json", "rpi5-touch.json"} {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		// Not profiles: ignored.
		if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# local profiles\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(dir, "old.json"), 0o700); err != nil {
			t.Fatal(err)
		}
		got, err := LoadDir(dir)
		if err != nil {
			t.Fatalf("LoadDir: %v", err)
		}
		if diff := cmp.Diff([]string{"generic-x86", "rpi5-touch"}, sortedKeys(got)); diff != "" {
			t.Errorf("names (-want +got):\n%s", diff)
		}
		if f := got["rpi5-touch"].File; f != filepath.Join(dir, "rpi5-touch.json") {
			t.Errorf("File = %q", f)
		}
	})

	t.Run("bad files named", func(t *testing.T) {
		dir := filepath.Join("testdata", "loaddir")
		got, err := LoadDir(dir)
		if got != nil {
			t.Errorf("LoadDir returned profiles with an error: %v", sortedKeys(got))
		}
		want := []Problem{
			{File: filepath.Join(dir, "aisle-7.json"), Field: "maxSession", Message: `"12 hours" is not a duration like "90s", "5m" or "12h"`},
			{File: filepath.Join(dir, "aisle-7.json"), Field: "display.scale", Message: "0 is not greater than 0 and at most 4"},
			{File: filepath.Join(dir, "dock-2.json"), Field: "name", Message: `"dock-3" does not match the file name dock-2.json; name the file dock-3.json or set name to "dock-2"`},
		}
		checkProblems(t, err, want)
	})

	t.Run("missing dir", func(t *testing.T) {
		_, err := LoadDir(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("LoadDir(missing) = %v, want ErrNotExist", err)
		}
	})
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestValidationErrorString(t *testing.T) {
	err := &ValidationError{Problems: []Problem{
		{File: "a.json", Field: "apps.Nurse[1].command", Message: "empty"},
		{File: "a.json", Message: "invalid JSON"},
		{Field: "name", Message: "missing"},
	}}
	want := "a.json: apps.Nurse[1].command: empty\na.json: invalid JSON\nname: missing"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestValidateModified(t *testing.T) {
	p, err := Get("generic-x86")
	if err != nil {
		t.Fatal(err)
	}
	q := *p
	q.IdleTimeout = time.Hour
	q.MaxSession = 30 * time.Minute
	q.Authenticator.Transports = slices.Concat(p.Authenticator.Transports, []Transport{"infrared"})
	q.Apps = map[string][]App{"Nurse": {{ID: "ehr", Label: "EHR", Command: []string{"/usr/bin/ehr"}}, {ID: "x", Label: "X"}}}
	want := []Problem{
		{File: "generic-x86.json", Field: "authenticator.transports[1]", Message: `unknown transport "infrared"; want usb, nfc, ble or internal`},
		{File: "generic-x86.json", Field: "idleTimeout", Message: "1h0m0s is longer than maxSession 30m0s"},
		{File: "generic-x86.json", Field: "apps.Nurse[1].command", Message: "empty; want the program's absolute path and its arguments"},
	}
	checkProblems(t, q.Validate(), want)
	if err := p.Validate(); err != nil {
		t.Errorf("the original changed: %v", err)
	}
}

// Role names compare without case, so two keys that differ only in case
// would name one role twice.
func TestValidateRoleCase(t *testing.T) {
	p, err := Get("rpi5-touch")
	if err != nil {
		t.Fatal(err)
	}
	q := *p
	q.UserVerification.Roles = map[string]UV{"Store Manager": UVRequired, "store manager": UVDiscouraged}
	app := func(id string) []App { return []App{{ID: id, Label: id, Command: []string{"/usr/bin/" + id}}} }
	q.Apps = map[string][]App{"Nurse": app("ehr"), "NURSE": app("web")}
	checkProblems(t, q.Validate(), []Problem{
		{File: "rpi5-touch.json", Field: `userVerification.roles["store manager"]`, Message: `names the same role as "Store Manager": role names compare without case`},
		{File: "rpi5-touch.json", Field: "apps.Nurse", Message: `names the same role as "NURSE": role names compare without case`},
	})
}

// checkProblems compares err's problem list with want.
func checkProblems(t *testing.T, err error, want []Problem) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error = %v (%T), want *ValidationError", err, err)
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nError():\n%s", diff, ve)
	}
}
