package ui

import (
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/shiftgate/shiftgate/agent"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/ instead of comparing")

// assertGolden compares the window's rendering with testdata/name, or
// rewrites it with -update. A mismatch leaves the rendering in
// testdata/failed/name.
func assertGolden(t *testing.T, h *harness, name string) {
	t.Helper()
	img := h.w.Canvas().Capture()
	if *update {
		writePNG(t, filepath.Join("testdata", name), img)
		return
	}
	test.AssertImageMatches(t, name, img)
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// The golden screens: a fixed clock (08:00 UTC), fixed names, the kiosk
// theme, 1280×800.
func TestGoldenScreens(t *testing.T) {
	connected := agent.Event{Event: agent.EventConnected, Site: "north", DeviceName: "North kiosk 1"}
	for _, tc := range []struct {
		name   string
		events []agent.Event
		want   Screen
	}{
		{name: "locked.png", events: []agent.Event{connected}, want: ScreenLocked},
		{name: "active.png", want: ScreenActive, events: []agent.Event{connected, {
			Event: agent.EventSessionStarted, User: "dana.kim", DisplayName: "Dana Kim", Role: "Nurse", SessionID: "s1",
			ExpiresAt: time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC), Apps: []string{"scanner", "timesheet"},
		}}},
		{name: "enrollment.png", events: []agent.Event{connected, armed("dana.kim", "Dana Kim")}, want: ScreenEnrollment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, "dana", "visitor")
			for _, e := range tc.events {
				h.m.Emit(e)
			}
			h.want(tc.want)
			assertGolden(t, h, tc.name)
		})
	}
}
