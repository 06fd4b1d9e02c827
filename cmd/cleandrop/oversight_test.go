package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestOverseerAccount: the administrator makes an overseer with no agency
// (they oversee all); an officer still needs one. The demo, whose
// configuration leaves public_stats off, serves no statistics page.
func TestOverseerAccount(t *testing.T) {
	s := startDemo(t)
	if out := s.cli(t, "officer", "add", "--name", "eve", "--role", "overseer"); !strings.Contains(out, "Officer eve created") {
		t.Fatalf("overseer add: %s", out)
	}
	if out := s.cli(t, "officer", "list"); !strings.Contains(out, "overseer") {
		t.Fatalf("officer list:\n%s", out)
	}
	if _, errOut, code := runCLI(t, "officer", "add", "--name", "carol", "--data", s.data); code == 0 || !strings.Contains(errOut, "--agency are required") {
		t.Fatalf("officer without agency: %d %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "officer", "add", "--name", "carol", "--role", "boss", "--agency", "acc", "--data", s.data); code != 1 || !strings.Contains(errOut, `"overseer"`) {
		t.Fatalf("unknown role: %d %s", code, errOut)
	}
	resp, err := http.Get(s.url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/stats with public_stats off: %d", resp.StatusCode)
	}
}
