package cli

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiftgate/shiftgate/hub"
	"github.com/shiftgate/shiftgate/hub/audit"
	"github.com/shiftgate/shiftgate/hub/console"
)

// TestAccountNameAsConsole: admin bootstrap's --name check, made before the
// data directory is opened, refuses exactly the names console.Bootstrap
// refuses, as usage errors.
func TestAccountNameAsConsole(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	st, err := hub.OpenStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := audit.LoadOrCreateKey(ctx, dir, st)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(key, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"ada@example.org", " padded@example.org ", "Zoë Ünal", strings.Repeat("a", 100), strings.Repeat("é", 50),
		"", "   ", strings.Repeat("a", 101), strings.Repeat("é", 51), "a\tb", "a\x7fb", "a\nb", "<ada>", `a"b`, "a'b", "a>b",
	} {
		cliErr := checkAccountName(name)
		_, conErr := console.Bootstrap(ctx, st, log, name, true, time.Now())
		if (cliErr == nil) != (conErr == nil) {
			t.Errorf("%q: the CLI's check says %v, console.Bootstrap %v", name, cliErr, conErr)
		}
		if cliErr != nil && !errors.Is(cliErr, errUsage) {
			t.Errorf("%q: %v is not a usage error", name, cliErr)
		}
	}
}
