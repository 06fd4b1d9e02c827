package main

import (
	"bytes"
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

// needFirefox skips when Firefox is missing, except in CI, where make deps
// must have installed it.
func needFirefox(t *testing.T) {
	t.Helper()
	if _, ok := browsertest.FirefoxAvailable(); !ok {
		if os.Getenv("CI") != "" {
			t.Fatal("Firefox ESR is not installed in CI: make deps should have installed it")
		}
		t.Skip("Firefox ESR is not installed (make deps installs it); skipping the Firefox test")
	}
}

// startBrowser starts headless Chromium or, with firefox, Firefox ESR, for
// t (after needBrowser or needFirefox), each bounded by 3 minutes and
// closed when t ends.
func startBrowser(t *testing.T, firefox bool, opt browsertest.Options) browsertest.Driver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	var b browsertest.Driver
	var err error
	if firefox {
		needFirefox(t)
		b, err = browsertest.NewFirefox(ctx, opt)
	} else {
		needBrowser(t)
		b, err = browsertest.New(ctx, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestBrowserReportWithoutJavaScript has a real headless Chromium, with
// JavaScript off as at Tor Browser's Safest level, walk a reporter's case
// (reportInBrowser).
func TestBrowserReportWithoutJavaScript(t *testing.T) {
	b := startBrowser(t, false, browsertest.Options{})
	reportInBrowser(t, startDemo(t), b)
}

// TestFirefoxReportWithoutJavaScript walks the same case in Firefox ESR,
// the browser Tor Browser is built on, with JavaScript off as its Safest
// level has it: the forms as Firefox encodes them, read by web.Form.
func TestFirefoxReportWithoutJavaScript(t *testing.T) {
	b := startBrowser(t, true, browsertest.Options{})
	reportInBrowser(t, startDemo(t), b)
}

// reportInBrowser has b submit a report of several lines in three
// scripts with two files, read the receipt, log in with it, read an
// officer's question and answer it with a file; then the officer's export,
// opened offline, must hold every text and file byte for byte, and each
// file under the name it had on the reporter's machine.
func reportInBrowser(t *testing.T, s *server, b browsertest.Driver) {
	art := browsertest.ArtifactDir(t)
	dir := t.TempDir()
	const (
		message = "Tender 2026-17 was awarded before the bids were opened.\nÜbergabe am Montag; 입찰 서류 2건."
		name1   = "minutes of the board ü.txt"
		name2   = "ledger 회계.csv"
		name3   = "scan.txt"
		answer  = "The director signed it.\nCopy attached."
	)
	data1, data2, data3 := []byte("minutes of the board meeting\r\n"), []byte("date,amount\n2026-03-01,4471\n"), []byte("award letter, page 1\n")
	for name, data := range map[string][]byte{name1: data1, name2: data2, name3: data3} {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}

	must(t, b.Open(s.url+"/"))
	must(t, b.Screenshot(filepath.Join(art, "1-landing.png")))
	must(t, b.Click(`a[href="/report"]`))
	must(t, b.Select("#agency", "ppo"))
	must(t, b.SetValue("#message", message))
	must(t, b.Screenshot(filepath.Join(art, "2-report-filled.png")))
	must(t, b.Click("#check"))
	must(t, b.SetFiles("#file", filepath.Join(dir, name1), filepath.Join(dir, name2)))
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
	must(t, b.SetValue("#message", answer))
	must(t, b.SetFiles("#file", filepath.Join(dir, name3)))
	must(t, b.Click(`form[action="/case/answer"] button[type="submit"]`))
	html, err = b.HTML()
	must(t, err)
	must(t, b.Screenshot(filepath.Join(art, "5-answered.png")))
	if !strings.Contains(html, "Your answer was encrypted and sent.") {
		t.Fatalf("answer: the page does not say it was sent:\n%s", html)
	}

	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)
	out := filepath.Join(t.TempDir(), "opened")
	if stdout, stderr, code := runCLI(t, "open", bundle, "-i", s.key("ppo"), "--signer", s.signingKey(), "-o", out); code != 0 {
		t.Fatalf("open: %d\n%s%s", code, stdout, stderr)
	}
	// A browser sends a text field's line breaks as CR LF.
	crlf := func(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }
	for path, want := range map[string][]byte{
		"001-report.txt":     crlf(message),
		"files/002-" + name1: data1,
		"files/003-" + name2: data2,
		"005-question.txt":   []byte("Who signed the award letter?"),
		"006-answer.txt":     crlf(answer),
		"files/007-" + name3: data3,
	} {
		got, err := os.ReadFile(filepath.Join(out, path))
		if err != nil {
			entries, _ := filepath.Glob(filepath.Join(out, "*", "*"))
			t.Errorf("the opened case has no %s (%v); it has %q", path, err, entries)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
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
