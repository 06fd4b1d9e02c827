package main

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/guide"
	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/web/browsertest"
)

// A draft for the guide test: a bribery story in the jurisdiction's
// language, with a phone number in a sentence of its own and invented
// words (canaries) that must end up nowhere on the server's disk or log.
type guideDraft struct {
	juris, lang string
	story       string // holds the canaries and the phone sentence
	phone       string // the phone number the check must name
	sentence    string // the sentence that holds it, removed after the warning
	category    string // what the story is about
	canaries    []string
	fill        []string // what the reporter types into the template's first blanks
}

var guideDrafts = []guideDraft{
	{
		juris: "kr", lang: "ko", category: "bribery", phone: "010-2345-6789",
		story: "지난 3월 구청 건축과 과장이 건축 허가를 빨리 내주는 대가로 현금 500만 원이 든 봉투를 받았습니다. " +
			"뭉게구름표범 건설 대표가 식당에서 돈을 건네는 것을 직접 봤고, 그 뒤 허가가 이틀 만에 나왔습니다. " +
			"과장은 골프 접대도 여러 번 받았습니다. 연락은 010-2345-6789로 주세요.",
		sentence: " 연락은 010-2345-6789로 주세요.",
		canaries: []string{"뭉게구름표범"},
		fill:     []string{"구청 건축과 과장, 뭉게구름표범 건설 대표", "건축 허가 대가로 현금 봉투 전달"},
	},
	{
		juris: "mn", lang: "mn", category: "bribery", phone: "9911-2233",
		story: "Өнгөрсөн сард дүүргийн газар зохион байгуулалтын албаны дарга газар олгох зөвшөөрлийг хурдан гаргаж өгөхийн тулд " +
			"иргэнээс 5 сая төгрөг авсан. Мөнгийг дугтуйтай бэлнээр өгсөн бөгөөд Хөхтэнгэрцоохор ХХК-ийн захирал дамжуулсан. " +
			"Үүнийг өөрийн нүдээр харсан. Утас 9911-2233.",
		sentence: " Утас 9911-2233.",
		canaries: []string{"Хөхтэнгэрцоохор"},
		fill:     []string{"Газар зохион байгуулалтын албаны дарга, Хөхтэнгэрцоохор ХХК-ийн захирал", "Газрын зөвшөөрлийн төлөө хахууль"},
	},
}

// TestBrowserGuideWithoutJavaScript (issue 10, acceptance 2): a real
// headless Chromium with JavaScript off, in Korean and in Mongolian,
// writes a draft, asks the guide, picks the body it suggests, puts the
// outline in and fills some blanks, gets the warning that names the phone
// number, removes it, checks again, attaches a file, sends, and signs in
// with the receipt. Afterwards no word of the draft is in the server's
// log or anywhere under its data directory.
func TestBrowserGuideWithoutJavaScript(t *testing.T) {
	needBrowser(t)
	for _, d := range guideDrafts {
		t.Run(d.juris, func(t *testing.T) { guideWalk(t, d) })
	}
}

func guideWalk(t *testing.T, d guideDraft) {
	pack, err := jurisdiction.Load(d.juris)
	must(t, err)
	g, err := guide.New(pack)
	must(t, err)
	want := g.Suggest(d.story, "")
	if len(want.Categories) == 0 || want.Template == "" {
		t.Fatalf("the guide suggests nothing for the %s draft: the walk needs a suggestion and a template", d.juris)
	}
	// Start from a body that is not the one the guide suggests, so that
	// picking it changes the choice.
	start := ""
	for _, b := range pack.Bodies {
		if b.ID != want.Agency && !b.Central {
			start = b.ID
			break
		}
	}
	suggested, ok := pack.Body(want.Agency)
	if !ok {
		t.Fatalf("the guide suggests %q, which is no body of the pack", want.Agency)
	}

	token := "CNRY" + rand.Text()[:10]
	canaries := append([]string{token}, d.canaries...)
	story := d.story + " (" + token + ")"

	s := startDemo(t, "--jurisdiction", d.juris)
	art := browsertest.ArtifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	br, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir()})
	must(t, err)
	defer br.Close()
	shot := func(name string) {
		t.Helper()
		must(t, br.Screenshot(filepath.Join(art, "guide-"+d.juris+"-"+name+".png")))
	}
	eval := func(expr string) string {
		t.Helper()
		var v string
		must(t, br.Evaluate(expr, &v))
		return v
	}

	// 1. The draft, on the report page of a body the reporter chose.
	must(t, br.Open(s.url+"/report?agency="+start+"&lang="+d.lang))
	must(t, br.SetValue("#message", story))
	shot("1-draft")

	// 2. The guide's answer: categories best first, the words that led
	// there, the body, the outline, and the phone number named.
	must(t, br.Click("#guide-ask"))
	shot("2-guide")
	if got := eval(`document.querySelector("ol#guide li[data-category]").dataset.category`); got != d.category {
		t.Fatalf("first category %q, want %q", got, d.category)
	}
	if n := eval(`String(document.querySelectorAll("ol#guide li[data-category]").length)`); n == "0" {
		t.Fatal("no suggestion")
	}
	if warn := eval(`(document.querySelector('#findings li[data-kind="phone"]') || {}).textContent || ""`); !strings.Contains(warn, d.phone) {
		t.Fatalf("the guide's answer does not name the phone number: %q", warn)
	}

	// 3. One click picks the suggested body.
	must(t, br.Click("#guide-pick"))
	shot("3-picked")
	chosen, err := br.Text("#agency-chosen")
	must(t, err)
	name, _ := pack.In(suggested.Names, d.lang)
	if name == "" {
		name = suggested.Name
	}
	if !strings.Contains(chosen, name) {
		t.Fatalf("after the pick the report goes to %q, want %q", chosen, name)
	}
	if _, err := br.Text("#guide-picked"); err != nil {
		t.Fatalf("the page does not say the body is chosen: %v", err)
	}

	// 4. The outline goes into the report, the draft below it; the
	// reporter types into its first blanks.
	must(t, br.Click("#guide-use"))
	shot("4-outline")
	text := eval(`document.querySelector("#message").value`)
	if !strings.HasPrefix(text, strings.TrimRight(want.Template, "\n")[:20]) || !strings.Contains(text, story) {
		t.Fatalf("the textarea does not hold the outline above the draft:\n%s", text)
	}
	for _, f := range d.fill {
		if !strings.Contains(text, "____") {
			t.Fatalf("no blank left to fill in:\n%s", text)
		}
		text = strings.Replace(text, "____", f, 1)
	}
	must(t, br.SetValue("#message", text))
	shot("5-filled")

	// 5. The check before sending names the phone number.
	must(t, br.Click("#check"))
	shot("6-check")
	if warn := eval(`(document.querySelector('#findings li[data-kind="phone"]') || {}).textContent || ""`); !strings.Contains(warn, d.phone) {
		t.Fatalf("the check does not name the phone number: %q", warn)
	}

	// 6. The reporter removes it and checks again: no warning.
	text = eval(`document.querySelector("#message").value`)
	if !strings.Contains(text, d.sentence) {
		t.Fatalf("the draft lost the phone sentence:\n%s", text)
	}
	must(t, br.SetValue("#message", strings.Replace(text, d.sentence, "", 1)))
	must(t, br.Click("#check-again"))
	shot("7-check-again")
	if _, err := br.Text("#no-findings"); err != nil {
		t.Fatalf("after removing the phone number the check still warns: %s", eval(`(document.querySelector("#findings") || {}).textContent || ""`))
	}

	// 7. A file, and send.
	file := filepath.Join(t.TempDir(), "contract.txt")
	must(t, os.WriteFile(file, []byte("permit 2026-114, signed two days after the payment\n"), 0o600))
	must(t, br.SetFiles("#file", file))
	must(t, br.Click("#send"))
	shot("8-receipt")
	rc, err := br.Text("#receipt")
	must(t, err)
	rc = strings.TrimSpace(rc)
	html, err := br.HTML()
	must(t, err)
	ref := refRe.FindString(html)

	// 8. Signed in with the receipt, the reporter sees the case.
	must(t, br.Click(`a[href="/followup"]`))
	must(t, br.SetValue("#receipt", rc))
	must(t, br.Click(`button[type="submit"]`))
	shot("9-case")
	if _, err := br.Text("#stage"); err != nil {
		t.Fatalf("no case page after signing in: %v", err)
	}
	if page, _ := br.HTML(); ref == "" || !strings.Contains(page, ref) {
		t.Fatalf("the case page does not name case %q", ref)
	}
	// The case went to the body picked on the guide's answer.
	if out := s.cli(t, "cases"); !strings.Contains(out, ref) || !strings.Contains(out, suggested.ID) {
		t.Errorf("case %s is not listed for %s:\n%s", ref, suggested.ID, out)
	}

	// 9. Canaries: in no log line, in no file of the data directory.
	s.stop()
	forms := map[string][]byte{}
	for _, c := range canaries {
		for k, v := range encodings(c) {
			forms[c+" "+k] = v
		}
	}
	hits, files := scanTree(t, s.data, forms)
	for _, h := range hits {
		t.Errorf("a word of the draft at rest: %s", h)
	}
	if files < 5 {
		t.Fatalf("only %d files under the data directory: the scan saw nothing", files)
	}
	for name, out := range map[string]string{"server stdout": s.stdout.String(), "server stderr": s.stderr.String()} {
		for form, f := range forms {
			if strings.Contains(out, string(f)) {
				t.Errorf("%s holds a word of the draft (%s)", name, form)
			}
		}
	}
	t.Logf("%s: %d files scanned for %d canaries; screenshots in %s", d.juris, files, len(canaries), art)
}
