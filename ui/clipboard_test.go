package ui

import (
	"testing"

	"fyne.io/fyne/v2/test"
)

// TestClipboardClearerEmptiesAppClipboard: the clearer the kiosk gives the
// sessions empties the app's clipboard.
func TestClipboardClearerEmptiesAppClipboard(t *testing.T) {
	a := test.NewTempApp(t)
	a.Clipboard().SetContent("patient 4711: allergies")
	if err := ClipboardClearer(a)(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := a.Clipboard().Content(); got != "" {
		t.Errorf("clipboard after clearing: %q", got)
	}
}
