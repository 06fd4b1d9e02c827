package main

import (
	"regexp"
	"testing"
)

// Tor's authorized_clients names allow [A-Za-z0-9_-] up to 64 bytes; two
// officers must never map to the same file.
func TestClientNameDistinctAndValid(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	seen := map[string]string{}
	for _, n := range []string{"a.b", "a_b", "a-b", "ab", "x", "abcdefghijklmnopqrstuvwxyz012345"} {
		c := clientName(n)
		if !valid.MatchString(c) {
			t.Errorf("clientName(%q) = %q is not a valid tor client name", n, c)
		}
		if other, ok := seen[c]; ok {
			t.Errorf("%q and %q share client name %q", n, other, c)
		}
		seen[c] = n
	}
}
