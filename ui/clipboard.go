package ui

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
)

// ClipboardClearer returns the kiosk's clipboard clearer, for the firmware
// profile's clear-clipboard teardown step (agent.WithClipboard): it empties
// the app's clipboard — the kiosk takes the X CLIPBOARD selection over with
// empty content, so what the last worker copied cannot be pasted — on the
// Fyne UI thread, as Fyne requires, and gives up when ctx is done (the UI
// thread is not running). The PRIMARY selection (select, middle-click) is
// not Fyne's to clear; it dies with the session's apps.
func ClipboardClearer(app fyne.App) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		done := make(chan struct{})
		fyne.Do(func() {
			app.Clipboard().SetContent("")
			close(done)
		})
		select {
		case <-done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("clear the kiosk clipboard: the UI did not run it: %w", ctx.Err())
		}
	}
}
