package profiles

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// base is a small valid profile, file name kiosk.json.
const base = `{
  "version": 1,
  "name": "kiosk",
  "description": "Test kiosk.",
  "authenticator": {"transports": ["usb", "nfc"], "reader": "pcsc-nfc"},
  "allowedAAGUIDs": ["2fc0579f-8113-47ea-b116-bb5a8db9202a"],
  "userVerification": {"default": "preferred", "roles": {"Nurse": "required"}},
  "idleTimeout": "5m",
  "maxSession": "12h",
  "display": {"width": 800, "height": 480, "scale": 1},
  "apps": {
    "*": [{"id": "web", "label": "Web", "command": ["/usr/bin/chromium", "--kiosk"]}],
    "Nurse": [{"id": "ehr", "label": "Patient record", "command": ["/usr/bin/ehr"]}]
  },
  "teardown": [
    {"action": "terminate-processes", "grace": "2s"},
    {"action": "wipe-session-home"},
    {"action": "lock-screen"},
    {"action": "notify-hub"}
  ]
}`

// patch returns base with edit applied to its decoded form.
func patch(t testing.TB, edit func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// obj returns m[key] as an object, for nested edits.
func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func TestParseBase(t *testing.T) {
	p, err := Parse("kiosk.json", []byte(base))
	if err != nil {
		t.Fatalf("Parse:\n%v", err)
	}
	want := &Profile{
		File:             "kiosk.json",
		Version:          1,
		Name:             "kiosk",
		Description:      "Test kiosk.",
		Authenticator:    Authenticator{Transports: []Transport{TransportUSB, TransportNFC}, Reader: ReaderPCSCNFC},
		AllowedAAGUIDs:   []uuid.UUID{uuid.MustParse("2fc0579f-8113-47ea-b116-bb5a8db9202a")},
		UserVerification: UserVerification{Default: UVPreferred, Roles: map[string]UV{"Nurse": UVRequired}},
		IdleTimeout:      5 * time.Minute,
		MaxSession:       12 * time.Hour,
		OfflineGrace:     DefaultOfflineGrace, // none given
		Display:          Display{Width: 800, Height: 480, Scale: 1},
		Apps: map[string][]App{
			"*":     {{ID: "web", Label: "Web", Command: []string{"/usr/bin/chromium", "--kiosk"}}},
			"Nurse": {{ID: "ehr", Label: "Patient record", Command: []string{"/usr/bin/ehr"}}},
		},
		Teardown: []Step{
			{Action: ActionTerminate, Grace: 2 * time.Second},
			{Action: ActionWipeHome},
			{Action: ActionLockScreen},
			{Action: ActionNotifyHub},
		},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	// A path works as the file name too.
	if _, err := Parse(filepath.Join("site", "ward-3", "kiosk.json"), []byte(base)); err != nil {
		t.Errorf("Parse with a path: %v", err)
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		file string // default kiosk.json
		data string
		want []Problem // File defaults to the test's file
	}{
		{
			name: "unknown fields at every level",
			data: strings.Replace(strings.Replace(strings.Replace(base,
				`"version": 1,`, `"version": 1, "color": "blue",`, 1),
				`"reader": "pcsc-nfc"`, `"reader": "pcsc-nfc", "vendor": "acs"`, 1),
				`"label": "Web",`, `"label": "Web", "icon": "web.png",`, 1),
			want: []Problem{
				{Field: "color", Message: "unknown field"},
				{Field: "authenticator.vendor", Message: "unknown field"},
				{Field: "apps.*[0].icon", Message: "unknown field"},
			},
		},
		{
			name: "misspelt field is unknown and the real one missing",
			data: strings.Replace(base, `"idleTimeout"`, `"idleTimout"`, 1),
			want: []Problem{
				{Field: "idleTimout", Message: "unknown field"},
				{Field: "idleTimeout", Message: `missing; want a duration like "5m"`},
			},
		},
		{
			name: "keys are case-sensitive",
			data: strings.Replace(base, `"maxSession"`, `"MaxSession"`, 1),
			want: []Problem{
				{Field: "MaxSession", Message: "unknown field"},
			},
		},
		{
			name: "duplicate key",
			data: strings.Replace(base, `"Nurse": [`, `"Nurse": [], "Nurse": [`, 1),
			want: []Problem{{Field: "apps.Nurse", Message: "duplicate key"}},
		},
		{
			name: "wrong types",
			data: patch(t, func(m map[string]any) {
				m["version"] = "1"
				obj(m, "display")["width"] = 800.5
				obj(m, "display")["height"] = nil
				obj(m, "authenticator")["transports"] = "usb"
				m["teardown"].([]any)[0].(map[string]any)["grace"] = 2
			}),
			want: []Problem{
				{Field: "version", Message: "got a string, want an integer"},
				{Field: "authenticator.transports", Message: "got a string, want an array"},
				{Field: "display.height", Message: "got null, want an integer"},
				{Field: "display.width", Message: "got the number 800.5, want an integer"},
				{Field: "teardown[0].grace", Message: "got the number 2, want a string"},
			},
		},
		{
			name: "wrong version",
			data: patch(t, func(m map[string]any) { m["version"] = 2 }),
			want: []Problem{{Field: "version", Message: "unsupported version 2; this build reads version 1"}},
		},
		{
			name: "missing version",
			data: patch(t, func(m map[string]any) { delete(m, "version") }),
			want: []Problem{{Field: "version", Message: "missing; must be 1"}},
		},
		{
			name: "name and file mismatch",
			file: filepath.Join("profiles", "kiosk-2.json"),
			data: base,
			want: []Problem{{Field: "name", Message: `"kiosk" does not match the file name kiosk-2.json; name the file kiosk.json or set name to "kiosk-2"`}},
		},
		{
			name: "bad name",
			file: "Kiosk_1.json",
			data: patch(t, func(m map[string]any) { m["name"] = "Kiosk_1" }),
			want: []Problem{{Field: "name", Message: `"Kiosk_1" must be lowercase letters, digits and dashes, starting with a letter or digit, at most 63 characters`}},
		},
		{
			name: "empty object",
			data: `{}`,
			want: []Problem{
				{Field: "version", Message: "missing; must be 1"},
				{Field: "name", Message: "missing"},
				{Field: "description", Message: "missing"},
				{Field: "authenticator.transports", Message: "missing; list at least one of usb, nfc, ble, internal"},
				{Field: "authenticator.reader", Message: "missing; want none, usb-hid, pcsc-nfc or ble"},
				{Field: "allowedAAGUIDs", Message: "missing; list the AAGUIDs of the authenticator models allowed, or [] for any model"},
				{Field: "userVerification.default", Message: "missing; want required, preferred or discouraged"},
				{Field: "idleTimeout", Message: `missing; want a duration like "5m"`},
				{Field: "maxSession", Message: `missing; want a duration like "12h"`},
				{Field: "display.width", Message: "0 is not between 1 and 16384 pixels"},
				{Field: "display.height", Message: "0 is not between 1 and 16384 pixels"},
				{Field: "display.scale", Message: "0 is not greater than 0 and at most 4"},
				{Field: "apps", Message: "no apps; a session would show an empty screen"},
				{Field: "teardown", Message: "missing required step(s): terminate-processes, wipe-session-home, lock-screen, notify-hub"},
			},
		},
		{
			name: "transports and reader",
			data: patch(t, func(m map[string]any) {
				obj(m, "authenticator")["transports"] = []any{"usb", "infrared", "usb", "ble"}
				obj(m, "authenticator")["reader"] = "usb-hid"
			}),
			want: []Problem{
				{Field: "authenticator.transports[1]", Message: `unknown transport "infrared"; want usb, nfc, ble or internal`},
				{Field: "authenticator.transports[2]", Message: "duplicate of authenticator.transports[0]"},
				{Field: "authenticator.transports[3]", Message: "transport ble needs reader ble, but reader is usb-hid"},
			},
		},
		{
			name: "nfc reader without nfc transport",
			data: patch(t, func(m map[string]any) {
				obj(m, "authenticator")["transports"] = []any{"usb"}
				obj(m, "authenticator")["reader"] = "pcsc-nfc"
			}),
			want: []Problem{{Field: "authenticator.reader", Message: "reader pcsc-nfc serves transport nfc, which authenticator.transports does not list"}},
		},
		{
			name: "unknown reader",
			data: patch(t, func(m map[string]any) { obj(m, "authenticator")["reader"] = "magstripe" }),
			want: []Problem{{Field: "authenticator.reader", Message: `unknown reader "magstripe"; want none, usb-hid, pcsc-nfc or ble`}},
		},
		{
			name: "bad AAGUIDs",
			data: patch(t, func(m map[string]any) {
				m["allowedAAGUIDs"] = []any{
					"2fc0579f-8113-47ea-b116-bb5a8db9202a",
					"yubikey",
					"2fc0579f811347eab116bb5a8db9202a",
					"00000000-0000-0000-0000-000000000000",
					"2FC0579F-8113-47EA-B116-BB5A8DB9202A",
				}
			}),
			want: []Problem{
				{Field: "allowedAAGUIDs[1]", Message: `"yubikey" is not a UUID like 2fc0579f-8113-47ea-b116-bb5a8db9202a`},
				{Field: "allowedAAGUIDs[2]", Message: `"2fc0579f811347eab116bb5a8db9202a" is not a UUID like 2fc0579f-8113-47ea-b116-bb5a8db9202a`},
				{Field: "allowedAAGUIDs[3]", Message: "the all-zero AAGUID identifies no model (it is what unattested authenticators send); remove it"},
				{Field: "allowedAAGUIDs[4]", Message: "duplicate of allowedAAGUIDs[0]"},
			},
		},
		{
			name: "user verification",
			data: patch(t, func(m map[string]any) {
				obj(m, "userVerification")["default"] = "always"
				obj(m, "userVerification")["roles"] = map[string]any{"Nurse": "", "*": "required", "Charge Nurse": "Required"}
			}),
			want: []Problem{
				{Field: "userVerification.default", Message: `"always" is not required, preferred or discouraged`},
				{Field: "userVerification.roles.*", Message: `"*" is not a role; use userVerification.default`},
				{Field: `userVerification.roles["Charge Nurse"]`, Message: `"Required" is not required, preferred or discouraged`},
				{Field: "userVerification.roles.Nurse", Message: "missing; want required, preferred or discouraged"},
			},
		},
		{
			name: "bad durations",
			data: patch(t, func(m map[string]any) {
				m["idleTimeout"] = "5 minutes"
				m["maxSession"] = "12"
				m["teardown"].([]any)[0].(map[string]any)["grace"] = "soon"
			}),
			want: []Problem{
				{Field: "idleTimeout", Message: `"5 minutes" is not a duration like "90s", "5m" or "12h"`},
				{Field: "maxSession", Message: `"12" is not a duration like "90s", "5m" or "12h"`},
				{Field: "teardown[0].grace", Message: `"soon" is not a duration like "90s", "5m" or "12h"`},
			},
		},
		{
			name: "idleTimeout longer than maxSession",
			data: patch(t, func(m map[string]any) { m["idleTimeout"] = "2h"; m["maxSession"] = "90m" }),
			want: []Problem{{Field: "idleTimeout", Message: "2h0m0s is longer than maxSession 1h30m0s"}},
		},
		{
			name: "offlineGrace too short",
			data: patch(t, func(m map[string]any) { m["offlineGrace"] = "30s" }),
			want: []Problem{{Field: "offlineGrace", Message: "30s is shorter than the minimum 1m0s"}},
		},
		{
			name: "offlineGrace longer than maxSession",
			data: patch(t, func(m map[string]any) { m["offlineGrace"] = "2h"; m["maxSession"] = "90m" }),
			want: []Problem{{Field: "offlineGrace", Message: "2h0m0s is longer than maxSession 1h30m0s"}},
		},
		{
			name: "offlineGrace not a duration",
			data: patch(t, func(m map[string]any) { m["offlineGrace"] = "forever" }),
			want: []Problem{{Field: "offlineGrace", Message: `"forever" is not a duration like "90s", "5m" or "12h"`}},
		},
		{
			name: "duration limits",
			data: patch(t, func(m map[string]any) { m["idleTimeout"] = "5s"; m["maxSession"] = "-1h" }),
			want: []Problem{
				{Field: "idleTimeout", Message: "5s is shorter than the minimum 10s"},
				{Field: "maxSession", Message: "-1h0m0s is negative"},
			},
		},
		{
			name: "maxSession too long",
			data: patch(t, func(m map[string]any) { m["maxSession"] = "36h" }),
			want: []Problem{{Field: "maxSession", Message: "36h0m0s is longer than the maximum 24h0m0s"}},
		},
		{
			name: "display",
			data: patch(t, func(m map[string]any) {
				m["display"] = map[string]any{"width": -1, "height": 20000, "scale": 5}
			}),
			want: []Problem{
				{Field: "display.width", Message: "-1 is not between 1 and 16384 pixels"},
				{Field: "display.height", Message: "20000 is not between 1 and 16384 pixels"},
				{Field: "display.scale", Message: "5 is not greater than 0 and at most 4"},
			},
		},
		{
			name: "apps",
			data: patch(t, func(m map[string]any) {
				m["apps"] = map[string]any{
					"*": []any{map[string]any{"id": "web", "label": "Web", "command": []any{"/usr/bin/chromium"}}},
					"Nurse": []any{
						map[string]any{"id": "ehr", "label": "EHR", "command": []any{"/usr/bin/ehr"}},
						map[string]any{"id": "ehr", "label": "", "command": []any{}},
						map[string]any{"id": "web", "label": "Web", "command": []any{"chromium", "--kiosk"}},
						map[string]any{"id": "Bad ID", "label": " "},
					},
					"":             []any{map[string]any{"id": "x", "label": "X", "command": []any{"/bin/x"}}},
					"Charge Nurse": []any{map[string]any{"label": "Beds", "command": []any{"/usr/bin/beds"}}},
				}
			}),
			want: []Problem{
				{Field: `apps[""]`, Message: "empty role name"},
				{Field: `apps["Charge Nurse"][0].id`, Message: "missing"},
				{Field: "apps.Nurse[1].id", Message: `duplicate app id "ehr" (also apps.Nurse[0])`},
				{Field: "apps.Nurse[1].label", Message: "missing"},
				{Field: "apps.Nurse[1].command", Message: "empty; want the program's absolute path and its arguments"},
				{Field: "apps.Nurse[2].id", Message: `duplicate app id "web" (also apps.*[0], which every role gets)`},
				{Field: "apps.Nurse[2].command[0]", Message: `"chromium" is not an absolute path; the agent does not search PATH`},
				{Field: "apps.Nurse[3].id", Message: `"Bad ID" must be lowercase letters, digits, dots, dashes and underscores`},
				{Field: "apps.Nurse[3].label", Message: "missing"},
				{Field: "apps.Nurse[3].command", Message: "empty; want the program's absolute path and its arguments"},
			},
		},
		{
			name: "no apps",
			data: patch(t, func(m map[string]any) { m["apps"] = map[string]any{"Nurse": []any{}} }),
			want: []Problem{{Field: "apps", Message: "no apps; a session would show an empty screen"}},
		},
		{
			name: "teardown without terminate-processes",
			data: patch(t, func(m map[string]any) {
				m["teardown"] = []any{
					map[string]any{"action": "wipe-session-home"},
					map[string]any{"action": "lock-screen"},
					map[string]any{"action": "notify-hub"},
				}
			}),
			want: []Problem{{Field: "teardown", Message: "missing required step(s): terminate-processes"}},
		},
		{
			name: "teardown steps",
			data: patch(t, func(m map[string]any) {
				m["teardown"] = []any{
					map[string]any{"action": "notify-hub"},
					map[string]any{"action": "wipe-session-home"},
					map[string]any{"action": "terminate-processes", "grace": "2m"},
					map[string]any{"action": "reboot"},
					map[string]any{"action": "lock-screen", "grace": "1s"},
					map[string]any{"action": "lock-screen"},
					map[string]any{},
				}
			}),
			want: []Problem{
				{Field: "teardown[2].grace", Message: "2m0s is not between 0s and 1m0s"},
				{Field: "teardown[3].action", Message: `unknown step "reboot"; want terminate-processes, wipe-session-home, clear-clipboard, lock-screen or notify-hub`},
				{Field: "teardown[4].grace", Message: "only terminate-processes takes a grace"},
				{Field: "teardown[5].action", Message: "duplicate of teardown[4]"},
				{Field: "teardown[6].action", Message: "missing"},
				{Field: "teardown[1].action", Message: "wipe-session-home must come after terminate-processes (teardown[2]): running processes could write the home again"},
				{Field: "teardown[0].action", Message: "notify-hub must be the last step: the hub's ack means teardown is complete"},
			},
		},
		{
			name: "invalid JSON",
			data: "{\n  \"version\": 1,\n  \"name\": \"kiosk\"\n  \"description\": \"x\"\n}",
			want: []Problem{{Message: "invalid JSON at line 4, column 3: invalid character '\"' after object key:value pair"}},
		},
		{
			name: "truncated",
			data: base[:100],
			want: []Problem{{Message: "invalid JSON: unexpected end of file"}},
		},
		{
			name: "empty file",
			data: "",
			want: []Problem{{Message: "invalid JSON: unexpected end of file"}},
		},
		{
			name: "not an object",
			data: `[1, 2]`,
			want: []Problem{{Message: "got an array, want an object"}},
		},
		{
			name: "trailing data",
			data: base + "\n{}",
			want: []Problem{{Message: "unexpected data after the profile object"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "kiosk.json"
			}
			for i := range tt.want {
				tt.want[i].File = file
			}
			p, err := Parse(file, []byte(tt.data))
			if p != nil {
				t.Errorf("Parse returned a profile with problems")
			}
			checkProblems(t, err, tt.want)
		})
	}
}

// TestParseTestdata checks the broken files in testdata/broken against their
// expected problem lists (NAME.json → NAME.problems, one Error() line each).
// Run with -update to rewrite the .problems files.
func TestParseTestdata(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "broken", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, err := Load(file)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Load = %v, want *ValidationError", err)
			}
			golden := strings.TrimSuffix(file, ".json") + ".problems"
			got := filepath.ToSlash(ve.Error()) + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("problems (-%s +got):\n%s", golden, diff)
			}
		})
	}
}

// A profile without offlineGrace gets the default, or its maxSession when
// that is shorter: a profile valid before the field existed stays valid.
func TestOfflineGraceDefault(t *testing.T) {
	for _, tc := range []struct {
		maxSession string
		want       time.Duration
	}{
		{"12h", DefaultOfflineGrace},
		{"10m", 10 * time.Minute},
		{"30s", 30 * time.Second},
	} {
		data := patch(t, func(m map[string]any) {
			m["maxSession"] = tc.maxSession
			m["idleTimeout"] = "10s"
			delete(m, "offlineGrace")
		})
		p, err := Parse("kiosk.json", []byte(data))
		if err != nil {
			t.Errorf("maxSession %s: %v", tc.maxSession, err)
			continue
		}
		if p.OfflineGrace != tc.want {
			t.Errorf("maxSession %s: offlineGrace %s, want %s", tc.maxSession, p.OfflineGrace, tc.want)
		}
	}
}
