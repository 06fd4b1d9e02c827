package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuditVerify records officer actions, verifies the log, then changes
// one byte of it: verification must fail and name the line.
func TestAuditVerify(t *testing.T) {
	s := startDemo(t)
	s.cli(t, "officer", "add", "--agency", "acc", "--name", "alice")
	s.cli(t, "officer", "add", "--agency", "ppo", "--name", "bob", "--role", "supervisor")
	s.cli(t, "officer", "revoke", "bob")
	if out := s.cli(t, "audit", "verify"); !strings.Contains(out, "audit log ok: 3 entries") {
		t.Fatalf("audit verify: %s", out)
	}
	if out := s.cli(t, "officer", "list"); !strings.Contains(out, "alice") || !strings.Contains(out, "true") {
		t.Fatalf("officer list:\n%s", out)
	}
	_, errOut, code := runCLI(t, "officer", "add", "--agency", "nope", "--name", "carol", "--data", s.data)
	if code != 1 || !strings.Contains(errOut, `unknown agency "nope"`) {
		t.Fatalf("unknown agency: %d %s", code, errOut)
	}
	s.stop()
	log := filepath.Join(s.data, "audit", "audit.log")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "alice")
	b[i] = 'A'
	os.WriteFile(log, b, 0o600)
	_, errOut, code = runCLI(t, "audit", "verify", "--data", s.data)
	if code != 1 || !strings.Contains(errOut, "line 1") {
		t.Fatalf("tampered audit log: exit %d\n%s", code, errOut)
	}
}
