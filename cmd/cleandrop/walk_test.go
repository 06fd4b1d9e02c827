package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/web"
	"cleandrop/drop/web/browsertest"
)

// walk is one reporter's way through a jurisdiction's demo: the words they
// search the directory with, the body they expect among the results, and
// what they write.
type walk struct {
	code    string // pack
	query   string // what the reporter types into the directory search
	body    string // the body they choose among the results
	message string
	// translit, when set, is a Latin search that must also find body.
	translit string
}

var walks = []walk{
	{code: "mn", query: "төсөв аудит", body: "nao", translit: "undesnii audit",
		message: "Аймгийн төсвөөс барилгын гэрээнд хоёр удаа мөнгө шилжүүлсэн."},
	{code: "xk", query: "ankese", body: "ombudsperson",
		message: "Zyrtari kërkoi para për të pranuar ankesën time."},
	{code: "uz", query: "iqtisodiy jinoyat", body: "dcec",
		message: "Soliq hisobotida yashirin tushum koʻrsatilmagan."},
}

// TestBrowserJurisdictionWalk is issue 9's acceptance walk: in a real
// headless Chromium with JavaScript off, for Mongolia, Kosovo and
// Uzbekistan, a reporter lands on the demo in the pack's first language,
// reads the protection page, searches the directory, chooses a body,
// sends a report with a file, keeps the receipt and signs in with it on
// the follow-up page, which names the pack's legal deadline. Every step is
// kept as a screenshot in $CLEANDROP_ARTIFACTS/<test>/.
func TestBrowserJurisdictionWalk(t *testing.T) {
	needBrowser(t)
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, w := range walks {
		t.Run(w.code, func(t *testing.T) {
			p, err := jurisdiction.Load(w.code)
			if err != nil {
				t.Fatal(err)
			}
			must(t, b.ClearCookies())
			walkJurisdiction(t, b, cat, p, w)
		})
	}
}

func walkJurisdiction(t *testing.T, b *browsertest.Browser, cat *web.Catalog, p *jurisdiction.Pack, w walk) {
	s := startDemo(t, "--jurisdiction", p.Code)
	art := browsertest.ArtifactDir(t)
	lang := p.Default()
	shot := func(name string) {
		t.Helper()
		must(t, b.Screenshot(filepath.Join(art, name+".png")))
	}
	// inLang checks the page is in the pack's language.
	inLang := func(step string) string {
		t.Helper()
		page, err := b.HTML()
		must(t, err)
		if !strings.Contains(page, `<html lang="`+lang+`">`) {
			t.Errorf("%s: the page is not in %s:\n%.300s", step, lang, page)
		}
		return page
	}
	text := func(sel string) string {
		t.Helper()
		s, err := b.Text(sel)
		must(t, err)
		return strings.Join(strings.Fields(s), " ")
	}
	plain := func(s string) string { return strings.Join(strings.Fields(s), " ") }

	// 1. The landing page, in the pack's first language.
	must(t, b.Open(s.url+"/"))
	start, err := b.History()
	must(t, err)
	inLang("landing")
	shot("1-landing")

	// 2. The protection page, in the pack's words.
	must(t, b.Click(`a[href="/protection"]`))
	inLang("protection")
	if got, want := text("h1"), plain(p.Protection.Title[lang]); got != want {
		t.Errorf("protection title %q, want the pack's %q", got, want)
	}
	for _, sec := range p.Protection.Sections {
		if got, want := text("#"+sec.ID+" p"), plain(sec.Text[lang]); got != want {
			t.Errorf("protection section %s: %q, want the pack's %q", sec.ID, got, want)
		}
	}
	shot("2-protection")

	// 3. The directory search, with the words a reporter would type.
	must(t, b.SetValue("#q", w.query))
	must(t, b.Click(`form[role="search"] button[type="submit"]`))
	inLang("directory")
	body, ok := p.Body(w.body)
	if !ok {
		t.Fatalf("pack %s has no body %q", p.Code, w.body)
	}
	if !strings.Contains(text("#results"), body.Names[lang]) {
		t.Errorf("search %q: %q not among the results %q", w.query, body.Names[lang], text("#results"))
	}
	shot("3-directory")

	// 4. The body chosen; the report written, with a file.
	must(t, b.Click(`#results a[href="/report?agency=`+w.body+`"]`))
	hist, err := b.History()
	must(t, err)
	loads := len(hist) - len(start)
	t.Logf("%s: %d page loads from landing to the chosen agency: %v", p.Code, loads, hist[len(start)-1:])
	if loads > 3 {
		t.Errorf("%d page loads from landing to the chosen agency, want at most 3", loads)
	}
	page := inLang("report")
	if !strings.Contains(page, `<option value="`+w.body+`" selected="">`) && !strings.Contains(page, `name="agency" value="`+w.body+`"`) {
		t.Fatalf("the report form has not %q chosen:\n%s", w.body, page)
	}
	att := filepath.Join(t.TempDir(), "evidence.txt")
	if err := os.WriteFile(att, []byte("contract 2026-114, payment order 7731\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, b.SetValue("#message", w.message))
	shot("4-report")
	must(t, b.Click("#check"))
	inLang("check")
	must(t, b.SetFiles("#file", att))
	shot("4b-check")
	must(t, b.Click("#send"))

	// 5. The receipt, read off the page.
	inLang("receipt")
	rc := text("#receipt")
	if len(strings.Fields(rc)) < 5 {
		t.Fatalf("receipt %q", rc)
	}
	shot("5-receipt")

	// 6. Sign in on the follow-up page with it.
	must(t, b.Click(`a[href="/followup"]`))
	inLang("sign-in")
	must(t, b.SetValue("#receipt", rc))
	shot("6-signin")
	before := time.Now().UTC()
	must(t, b.Click(`button[type="submit"]`))

	// 7. The case page names the pack's deadline, as the pack's rule
	// computes for a report received today.
	inLang("follow-up")
	after := time.Now().UTC()
	if got, want := text("#timeline"), plain(cat.T(lang, "case.entry.report", 1)); !strings.Contains(got, want) {
		t.Errorf("timeline %q lacks %q", got, want)
	}
	next := text("#next")
	var wants []string
	for _, now := range []time.Time{before, after} { // the walk may cross midnight
		want := expectedNext(t, cat, p, lang, now)
		if strings.Contains(next, want) {
			wants = nil
			break
		}
		wants = append(wants, want)
	}
	if wants != nil {
		t.Errorf("follow-up page says %q, want %q", next, wants[0])
	}
	shot("7-followup")

	if w.translit != "" {
		must(t, b.Open(s.url+"/agencies?q="+strings.ReplaceAll(w.translit, " ", "+")))
		if !strings.Contains(text("#results"), body.Names[lang]) {
			t.Errorf("Latin search %q: %q not among the results %q", w.translit, body.Names[lang], text("#results"))
		}
		shot("8-translit")
	}
	t.Logf("%s: screenshots in %s", p.Code, art)
}

// expectedNext is the deadline sentence the follow-up page must show for
// a report received on now's day, worked out from the pack's rules
// without the drop's stage code: of the rules whose clock starts at
// receipt, the earliest.
func expectedNext(t *testing.T, cat *web.Catalog, p *jurisdiction.Pack, lang string, now time.Time) string {
	t.Helper()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	var (
		name string
		due  time.Time
	)
	for _, r := range p.Rules {
		if r.From != "" {
			continue
		}
		if r.Months != 0 {
			t.Fatalf("rule %s counts months; this test counts days only", r.Name)
		}
		d := today.AddDate(0, 0, r.Days)
		if name == "" || d.Before(due) {
			name, due = r.Name, d
		}
	}
	if name == "" {
		t.Fatalf("pack %s has no deadline running from receipt", p.Code)
	}
	key := "case.next." + name
	if !cat.HasKey(key) {
		t.Fatalf("no deadline sentence %s in the catalogue", key)
	}
	days := int(due.Sub(today).Hours() / 24)
	return strings.Join(strings.Fields(fmt.Sprintf("%s %s", cat.T(lang, key, due.Format(time.DateOnly)), cat.T(lang, "case.next.left", days))), " ")
}
