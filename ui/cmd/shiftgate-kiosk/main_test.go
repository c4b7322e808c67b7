package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestParse: the command line's mistakes are usage errors (exit status
// 2) that say what is wrong.
func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // error text; "" for none
	}{
		{"demo", []string{"--demo"}, ""},
		{"state", []string{"--state", "s", "--authenticator", "soft:b"}, ""},
		{"nothing", nil, "--state and --authenticator are required (or --demo)"},
		{"demo with state", []string{"--demo", "--state", "s"}, "leave out --state"},
		{"demo with badges", []string{"--demo", "--badges", "a"}, "leave out --state, --authenticator and --badges"},
		{"screenshot alone", []string{"--demo", "--screenshot", "x.png"}, "go together"},
		{"arguments", []string{"--demo", "extra"}, "unexpected arguments"},
		{"fido2", []string{"--state", "s", "--authenticator", "fido2"}, ""},
		{"fido2 with badges", []string{"--state", "s", "--authenticator", "fido2", "--badges", "a"}, "with --authenticator fido2 the badge reader taps"},
		{"unknown flag", []string{"--demo", "--language", "de"}, "flag provided but not defined: -language"},
		{"warning", []string{"--demo", "--warning", "0s"}, "--warning 0s: must be positive"},
		{"lang", []string{"--demo", "--lang", "pl"}, ""},
		{"lang, region", []string{"--demo", "--lang", "de-AT"}, ""},
		{"lang unknown", []string{"--demo", "--lang", "pt-BR"}, "--lang pt-BR: unknown language: the kiosk has no texts in pt-BR, nor in pt; it has texts in de, en, es, fr, pl"},
		{"lang unknown, no region", []string{"--demo", "--lang", "it"}, "--lang it: unknown language: the kiosk has no texts in it; it has texts in de, en, es, fr, pl"},
		{"lang not a tag", []string{"--demo", "--lang", "german"}, `--lang german: unknown language: "german" is not a BCP 47 tag (such as de or pt-BR); the kiosk has texts in de, en, es, fr, pl`},
		{"lang C", []string{"--demo", "--lang", "C"}, "--lang C: unknown language"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var usage bytes.Buffer
			_, err := parse(tc.args, noEnv, &usage)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("parse(%q): %v", tc.args, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("parse(%q) = %v, want an error saying %q", tc.args, err, tc.want)
			}
			if err == nil {
				return
			}
			var stderr bytes.Buffer
			if code := exitCode(err, &stderr); code != 2 {
				t.Errorf("parse(%q): exit %d, want 2 (usage)", tc.args, code)
			}
			if want := "shiftgate-kiosk: " + err.Error() + "\n"; stderr.String() != want {
				t.Errorf("stderr %q, want %q", stderr.String(), want)
			}
		})
	}
	// -h prints the flags, --lang and its languages among them, and is no error.
	var usage bytes.Buffer
	_, err := parse([]string{"-h"}, noEnv, &usage)
	if code := exitCode(err, io.Discard); code != 0 {
		t.Errorf("-h: exit %d, want 0", code)
	}
	if !strings.Contains(usage.String(), "-lang") || !strings.Contains(usage.String(), "de, en, es, fr, pl") {
		t.Errorf("-h does not describe --lang and its languages:\n%s", usage.String())
	}
}

// noEnv is an environment with nothing set.
func noEnv(string) string { return "" }

// TestLanguageChoice: the screen's language is --lang's, or the locale's
// for messages (LC_ALL, then LC_MESSAGES, then LANG, the first set and not
// empty), in its base language when the kiosk has no texts in its region's,
// and English for C and POSIX, no locale, or a language the kiosk does not
// have. The locale never stops the kiosk; --lang is checked (TestParse).
func TestLanguageChoice(t *testing.T) {
	for _, tc := range []struct {
		name string
		lang string
		env  map[string]string
		want string
	}{
		{"nothing set", "", nil, "en"},
		{"flag", "de", nil, "de"},
		{"flag over the locale", "es", map[string]string{"LC_ALL": "pl_PL.UTF-8", "LANG": "fr_FR.UTF-8"}, "es"},
		{"flag English over the locale", "en", map[string]string{"LANG": "de_DE.UTF-8"}, "en"},
		{"flag region", "fr-CA", nil, "fr"},
		{"LANG", "", map[string]string{"LANG": "fr_FR.UTF-8"}, "fr"},
		{"LC_MESSAGES over LANG", "", map[string]string{"LC_MESSAGES": "de_DE.UTF-8", "LANG": "fr_FR.UTF-8"}, "de"},
		{"LC_ALL over LC_MESSAGES and LANG", "", map[string]string{"LC_ALL": "pl_PL.UTF-8", "LC_MESSAGES": "de_DE.UTF-8", "LANG": "fr_FR.UTF-8"}, "pl"},
		{"empty LC_ALL is not set", "", map[string]string{"LC_ALL": "", "LANG": "es_ES.UTF-8"}, "es"},
		{"base language", "", map[string]string{"LANG": "es_MX.UTF-8"}, "es"},
		{"base language of de_AT", "", map[string]string{"LANG": "de_AT"}, "de"},
		{"language only", "", map[string]string{"LANG": "pl"}, "pl"},
		{"modifier", "", map[string]string{"LANG": "de_DE.UTF-8@euro"}, "de"},
		{"no texts in it nor its base", "", map[string]string{"LANG": "pt_BR.UTF-8"}, "en"},
		{"LC_ALL=C over LANG", "", map[string]string{"LC_ALL": "C", "LANG": "de_DE.UTF-8"}, "en"},
		{"LC_MESSAGES=POSIX over LANG", "", map[string]string{"LC_MESSAGES": "POSIX", "LANG": "de_DE.UTF-8"}, "en"},
		{"C.UTF-8", "", map[string]string{"LANG": "C.UTF-8"}, "en"},
		{"a name that is no locale", "", map[string]string{"LANG": "/usr/lib/locale/custom"}, "en"},
		{"English locale", "", map[string]string{"LANG": "en_GB.UTF-8"}, "en"},
		// GNU gettext's LANGUAGE list comes first, as for every other
		// program on the kiosk, but not under C or with no locale.
		{"LANGUAGE over the locale", "", map[string]string{"LANGUAGE": "pl:de", "LANG": "fr_FR.UTF-8"}, "pl"},
		{"LANGUAGE over LC_ALL", "", map[string]string{"LANGUAGE": "de_DE", "LC_ALL": "es_ES.UTF-8"}, "de"},
		{"LANGUAGE entries the kiosk lacks are skipped", "", map[string]string{"LANGUAGE": "pt_BR:it:es", "LANG": "fr_FR.UTF-8"}, "es"},
		{"LANGUAGE with none the kiosk has", "", map[string]string{"LANGUAGE": "pt_BR:it", "LANG": "fr_FR.UTF-8"}, "fr"},
		{"LANGUAGE empty entries", "", map[string]string{"LANGUAGE": "::de:", "LANG": "fr_FR.UTF-8"}, "de"},
		{"LANGUAGE C entry stops at English", "", map[string]string{"LANGUAGE": "it:C:de", "LANG": "fr_FR.UTF-8"}, "en"},
		{"LANGUAGE ignored under LC_ALL=C", "", map[string]string{"LANGUAGE": "pl", "LC_ALL": "C", "LANG": "de_DE.UTF-8"}, "en"},
		{"LANGUAGE ignored under C.UTF-8", "", map[string]string{"LANGUAGE": "pl", "LANG": "C.UTF-8"}, "en"},
		{"LANGUAGE ignored without a locale", "", map[string]string{"LANGUAGE": "pl"}, "en"},
		{"flag over LANGUAGE", "fr", map[string]string{"LANGUAGE": "pl", "LANG": "de_DE.UTF-8"}, "fr"},
		{"Latin Serbian, which the kiosk lacks", "", map[string]string{"LANG": "sr_RS@latin"}, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			texts, err := chooseTexts(tc.lang, getenv)
			if err != nil {
				t.Fatalf("chooseTexts(%q, %v): %v", tc.lang, tc.env, err)
			}
			if got := texts.Language(); got != tc.want {
				t.Errorf("chooseTexts(%q, %v) = %s, want %s", tc.lang, tc.env, got, tc.want)
			}
			// parse gives the kiosk that language.
			args := []string{"--demo"}
			if tc.lang != "" {
				args = append(args, "--lang", tc.lang)
			}
			o, err := parse(args, getenv, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.texts.Language(); got != tc.want {
				t.Errorf("parse(%q) with %v: language %s, want %s", args, tc.env, got, tc.want)
			}
		})
	}
}

// TestKioskUnderXvfb runs the real kiosk binary in its --demo mode (an
// in-process hub with demo users and virtual badges) in a real X server
// (Xvfb, Mesa's software GL), screenshots the locked screen, signs in
// with the keyboard (Tab to the first badge, Return) and screenshots the
// active screen. The screenshots go to $SHIFTGATE_ARTIFACTS, or
// var/artifacts/ in the repository.
func TestKioskUnderXvfb(t *testing.T) {
	for _, tool := range []string{"xvfb-run", "Xvfb", "xauth", "import", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (%v): run `make deps`, which installs xvfb, xauth, imagemagick and xdotool", tool, err)
		}
	}
	bin := buildKiosk(t)
	artifacts := artifactsDir(t)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// The wrapper says which display xvfb-run chose, and its PID, which
	// exec makes the kiosk's.
	cmd := exec.CommandContext(ctx, "xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
		"sh", "-c", `echo "display $$ $DISPLAY $XAUTHORITY"; exec "$0" "$@"`, bin, "--demo", "--fullscreen", "--exit-after", "90s")
	cmd.Env = append(envWithout("DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "LANG", "LC_ALL"), "LANG=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) } // the whole group, as a last resort
	cmd.WaitDelay = 10 * time.Second
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("xvfb-run: %v", err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kiosk stderr:\n%s", stderr.String())
		}
	})

	var kioskPID int
	var xenv []string
	events := make(chan map[string]any, 64)
	select {
	case l, ok := <-lines:
		f := strings.Fields(l)
		if !ok || len(f) != 4 || f[0] != "display" {
			t.Fatalf("xvfb-run did not start the kiosk: %q", l)
		}
		kioskPID, _ = strconv.Atoi(f[1])
		xenv = append(envWithout("DISPLAY", "XAUTHORITY"), "DISPLAY="+f[2], "XAUTHORITY="+f[3])
	case <-ctx.Done():
		t.Fatal("xvfb-run said nothing")
	}
	go func() {
		defer close(events)
		for l := range lines {
			var e map[string]any
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Errorf("kiosk stdout line is not a JSON event: %q", l)
				continue
			}
			events <- e
		}
	}()
	defer func() {
		// Stop the kiosk as systemd would; xvfb-run then stops Xvfb and
		// returns the kiosk's exit status.
		if kioskPID > 0 {
			syscall.Kill(kioskPID, syscall.SIGTERM)
		}
		if err := <-exited; err != nil {
			t.Errorf("kiosk did not exit cleanly on SIGTERM: %v", err)
		}
	}()

	waitEvent(t, ctx, events, "connected")
	locked := screenshot(t, ctx, xenv, nil)
	writeArtifact(t, artifacts, "kiosk-locked.png", locked)

	// Keyboard only: Tab focuses the first demo badge (amira), Return
	// presses it.
	xdotool(t, ctx, xenv, "key", "Tab", "key", "Return")
	started := waitEvent(t, ctx, events, "session.started")
	if started["user"] != "amira.haddad" || started["role"] != "Nurse" {
		t.Errorf("session.started = %v, want amira.haddad as Nurse", started)
	}
	active := screenshot(t, ctx, xenv, locked)
	writeArtifact(t, artifacts, "kiosk-active.png", active)

	li, ai := decodePNG(t, "locked", locked), decodePNG(t, "active", active)
	for name, img := range map[string]image.Image{"locked": li, "active": ai} {
		if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 800 {
			t.Errorf("%s screenshot is %v, want 1280×800", name, b)
		}
		if n := colors(img); n < 3 {
			t.Errorf("%s screenshot is blank (%d colours)", name, n)
		}
	}
	if d := differing(li, ai); d < 1000 {
		t.Errorf("locked and active screenshots differ in only %d pixels", d)
	}

	// Escape signs out: session.ending as the teardown starts, then
	// session.ended. The badge that Tab and Return pressed has left the
	// screen with the locked screen, so a Return on the ended screen
	// presses nothing (the focus used to stay on it, and Return signed
	// amira in again); Tab and Return still sign in.
	xdotool(t, ctx, xenv, "key", "Escape")
	if e := waitEvent(t, ctx, events, "session.ending"); e["user"] != "amira.haddad" || e["reason"] != "signout" || e["session_id"] != started["session_id"] {
		t.Errorf("session.ending = %v, want amira.haddad's session, signout", e)
	}
	waitEvent(t, ctx, events, "session.ended")
	screenshot(t, ctx, xenv, active) // the ended screen is up
	xdotool(t, ctx, xenv, "key", "Return")
	noEvent(t, ctx, events, 1500*time.Millisecond, "badge.read", "session.started", "login.refused")
	xdotool(t, ctx, xenv, "key", "Tab", "key", "Return")
	if again := waitEvent(t, ctx, events, "session.started"); again["user"] != "amira.haddad" {
		t.Errorf("Tab and Return after a sign-out: session.started = %v", again)
	}
}

// xdotool runs xdotool with args on the X display of xenv.
func xdotool(t *testing.T, ctx context.Context, xenv []string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = xenv
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// noEvent fails if the kiosk prints one of the events names within d.
func noEvent(t *testing.T, ctx context.Context, events <-chan map[string]any, d time.Duration, names ...string) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("the kiosk stopped")
			}
			if name, _ := e["event"].(string); slices.Contains(names, name) {
				t.Fatalf("unexpected %s: %v", name, e)
			}
		case <-deadline:
			return
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// buildKiosk builds this package's binary, with the race detector when
// this test has it, so the build reuses what the test's build compiled.
func buildKiosk(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shiftgate-kiosk")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// artifactsDir is $SHIFTGATE_ARTIFACTS, or var/artifacts in the
// repository (var/ is ignored by git), created if need be.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SHIFTGATE_ARTIFACTS")
	if dir == "" {
		root, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(root)
			if parent == root {
				t.Fatal("no go.mod above the test's directory")
			}
			root = parent
		}
		dir = filepath.Join(root, "var", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeArtifact(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func envWithout(names ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// waitEvent returns the kiosk's next event named name.
func waitEvent(t *testing.T, ctx context.Context, events <-chan map[string]any, name string) map[string]any {
	t.Helper()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("the kiosk stopped before %s", name)
			}
			if e["event"] == name {
				return e
			}
		case <-ctx.Done():
			t.Fatalf("no %s event: %v", name, ctx.Err())
		}
	}
}

// screenshot captures the X screen as PNG once the picture has settled:
// not blank, the same in two captures in a row, and, when not is given,
// different from it. A frame reaches the screen a little after the event
// that asked for it, and nothing says when: the screen itself is watched.
func screenshot(t *testing.T, ctx context.Context, xenv []string, not []byte) []byte {
	t.Helper()
	var prev []byte
	for {
		cmd := exec.CommandContext(ctx, "import", "-window", "root", "png:-")
		cmd.Env = xenv
		var errb bytes.Buffer
		cmd.Stderr = &errb
		shot, err := cmd.Output()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("import: %v; the screen never settled", ctx.Err())
			}
			t.Fatalf("import: %v: %s", err, errb.String())
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("import wrote no PNG: %v", err)
		}
		if colors(img) > 2 && bytes.Equal(shot, prev) && (not == nil || !bytes.Equal(shot, not)) {
			return shot
		}
		prev = shot
		select {
		case <-ctx.Done():
			t.Fatalf("the screen never settled: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func decodePNG(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s screenshot: %v", name, err)
	}
	return img
}

// colors counts img's distinct colours, up to 16.
func colors(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
			if len(seen) >= 16 {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// differing counts the pixels in which a and b differ.
func differing(a, b image.Image) int {
	n := 0
	r := a.Bounds().Intersect(b.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				n++
			}
		}
	}
	return n
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLocaleLanguage: a POSIX locale name becomes a BCP 47 tag: the
// codeset goes, a modifier that names a script becomes its subtag, other
// modifiers go; C, POSIX and "" are none.
func TestLocaleLanguage(t *testing.T) {
	for _, tc := range []struct{ locale, want string }{
		{"de_DE.UTF-8", "de-DE"},
		{"de_DE.UTF-8@euro", "de-DE"},
		{"de_DE@euro", "de-DE"},
		{"sr_RS@latin", "sr-Latn-RS"},
		{"sr_RS.UTF-8@latin", "sr-Latn-RS"},
		{"sr@latin", "sr-Latn"},
		{"uz_UZ@cyrillic", "uz-Cyrl-UZ"},
		{"ca_ES@valencia", "ca-ES"},
		{"zh_Hant_TW", "zh-Hant-TW"},
		{"pl", "pl"},
		{"", ""}, {"C", ""}, {"POSIX", ""}, {"C.UTF-8", ""}, {"C@euro", ""},
	} {
		if got := localeLanguage(tc.locale); got != tc.want {
			t.Errorf("localeLanguage(%q) = %q, want %q", tc.locale, got, tc.want)
		}
	}
}
