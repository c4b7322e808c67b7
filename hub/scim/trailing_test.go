package scim

import "testing"

// TestBodyWithDataAfterIt: a resource or PatchOp body with anything after
// its JSON object, a stray closing bracket included, is invalidSyntax.
func TestBodyWithDataAfterIt(t *testing.T) {
	patch := `{"schemas":["` + PatchOpURN + `"],"Operations":[{"op":"replace","path":"active","value":false}]}`
	for _, tail := range []string{"}", "]", " {}", "x"} {
		if _, err := decodeObject([]byte(`{"userName":"ana"}` + tail)); err == nil {
			t.Errorf("resource body with %q after it: taken, want invalidSyntax", tail)
		}
		if _, err := ParsePatch([]byte(patch + tail)); err == nil {
			t.Errorf("PatchOp body with %q after it: taken, want invalidSyntax", tail)
		}
	}
	if _, err := decodeObject([]byte("{\"userName\":\"ana\"}\n")); err != nil {
		t.Errorf("resource body with white space after it: %v", err)
	}
	if _, err := ParsePatch([]byte(patch + "\r\n")); err != nil {
		t.Errorf("PatchOp body with white space after it: %v", err)
	}
}
