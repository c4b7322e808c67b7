package ui

import (
	"slices"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// fakeIntents records the intents the screen sends; Activity calls are
// counted apart.
type fakeIntents struct {
	mu         sync.Mutex
	calls      []string
	activities int
}

func (f *fakeIntents) Tap(name string) { f.add("tap " + name) }
func (f *fakeIntents) Signout()        { f.add("signout") }
func (f *fakeIntents) Activity() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.activities++
}

func (f *fakeIntents) add(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeIntents) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeIntents) activity() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.activities
}

// screenTexts is every visible label and button text under o, in tree
// order; button texts in brackets.
func screenTexts(o fyne.CanvasObject) []string {
	var out []string
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		switch o := o.(type) {
		case *fyne.Container:
			for _, c := range o.Objects {
				walk(c)
			}
		case *container.Scroll:
			walk(o.Content)
		case *widget.Label:
			out = append(out, o.Text)
		case *button:
			out = append(out, "["+o.Text+"]")
		}
	}
	walk(o)
	return out
}

// findButton returns the visible button labelled text under o, or nil.
func findButton(o fyne.CanvasObject, text string) *button {
	var found *button
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() || found != nil {
			return
		}
		switch o := o.(type) {
		case *fyne.Container:
			for _, c := range o.Objects {
				walk(c)
			}
		case *container.Scroll:
			walk(o.Content)
		case *button:
			if o.Text == text {
				found = o
			}
		}
	}
	walk(o)
	return found
}
