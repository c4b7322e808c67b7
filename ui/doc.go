// Package ui is the kiosk screen: it renders the agent core's state, as the
// agent reports it in Events, and sends the worker's intents (a badge tap,
// sign out, and every bit of input, which keeps the session from idling
// out) back to the core. It holds no business logic: what a screen
// says is decided by the event that put it there, never by the UI.
//
// Its texts are in messages.go, in English, and translated in
// translations/; a Model shows the language of its Texts (NewTexts).
//
// Only the kiosk binary (ui/cmd/shiftgate-kiosk) imports
// fyne.io/fyne/v2/app, so this package builds and tests with Fyne's
// headless test driver, without cgo or a display.
package ui
