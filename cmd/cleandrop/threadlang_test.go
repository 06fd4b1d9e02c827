package main

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cleandrop/drop/web"
)

// TestOpenThreadInLanguage: 'cleandrop open --language' writes thread.txt
// and thread.html with the officer's language's labels (kinds, stage,
// purpose, the sealed note, the html lang) and no English label left;
// without --language both stay in English. Days stay ISO 8601.
func TestOpenThreadInLanguage(t *testing.T) {
	s := startDemo(t)
	r := newReporter(t, s.url)
	rc, ref := r.report("acc", "the report", []upload{{name: "evidence.txt", data: strings.NewReader("a file")}})
	if resp, body := r.postForm("/followup", map[string]string{"receipt": rc}); resp.Request.URL.Path != "/case" {
		t.Fatalf("login failed:\n%s", body)
	}
	if resp, page := r.postForm("/case/identity", map[string]string{"name": "N", "contact": "C", "purpose": "both", "confirm": "yes"}); resp.StatusCode != 200 {
		t.Fatalf("filing the identity: %d\n%s", resp.StatusCode, page)
	}
	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)

	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	// The labels the thread shows, by key; for each language the thread
	// must hold the catalogue's text, and (but English) not English's.
	labels := [][]any{
		{"thread.case", ref}, {"thread.agency"}, {"thread.stage"}, {"thread.opened"}, {"thread.exported"},
		{"thread.history"}, {"thread.batch", 1}, {"thread.purpose"}, {"thread.file"}, {"thread.original_name"},
		{"thread.sealed.custodian"}, {"desk.kind.report"}, {"desk.kind.attachment"}, {"desk.kind.identity"},
		{"desk.identity.purpose.both"}, {"stage.received"},
	}
	open := func(lang string) (txt, html string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		args := []string{"open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", out}
		if lang != "" {
			args = append(args, "--language", lang)
		}
		if stdout, stderr, code := runCLI(t, args...); code != 0 {
			t.Fatalf("open --language %q: exit %d\n%s%s", lang, code, stdout, stderr)
		}
		a, _ := os.ReadFile(filepath.Join(out, "thread.txt"))
		b, _ := os.ReadFile(filepath.Join(out, "thread.html"))
		return string(a), string(b)
	}
	for _, lang := range []string{"", "ko", "sr"} {
		t.Run("lang="+lang, func(t *testing.T) {
			txt, page := open(lang)
			want := lang
			if want == "" {
				want = web.DefaultLanguage
			}
			if !strings.Contains(page, `<html lang="`+want+`">`) {
				t.Errorf("thread.html is not marked lang=%q:\n%s", want, page)
			}
			for _, l := range labels {
				key := l[0].(string)
				text := cat.T(want, key, l[1:]...)
				if !strings.Contains(txt, text) {
					t.Errorf("thread.txt lacks %s %q:\n%s", key, text, txt)
				}
				if !strings.Contains(page, html.EscapeString(text)) {
					t.Errorf("thread.html lacks %s %q", key, text)
				}
				if en := cat.T(web.DefaultLanguage, key, l[1:]...); want != web.DefaultLanguage && (strings.Contains(txt, en) || strings.Contains(page, html.EscapeString(en))) {
					t.Errorf("%s thread still labels %s in English (%q):\n%s", want, key, en, txt)
				}
			}
			if !strings.Contains(txt, "the report") {
				t.Errorf("thread.txt lacks the report:\n%s", txt)
			}
		})
	}
}
