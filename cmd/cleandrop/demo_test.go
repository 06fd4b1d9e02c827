package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// 'cleandrop demo --jurisdiction mn' serves Mongolian by default, gives
// keys to the pack's first bodies (the IAAC first) and files training
// cases at several stages, one of them overdue, which a reporter's
// receipt opens.
func TestDemoJurisdiction(t *testing.T) {
	s := startDemo(t, "--jurisdiction", "mn")
	if !strings.Contains(s.stdout.String(), "5 training cases (jurisdiction mn, language mn)") {
		t.Fatalf("no training cases announced:\n%s", s.stdout)
	}
	for _, id := range []string{"iaac", "nao", "nhrc"} {
		if _, err := os.Stat(s.key(id)); err != nil {
			t.Errorf("no demo key for %s: %v", id, err)
		}
	}
	list := s.cli(t, "cases")
	for _, want := range []string{"iaac", "nao", "nhrc", "received", "acknowledged", "investigating", "closed"} {
		if !strings.Contains(list, want) {
			t.Errorf("cases list lacks %q:\n%s", want, list)
		}
	}
	if n := strings.Count(strings.TrimSpace(list), "\n"); n != 5 { // a header and five cases
		t.Errorf("%d lines of cases:\n%s", n, list)
	}

	r := newReporter(t, s.url)
	_, body := r.get("/")
	if !strings.Contains(body, `<html lang="mn">`) {
		t.Fatalf("landing page not in Mongolian:\n%.300s", body)
	}
	for path, title := range map[string]string{"/protection": "Мэдээлэгчийн хамгаалалт", "/rewards": "Шагнал урамшуулал ба нөхөн төлбөр"} {
		if _, page := r.get(path); !strings.Contains(page, `<html lang="mn">`) || !strings.Contains(page, "<h1>"+title+"</h1>") {
			t.Errorf("%s not the pack's page in Mongolian:\n%.500s", path, page)
		}
	}
	b, err := os.ReadFile(filepath.Join(s.data, "demo", "training-receipts.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 5 {
		t.Fatalf("receipts file:\n%s", b)
	}
	overdue := strings.Split(lines[3], "\t") // the case left at received
	if overdue[2] != "received" {
		t.Fatalf("fourth training case: %q", lines[3])
	}
	rc := overdue[len(overdue)-1]
	_, page := r.postForm("/followup", map[string]string{"receipt": rc})
	if !strings.Contains(page, `class="overdue"`) || !strings.Contains(page, "Байгууллага 9 хоног хоцорч") {
		t.Fatalf("the overdue training case does not show as 9 days overdue, in Mongolian:\n%s", page)
	}

	// A second start with another jurisdiction on the same data is refused.
	s.stop()
	_, errOut, code := runCLI(t, "demo", "--data", s.data, "--jurisdiction", "xk", "--no-tor", "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errOut, `made for jurisdiction "mn", not "xk"`) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}
