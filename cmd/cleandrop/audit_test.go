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
	// No officer may take the name the log gives the administrator.
	if _, errOut, code := runCLI(t, "officer", "add", "--agency", "acc", "--name", "admin", "--data", s.data); code != 1 || !strings.Contains(errOut, "name for the administrator") {
		t.Fatalf("officer named admin: %d %s", code, errOut)
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

// TestAdminActionsAudited: export, reply and stage through the control
// socket each leave an entry naming the administrator and the path, and
// "audit show" prints them, through the server and, once it has stopped,
// from the log itself.
func TestAdminActionsAudited(t *testing.T) {
	s := startDemo(t)
	r := newReporter(t, s.url)
	_, ref := r.report("acc", "The tender was rigged.", nil)
	_, other := r.report("acc", "Another report.", nil)

	s.cli(t, "export", "--case", ref, "-o", filepath.Join(t.TempDir(), "case.tar"))
	s.cli(t, "reply", "--case", ref, "--text-file", writeTemp(t, "  Who signed it?  \n"))
	s.cli(t, "stage", "--case", ref, "--note-file", writeTemp(t, "We are on it."), "acknowledged")
	// Refused actions leave no entry.
	if _, errOut, code := runCLI(t, "stage", "--case", ref, "--data", s.data, "nonsense"); code != 1 || !strings.Contains(errOut, "unknown stage") {
		t.Fatalf("unknown stage: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runCLI(t, "reply", "--case", ref, "--data", s.data, "--text-file", writeTemp(t, " \n\t ")); code != 1 || !strings.Contains(errOut, "empty") {
		t.Fatalf("blank question: exit %d\n%s", code, errOut)
	}

	want := []string{
		"admin  export        " + ref + "  control",
		"admin  question      " + ref + "  control",
		"admin  stage.change  " + ref + "  received -> acknowledged +note (control)",
	}
	check := func(out string) {
		t.Helper()
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
			// Drop the SEQ and DAY columns.
			f := strings.SplitN(line, "  ", 2)
			rest := strings.TrimLeft(f[1], " ")
			got = append(got, strings.TrimSpace(rest[len("2006-01-02"):]))
		}
		if len(got) != len(want) {
			t.Fatalf("audit show --case: %d entries, want %d:\n%s", len(got), len(want), out)
		}
		for i := range want {
			if strings.Join(strings.Fields(got[i]), " ") != strings.Join(strings.Fields(want[i]), " ") {
				t.Errorf("entry %d = %q, want %q", i, got[i], want[i])
			}
		}
		if strings.Contains(out, other) {
			t.Errorf("audit show --case %s shows case %s:\n%s", ref, other, out)
		}
	}
	check(s.cli(t, "audit", "show", "--case", strings.ToLower(ref)))
	if out := s.cli(t, "audit", "verify"); !strings.Contains(out, "audit log ok: 3 entries") {
		t.Fatalf("audit verify: %s", out)
	}
	s.stop()
	// Without a server, the log is read where it is kept: a demo on
	// shared stores needs its configuration with the store section.
	at := []string{"--data", s.data}
	if s.store != "" {
		at = []string{"--config", sharedConfig(t, s.data, s.store)}
	}
	out, errOut, code := runCLI(t, append([]string{"audit", "show", "--case", ref}, at...)...)
	if code != 0 {
		t.Fatalf("audit show without a server: exit %d\n%s", code, errOut)
	}
	check(out)
}
