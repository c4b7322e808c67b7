package ui

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/shiftgate/shiftgate/agent"
	"github.com/shiftgate/shiftgate/agent/wire"
)

// TestTextsOnlyInMessages: every text the kiosk shows is in messages.go
// (in English, the source of translations/*.json: see texts_test.go),
// where it can be translated, and is a whole sentence there: no other file
// of the package has a literal that reads like text for people (a space or
// a capital letter: "Sign out", "Online"; keys such as "signout" and
// time layouts are not text), and messages.go neither joins literal
// fragments with + nor formats text with fmt.Sprintf (values go in through
// fill's named placeholders). Error messages (fmt.Errorf, errors.New) are
// for logs, and String methods name values for logs and tests.
func TestTextsOnlyInMessages(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		messages := name == "messages.go"
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ImportSpec, *ast.Field: // import paths, struct tags
				return false
			case *ast.FuncDecl:
				return n.Name.Name != "String"
			case *ast.CallExpr:
				switch callName(n) {
				case "fmt.Errorf", "errors.New":
					return false
				case "fmt.Sprintf", "fmt.Sprint":
					if messages && len(n.Args) > 0 && hasLetter(verb.ReplaceAllString(literal(n.Args[0]), "")) {
						t.Errorf("%s: text formatted with %s: use a template with named placeholders (fill)", fset.Position(n.Pos()), callName(n))
					}
				}
			case *ast.BinaryExpr:
				if messages && n.Op == token.ADD && (hasLetter(literal(n.X)) || hasLetter(literal(n.Y))) {
					t.Errorf("%s: text joined from fragments: use a template with named placeholders (fill)", fset.Position(n.Pos()))
				}
			case *ast.BasicLit:
				if s := literal(n); !messages && n.Kind == token.STRING && looksLikeText(s) {
					t.Errorf("%s: text %q outside messages.go", fset.Position(n.Pos()), s)
				}
			}
			return true
		})
	}
}

func callName(c *ast.CallExpr) string {
	if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok {
			return x.Name + "." + sel.Sel.Name
		}
	}
	return ""
}

// literal is e's value if e is a string literal, and "" otherwise.
func literal(e ast.Expr) string {
	l, ok := e.(*ast.BasicLit)
	if !ok || l.Kind != token.STRING {
		return ""
	}
	s, err := strconv.Unquote(l.Value)
	if err != nil {
		return ""
	}
	return s
}

// verb matches a fmt verb, such as %02d: not a word of text.
var verb = regexp.MustCompile(`%[-+# 0-9.\[\]*]*[a-zA-Z]`)

func hasLetter(s string) bool { return strings.IndexFunc(s, unicode.IsLetter) >= 0 }

func looksLikeText(s string) bool {
	return hasLetter(s) && (strings.ContainsAny(s, " …") || strings.IndexFunc(s, unicode.IsUpper) >= 0)
}

// TestRefusedMessages: every reason login.refused can carry gets a
// message that says what to do next, and a revocation that overtook the
// grant (login.refused with a session.ended reason) says no more than the
// hub says to the next tap of the same badge: never that an account was
// removed, which would tell whoever holds the badge that it existed.
func TestRefusedMessages(t *testing.T) {
	notRecognised := English().RefusedMessage(wire.RefusedNotRecognised)
	for _, tc := range []struct {
		reason string
		want   Message
	}{
		{wire.RefusedNotRecognised, Message{Title: "Badge not recognised. Ask your supervisor."}},
		{wire.RefusedNotAllowedHere, Message{Title: "You can't sign in at this kiosk.", Detail: "Ask your supervisor which kiosk to use."}},
		{wire.RefusedOutsideShift, Message{Title: "You're not on shift right now.", Detail: "Ask your supervisor if your shift has changed."}},
		{wire.RefusedVerifyRequired, Message{Title: "Your PIN or fingerprint is needed.", Detail: "Use a badge or key that asks for it."}},
		{wire.RefusedChallengeExpire, Message{Title: "Try again", Detail: "That took too long. Tap your badge again."}},
		{agent.RefusedHubUnreachable, Message{Title: "Try again", Detail: "The kiosk could not reach the server. Tap your badge again, or use another kiosk."}},
		{wire.RefusedInvalid, Message{Title: "Try again", Detail: "Tap your badge again. If it keeps happening, ask your supervisor."}},
		{agent.RefusedError, Message{Title: "Try again", Detail: "Tap your badge again. If it keeps happening, ask your supervisor."}},
		{"something_new", Message{Title: "Try again", Detail: "Tap your badge again. If it keeps happening, ask your supervisor."}},
		// The revoke overtook the grant (agent/README.md, login.refused).
		{wire.ReasonDeprovisioned, notRecognised},
		{wire.ReasonEntitlementRemoved, notRecognised},
		{wire.ReasonCredentialRevoked, notRecognised},
		{wire.ReasonShiftEnd, English().RefusedMessage(wire.RefusedOutsideShift)},
		{wire.ReasonDeviceDisabled, Message{Title: "This kiosk has been disabled", Detail: "Use another kiosk or ask your supervisor."}},
		{wire.ReasonForced, Message{Title: "Try again", Detail: "Tap your badge again. If it keeps happening, ask your supervisor."}},
		{wire.ReasonExpired, Message{Title: "Try again", Detail: "Tap your badge again. If it keeps happening, ask your supervisor."}},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			if got := English().RefusedMessage(tc.reason); got != tc.want {
				t.Errorf("RefusedMessage(%q) = %+v, want %+v", tc.reason, got, tc.want)
			}
			h := newHarness(t, "carol")
			h.m.Emit(agent.Event{Event: agent.EventBadgeRead})
			h.m.Emit(agent.Event{Event: agent.EventLoginRefused, Reason: tc.reason})
			h.want(ScreenRefused, tc.want.Title, "[carol]")
			for _, s := range h.texts() {
				if strings.Contains(s, tc.reason) || strings.Contains(strings.ToLower(s), "removed") {
					t.Errorf("the refused screen says %q", s)
				}
			}
		})
	}
}

// TestCountdownText: the warning counts down in whole minutes, rounded
// up, and the last minute in seconds, each in its plural form.
func TestCountdownText(t *testing.T) {
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{5 * time.Minute, "Your session ends in 5 minutes"},
		{4*time.Minute + 59*time.Second + 400*time.Millisecond, "Your session ends in 5 minutes"},
		{4*time.Minute + time.Second, "Your session ends in 5 minutes"},
		{4 * time.Minute, "Your session ends in 4 minutes"},
		{time.Minute + time.Second, "Your session ends in 2 minutes"},
		{time.Minute, "Your session ends in 1 minute"},
		{59*time.Second + 600*time.Millisecond, "Your session ends in 1 minute"},
		{59 * time.Second, "Your session ends in 59 seconds"},
		{2 * time.Second, "Your session ends in 2 seconds"},
		{time.Second, "Your session ends in 1 second"},
		{time.Hour + 3*time.Minute + 59*time.Second, "Your session ends in 64 minutes"},
		{10 * time.Hour, "Your session ends in 600 minutes"},
		{0, "Your session ends in 0 seconds"},
		{-time.Minute, "Your session ends in 0 seconds"},
	} {
		if got := English().CountdownText(tc.left); got != tc.want {
			t.Errorf("CountdownText(%s) = %q, want %q", tc.left, got, tc.want)
		}
	}
}

// TestPlaceholdersTakeValuesAsTheyAre: a value is put in once, as it is: a
// display name that looks like a placeholder is not filled in again.
func TestPlaceholdersTakeValuesAsTheyAre(t *testing.T) {
	if got, want := English().EnrollPrompt("{name} {time}").Title, "Enrollment: tap the badge for {name} {time}"; got != want {
		t.Errorf("EnrollPrompt = %q, want %q", got, want)
	}
	if got, want := English().EnrolledMessage("Dana Kim").Title, "Badge enrolled for Dana Kim"; got != want {
		t.Errorf("EnrolledMessage = %q, want %q", got, want)
	}
	if got, want := English().SessionEndsText("16:00"), "Session ends at 16:00"; got != want {
		t.Errorf("SessionEndsText = %q, want %q", got, want)
	}
	for _, tc := range []struct{ site, kiosk, want string }{
		{"north", "north-1", "north · north-1"}, {"", "north-1", "north-1"}, {"north", "", "north"}, {"", "", ""},
	} {
		if got := English().PlaceText(tc.site, tc.kiosk); got != tc.want {
			t.Errorf("PlaceText(%q, %q) = %q, want %q", tc.site, tc.kiosk, got, tc.want)
		}
	}
}

// TestOfflineMessages: a session the kiosk ended because the hub was out
// of reach says so, and what to do; it is not taken for a sign-out.
func TestOfflineMessages(t *testing.T) {
	tx := English()
	m := tx.EndedMessage(wire.ReasonOffline)
	if m == tx.EndedMessage(wire.ReasonSignout) || !strings.Contains(m.Title, "connection") || m.Detail == "" {
		t.Errorf("EndedMessage(offline) = %+v", m)
	}
	if w := tx.OfflineWarningText(); !strings.Contains(w, "cannot reach the server") {
		t.Errorf("OfflineWarningText() = %q", w)
	}
}
