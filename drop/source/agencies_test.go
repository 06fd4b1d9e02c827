package source

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

func TestLatin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Авлигатай тэмцэх газар", "Avligatay temtsekh gazar"}, // Mongolian
		{"Өмнөговь аймаг", "Omnogov aymag"},
		{"Үндэсний аудитын газар", "Undesniy audityn gazar"},
		{"Агенција за спречавање корупције", "Agentsija za sprechavanje koruptsije"},
		{"Љубљана Њиш Ђаковица Ћуприја Џеп", "Ljubljana Njish Djakovitsa Cuprija Dzep"},
		{"Генеральная прокуратура", "Generalnaya prokuratura"},
		{"щит ёлка", "shchit yolka"},
		{"Ўзбекистон Қорақалпоғистон", "Ozbekiston Qoraqalpogiston"},
		{"서울", "seoul"},
		{"부산", "busan"},
		{"한국어", "hangugeo"},                 // final ㄱ before a silent ㅇ is said as g
		{"울릉도", "ulleungdo"},                // ㄹㄹ is ll
		{"국민권익위원회", "gukmingwonigwiwonhoe"}, // no assimilation beyond the liaison
		{"강남구청", "gangnamgucheong"},
		{"Latin stays, 123", "Latin stays, 123"},
		{"", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := latin(tc.in); got != tc.want {
				t.Errorf("latin(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFoldAndSkeleton(t *testing.T) {
	folds := map[string]string{
		"Prishtinë":                     "prishtine",
		"OʻZBEKISTON Respublikasi":      "ozbekiston respublikasi",
		"Čačak — Đakovica!":             "cacak djakovica",
		"  Straße\x00\x1b[31m  x  ":     "strasse 31m x",
		"Zgjedhjet e Kosovës, 2026":     "zgjedhjet e kosoves 2026",
		"<script>alert(1)</script>":     "script alert 1 script",
		"Тэмцэх":                        "тэмцэх",
		"e\u0301tat (combining accent)": "etat combining accent",
	}
	for in, want := range folds {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
	same := [][2]string{
		{"temtsekh", "temtseh"}, {"khural", "hural"}, {"tsagdaa", "cagdaa"},
		{"gukmin", "kukmin"}, {"busan", "pusan"}, {"seoul", "seoull"}, {"yoshlar", "joshlar"},
	}
	for _, p := range same {
		if skeleton(p[0]) != skeleton(p[1]) {
			t.Errorf("skeleton(%q) = %q, skeleton(%q) = %q: want equal", p[0], skeleton(p[0]), p[1], skeleton(p[1]))
		}
	}
	if skeleton("police") == skeleton("health") {
		t.Error("skeleton merges unrelated words")
	}
}

// testAgencies is a small directory with names in several scripts.
var testAgencies = []Agency{
	{ID: "iaac", Name: "Independent Agency Against Corruption", Names: map[string]string{"mn": "Авлигатай тэмцэх газар"}, Sector: "anti_corruption", Central: true, Keywords: map[string][]string{"en": {"bribe", "corruption"}, "mn": {"авлига"}}},
	{ID: "police-ub", Name: "Ulaanbaatar City Police", Names: map[string]string{"mn": "Нийслэлийн цагдаагийн газар"}, Sector: "police", Region: "ulaanbaatar"},
	{ID: "acrc", Name: "Anti-Corruption and Civil Rights Commission", Names: map[string]string{"ko": "국민권익위원회"}, Sector: "anti_corruption", Translit: "Gungmin Gwonik Wiwonhoe"},
	{ID: "busan-audit", Name: "Busan Metropolitan City Audit Committee", Names: map[string]string{"ko": "부산광역시 감사위원회"}, Sector: "audit", Region: "busan"},
	{ID: "apc", Name: "Agency for Prevention of Corruption", Names: map[string]string{"sq": "Agjencia për Parandalimin e Korrupsionit", "sr": "Агенција за спречавање корупције"}, Sector: "anti_corruption", Region: "national"},
	{ID: "ombud", Name: "Ombudsperson Institution", Names: map[string]string{"sq": "Institucioni i Avokatit të Popullit"}, Sector: "ombudsperson"},
	{ID: "health-min", Name: "Ministry of Health", Names: map[string]string{"uz": "Sogʻliqni saqlash vazirligi", "ru": "Министерство здравоохранения"}, Sector: "health", Keywords: map[string][]string{"en": {"hospital", "medicine"}}},
	{ID: "police", Name: "National Police", Sector: "police"},
	{ID: "health-police", Name: "Health Police Unit", Sector: "police"},
}

func testDirectory(t *testing.T) *directory {
	t.Helper()
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return newDirectory(testAgencies, cat)
}

func ids(es []*dirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestDirectorySearch(t *testing.T) {
	d := testDirectory(t)
	tests := []struct {
		name, q, sector, region string
		first                   []string // the results start with these, in order
		none                    []string // these are not found
		count                   int      // -1: any
	}{
		{name: "exact English name first", q: "national police", first: []string{"police"}, count: -1},
		{name: "prefix of a name", q: "ombuds", first: []string{"ombud"}, count: 1},
		{name: "Latin query finds a Cyrillic name", q: "avligatai", first: []string{"iaac"}, count: 1},
		{name: "loose Latin finds a Cyrillic name", q: "temtseh", first: []string{"iaac"}, count: 1},
		{name: "Latin query finds a Hangul name", q: "busan", first: []string{"busan-audit"}, count: 1},
		{name: "Latin inside a Hangul name", q: "wiwonhoe", first: []string{"acrc"}, none: []string{"police"}, count: -1},
		{name: "configured transliteration", q: "gungmin gwonik", first: []string{"acrc"}, count: 1},
		{name: "Hangul query", q: "권익", first: []string{"acrc"}, count: 1},
		{name: "Cyrillic query, case-insensitive", q: "АВЛИГА", first: []string{"iaac"}, count: 1},
		{name: "Serbian Cyrillic name by Latin", q: "sprechavanje", first: []string{"apc"}, count: 1},
		{name: "accents do not matter", q: "parandalimin korrupsionit", first: []string{"apc"}, count: 1},
		{name: "Uzbek apostrophe", q: "sogliqni", first: []string{"health-min"}, count: 1},
		{name: "keyword", q: "hospital", first: []string{"health-min"}, count: 1},
		{name: "keyword in another language", q: "bribe", first: []string{"iaac"}, count: 1},
		{name: "sector name", q: "police", none: []string{"iaac"}, count: 3},
		{name: "name word beats sector", q: "health", first: []string{"health-police", "health-min"}, count: 2},
		{name: "sector name in Korean", q: "경찰", count: 3},
		{name: "region id", q: "ulaanbaatar", first: []string{"police-ub"}, count: 1},
		{name: "every word must match", q: "police busan", count: 0},
		{name: "no match", q: "zzzzqqq", count: 0},
		{name: "browse a sector, central first", sector: "anti_corruption", first: []string{"iaac", "apc", "acrc"}, count: 3},
		{name: "browse a region", region: "busan", first: []string{"busan-audit"}, count: 1},
		{name: "search within a sector", q: "corruption", sector: "anti_corruption", first: []string{"iaac"}, count: 3},
		{name: "short word matches only word starts", q: "ci", first: []string{"acrc", "busan-audit", "police-ub"}, none: []string{"health-min"}, count: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(d.search(tc.q, tc.sector, tc.region, "en"))
			if tc.count >= 0 && len(got) != tc.count {
				t.Fatalf("%q found %v, want %d results", tc.q, got, tc.count)
			}
			for i, id := range tc.first {
				if i >= len(got) || got[i] != id {
					t.Fatalf("%q found %v, want it to start with %v", tc.q, got, tc.first)
				}
			}
			for _, id := range tc.none {
				for _, g := range got {
					if g == id {
						t.Fatalf("%q found %s: %v", tc.q, id, got)
					}
				}
			}
		})
	}
}

func TestCleanQuery(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"", "", true},
		{"   ", "", true},
		{"a\x00b\tc\r\nd\x1b[0m", "a b c d [0m", true},
		{"bad \xff\xfe bytes", "bad bytes", true},
		{strings.Repeat("x", MaxQuery), strings.Repeat("x", MaxQuery), true},
		{strings.Repeat("x", MaxQuery+1), "", false},
		{strings.Repeat("가", MaxQuery/3+1), "", false}, // bytes, not characters
	}
	for _, tc := range tests {
		got, ok := cleanQuery(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("cleanQuery(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if n := len(tokens(strings.Repeat("word ", 50))); n != maxTokens {
		t.Errorf("%d tokens kept, want %d", n, maxTokens)
	}
}

// manyAgencies is the test agencies with enough generated ones to need the
// directory, and "acc" (the fixture's vault agency) among them.
func manyAgencies(n int) []Agency {
	as := append([]Agency{{ID: "acc", Name: "Anti-Corruption Commission", Sector: "anti_corruption", Central: true}}, testAgencies...)
	as[1].Central = false
	for i := len(as); i < n; i++ {
		as = append(as, Agency{ID: fmt.Sprintf("body-%d", i), Name: fmt.Sprintf("Public Body %d", i), Sector: sectorIDs[i%len(sectorIDs)], Region: fmt.Sprintf("region-%d", i%9)})
	}
	return as
}

func get(t *testing.T, f *fixture, target string) *httptest.ResponseRecorder {
	t.Helper()
	return f.do(httptest.NewRequest(http.MethodGet, target, nil))
}

func TestDirectoryPages(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Agencies = manyAgencies(60) })
	if w := get(t, f, "/"); !strings.Contains(w.Body.String(), `href="/agencies" id="make-report"`) {
		t.Fatalf("the landing page does not lead to the directory:\n%s", w.Body)
	}
	if w := get(t, f, "/report"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/agencies" {
		t.Fatalf("report form without an agency: %d %s", w.Code, w.Header().Get("Location"))
	}
	front := get(t, f, "/agencies").Body.String()
	for _, want := range []string{`id="central"`, `href="/report?agency=acc"`, "I don&#39;t know who is competent", `href="/agencies?sector=police"`, `href="/agencies?region=busan"`, "Whole country"} {
		if !strings.Contains(front, want) {
			t.Errorf("the directory's front lacks %s", want)
		}
	}
	if strings.Index(front, `id="central"`) > strings.Index(front, `id="q"`) {
		t.Error("the central body does not come before the search")
	}

	tests := []struct {
		name, target string
		status       int
		has, hasNot  []string
	}{
		{"search", "/agencies?q=busan", 200, []string{`href="/report?agency=busan-audit"`, `lang="ko"`, "Bodies found: 1"}, nil},
		{"empty search shows the front", "/agencies?q=+++", 200, []string{`id="sectors"`}, []string{`id="total"`}},
		{"too long", "/agencies?q=" + strings.Repeat("x", MaxQuery+1), 400, []string{"Your search is too long", `value=""`}, []string{`value="x`}},
		{"too long, translated", "/agencies?lang=mn&q=" + strings.Repeat("x", MaxQuery+1), 400, []string{"Хайлт хэт урт байна", `lang="mn"`}, nil},
		{"html is escaped", "/agencies?q=" + url.QueryEscape(`"><script>alert(1)</script>`), 200, []string{`value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`, "Bodies found: 0"}, []string{"<script"}},
		{"control characters dropped", "/agencies?q=" + url.QueryEscape("bus\x00an\x1b"), 200, []string{"Bodies found: 0", `value="bus an"`}, []string{"\x00", "\x1b"}},
		{"unknown sector", "/agencies?sector=nope", 404, []string{"There is no such sector"}, nil},
		{"unknown region", "/agencies?region=%3Cb%3E", 404, []string{"There is no such region"}, []string{"<b>"}},
		{"sector", "/agencies?sector=police", 200, []string{"Sector: Police", `href="/report?agency=police-ub"`}, []string{`href="/report?agency=busan-audit"`}},
		{"page past the end", "/agencies?q=public+body&page=9", 200, []string{"Page 2 of 2"}, nil},
		{"paginated", "/agencies?q=public+body", 200, []string{"Page 1 of 2", `href="/agencies?page=2&amp;q=public&#43;body"`}, nil},
		{"page 2", "/agencies?q=public+body&page=2", 200, []string{"Page 2 of 2", `rel="prev"`}, []string{`rel="next"`}},
		{"hostile page", "/agencies?q=public+body&page=-99999999999999999999", 200, []string{"Page 1 of 2"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, f, tc.target)
			body := w.Body.String()
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("page has %q", s)
				}
			}
		})
	}
}

func TestReportFormAgency(t *testing.T) {
	t.Run("chosen in the directory", func(t *testing.T) {
		f := newFixture(t, func(c *Config) { c.Agencies = manyAgencies(60) })
		body := get(t, f, "/report?agency=busan-audit&lang=ko").Body.String()
		for _, want := range []string{`<input type="hidden" name="agency" value="busan-audit">`, "부산광역시 감사위원회", `href="/agencies" id="agency-another"`, `id="message"`} {
			if !strings.Contains(body, want) {
				t.Errorf("report form lacks %s", want)
			}
		}
		if !strings.Contains(body, `href="/report?agency=busan-audit&amp;lang=mn"`) {
			t.Error("the language links lose the chosen agency")
		}
		if strings.Contains(body, "<select") {
			t.Error("a drop-down of many agencies")
		}
		// An error after the agency was read keeps it chosen.
		w := f.report(t, [][2]string{{"agency", "acc"}, {"message", ""}}, nil)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `name="agency" value="acc"`) {
			t.Fatalf("empty report: %d, agency not kept:\n%s", w.Code, w.Body)
		}
		// An unknown agency shows no form to type into, only the way to
		// the directory.
		w = f.report(t, [][2]string{{"agency", "nope"}, {"message", "x"}}, nil)
		if w.Code != 400 || strings.Contains(w.Body.String(), `id="message"`) || !strings.Contains(w.Body.String(), `id="agency-find"`) {
			t.Fatalf("unknown agency: %d:\n%s", w.Code, w.Body)
		}
		w = f.report(t, [][2]string{{"agency", "acc"}, {"message", "the tender was rigged"}}, nil)
		if w.Code != 200 || !receiptRe.MatchString(w.Body.String()) {
			t.Fatalf("report: %d", w.Code)
		}
	})
	t.Run("few agencies: a drop-down, central first", func(t *testing.T) {
		f := newFixture(t, func(c *Config) {
			c.Agencies = []Agency{{ID: "zz", Name: "Zeta Office"}, {ID: "acc", Name: "ACC", Central: true}}
		})
		if w := get(t, f, "/"); !strings.Contains(w.Body.String(), `href="/report" id="make-report"`) {
			t.Fatal("the landing page does not lead to the report form")
		}
		body := get(t, f, "/report?agency=zz").Body.String()
		i, j := strings.Index(body, `value="acc"`), strings.Index(body, `value="zz" selected`)
		if i < 0 || j < 0 || i > j || !strings.Contains(body, "I don&#39;t know who is competent: ACC") {
			t.Fatalf("drop-down:\n%s", body)
		}
	})
}

func TestNewRefusesUnknownSector(t *testing.T) {
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var st *vault.Store // never called
	_, err = New(Config{
		Store: st, Catalog: cat, Pepper: receipt.NewPepper(), Policy: stage.EU,
		Agencies: []Agency{{ID: "acc", Name: "ACC", Sector: "nope"}},
	})
	if err == nil || !strings.Contains(err.Error(), `sector "nope"`) {
		t.Fatalf("New: %v", err)
	}
}

// FuzzDirectorySearch: any search, as typed, is bounded, cleaned and
// answered without a panic, and every result matches every word.
func FuzzDirectorySearch(f *testing.F) {
	for _, q := range []string{"", "busan", "avligatai temtseh", "국민 권익", "АВЛИГА", "\x00\x1b<script>", "Oʻzbekiston", strings.Repeat("가", 70), "e\u0301\u0301\u0301"} {
		f.Add(q)
	}
	cat, err := web.LoadCatalog()
	if err != nil {
		f.Fatal(err)
	}
	d := newDirectory(testAgencies, cat)
	f.Fuzz(func(t *testing.T, raw string) {
		q, ok := cleanQuery(raw)
		if !ok {
			if len(raw) <= MaxQuery {
				t.Fatalf("refused %d bytes", len(raw))
			}
			return
		}
		if !utf8.ValidString(q) || strings.ContainsFunc(q, unicode.IsControl) {
			t.Fatalf("cleaned query %q has invalid or control characters", q)
		}
		qy := newQuery(q)
		for _, e := range d.search(q, "", "", "en") {
			if len(qy.ts) > 0 && d.score(e, qy) == 0 {
				t.Fatalf("%q found %s, which does not match", q, e.ID)
			}
		}
	})
}

// BenchmarkDirectorySearch measures a search over 1,042 agencies: one that
// matches, and the costliest kind, eight long words that match nothing
// (every tier is tried for the first word of every agency).
func BenchmarkDirectorySearch(b *testing.B) {
	cat, err := web.LoadCatalog()
	if err != nil {
		b.Fatal(err)
	}
	as := manyAgencies(1042)
	for i := range as {
		if i%2 == 0 {
			as[i].Names = map[string]string{"mn": fmt.Sprintf("Сүхбаатар дүүргийн цагдаагийн хэлтэс %d", i), "ko": fmt.Sprintf("부산광역시 해운대구 보건소 %d", i)}
			as[i].Keywords = map[string][]string{"en": {"hospital", "permits", "roads"}, "mn": {"эмнэлэг", "зөвшөөрөл"}}
		}
	}
	d := newDirectory(as, cat)
	worst, _ := cleanQuery(strings.Repeat("qwzxqwzxqwzxqwzxqwzxqwz ", 8))
	for _, q := range []string{"busan", worst} {
		b.Run(fmt.Sprintf("%d bytes", len(q)), func(b *testing.B) {
			for b.Loop() {
				d.search(q, "", "", "en")
			}
		})
	}
}

// BenchmarkDirectoryPages measures whole directory pages over 1,042
// agencies in Mongolian: the front (groups and their counts), a sector
// browsed (every agency of it in name order), and a search.
func BenchmarkDirectoryPages(b *testing.B) {
	as := manyAgencies(1042)
	for i := range as {
		if i%2 == 0 {
			as[i].Names = map[string]string{"mn": fmt.Sprintf("Сүхбаатар дүүргийн цагдаагийн хэлтэс %d", i), "ko": fmt.Sprintf("부산광역시 해운대구 보건소 %d", i)}
			as[i].Keywords = map[string][]string{"en": {"hospital", "permits", "roads"}, "mn": {"эмнэлэг", "зөвшөөрөл"}}
		}
	}
	f := newFixture(b, func(c *Config) { c.Agencies = as })
	for _, target := range []string{"/agencies?lang=mn", "/agencies?lang=mn&sector=health", "/agencies?lang=mn&q=%D1%86%D0%B0%D0%B3%D0%B4%D0%B0%D0%B0"} {
		b.Run(strings.TrimPrefix(target, "/agencies?lang=mn"), func(b *testing.B) {
			for b.Loop() {
				w := f.do(httptest.NewRequest(http.MethodGet, target, nil))
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d", target, w.Code)
				}
			}
		})
	}
}

func TestResultShowsFewNames(t *testing.T) {
	names := map[string]string{"mn": "Авлигатай тэмцэх газар"}
	for _, l := range []string{"aa", "bb", "cc", "dd", "ee", "ff", "gg"} {
		names[l] = strings.Repeat(l, 100)
	}
	d := newDirectory([]Agency{{ID: "iaac", Name: "IAAC", Names: names}}, testDirectory(t).cat)
	v := d.view(d.byID["iaac"], "ko")
	var got []string
	for _, o := range v.Other {
		got = append(got, o.Text)
	}
	want := []string{"Авлигатай тэмцэх газар", "Avligatay temtsekh gazar"}
	if v.Name != "IAAC" || len(got) != maxOtherNames || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("shown %q, then %q; want IAAC, then %q and one more", v.Name, got, want)
	}
}
