package token

import "testing"

func TestKinds(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		s := k.String()
		if k == Invalid || s == "" || seen[s] {
			t.Errorf("Kinds() holds %d, named %q", int(k), s)
		}
		seen[s] = true
	}
	if len(seen) != 9 {
		t.Errorf("%d kinds, want 9: %v", len(seen), seen)
	}
	if got := Kind(42).String(); got != "Kind(42)" {
		t.Errorf("Kind(42).String() = %q", got)
	}
	if got := Invalid.String(); got != "Invalid" {
		t.Errorf("Invalid.String() = %q", got)
	}
}
