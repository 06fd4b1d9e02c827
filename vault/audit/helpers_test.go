package audit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testNow is 02:00 on 4 March at +05:00, which is still 3 March in UTC.
func testNow() time.Time {
	return time.Date(2025, 3, 4, 2, 0, 0, 0, time.FixedZone("east", 5*3600))
}

const testDay = "2025-03-03"

// sample is the i-th (0-based) test entry. Details exercise JSON escaping
// and a '*', which one bit away from a newline.
func sample(i int) Entry {
	entries := []Entry{
		{Actor: "admin", Action: "account.create", Detail: "officer Ana <ana> & co"},
		{Actor: "Ana Lima", Action: "login"},
		{Actor: "Ana Lima", Action: "case.view", Case: "CD-7QK2-M4XD"},
		{Actor: "Ana Lima", Action: "stage.change", Case: "CD-7QK2-M4XD", Detail: "received -> triage *"},
		{Actor: "Bo Ørsted", Action: "question.ask", Case: "CD-9ZZ1-AB3C"},
		{Actor: "Bo Ørsted", Action: "bundle.export", Case: "CD-7QK2-M4XD", Detail: "to agency a1"},
		{Actor: "admin", Action: "account.revoke", Detail: "officer Bo"},
	}
	return entries[i%len(entries)]
}

// makeLog opens a new log in a fresh directory, appends n sample entries,
// closes it and returns the directory.
func makeLog(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := l.Append(sample(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readLines(t testing.TB, dir string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, logName))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeLines(t testing.TB, dir string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, logName), bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantBroken checks that err is a *Problem wrapping ErrBroken, for line
// (0: none) with a message containing msg.
func wantBroken(t *testing.T, err error, line int64, msg string) *Problem {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", msg)
	}
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("error %q does not wrap ErrBroken", err)
	}
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %q is not a *Problem", err)
	}
	if p.Line != line {
		t.Errorf("problem on line %d, want %d (%v)", p.Line, line, err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q, want it to contain %q", err, msg)
	}
	if p.Hint == "" {
		t.Errorf("problem %q has no hint", err)
	}
	return p
}

// wantOpenRefuses checks that Open will not append to the log in dir.
func wantOpenRefuses(t *testing.T, dir string) *Problem {
	t.Helper()
	l, err := Open(dir, testNow)
	if err == nil {
		l.Close()
		t.Fatal("Open accepted a broken log")
	}
	var p *Problem
	if !errors.As(err, &p) || !errors.Is(err, ErrBroken) {
		t.Fatalf("Open: %v, want a *Problem wrapping ErrBroken", err)
	}
	return p
}
