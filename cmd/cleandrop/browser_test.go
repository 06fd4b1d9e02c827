package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/web/browsertest"
)

// needBrowser skips when chromium is missing, except in CI, where make deps
// must have installed it.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, ok := browsertest.Available(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed in CI: make deps should have installed it")
		}
		t.Skip("chromium is not installed (make deps installs it); skipping the browser test")
	}
}

// TestBrowserReportWithoutJavaScript has a real headless Chromium, with
// JavaScript off as at Tor Browser's Safest level, submit a report with two
// files, read the receipt, log in with it and read an officer's question.
func TestBrowserReportWithoutJavaScript(t *testing.T) {
	needBrowser(t)
	s := startDemo(t)
	art := browsertest.ArtifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "minutes.txt"), filepath.Join(dir, "ledger.csv")
	os.WriteFile(f1, []byte("minutes of the board meeting\n"), 0o600)
	os.WriteFile(f2, []byte("date,amount\n2026-03-01,4471\n"), 0o600)

	must(t, b.Open(s.url+"/"))
	must(t, b.Screenshot(filepath.Join(art, "1-landing.png")))
	must(t, b.Click(`a[href="/report"]`))
	must(t, b.Select("#agency", "ppo"))
	must(t, b.SetValue("#message", "Tender 2026-17 was awarded before the bids were opened."))
	must(t, b.Screenshot(filepath.Join(art, "2-report-filled.png")))
	must(t, b.Click("#check"))
	must(t, b.SetFiles("#file", f1, f2))
	must(t, b.Screenshot(filepath.Join(art, "2b-check.png")))
	must(t, b.Click("#send"))
	rc, err := b.Text("#receipt")
	must(t, err)
	must(t, b.Screenshot(filepath.Join(art, "3-receipt.png")))
	rc = strings.TrimSpace(rc)
	if len(strings.Fields(rc)) != 7 {
		t.Fatalf("receipt %q is not seven words", rc)
	}
	html, err := b.HTML()
	must(t, err)
	ref := refRe.FindString(html)

	s.cli(t, "reply", "--case", ref, "--text-file", writeTemp(t, "Who signed the award letter?"))

	must(t, b.Click(`a[href="/followup"]`))
	must(t, b.SetValue("#receipt", rc))
	must(t, b.Click(`button[type="submit"]`))
	stage, err := b.Text("#stage")
	must(t, err)
	timeline, err := b.Text("#timeline")
	must(t, err)
	must(t, b.Screenshot(filepath.Join(art, "4-case.png")))
	if stage != "Received" || !strings.Contains(timeline, "Who signed the award letter?") || !strings.Contains(timeline, "2 file(s)") {
		t.Fatalf("case page: stage %q, timeline %q", stage, timeline)
	}
	t.Logf("screenshots in %s", art)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeTemp(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "text")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
