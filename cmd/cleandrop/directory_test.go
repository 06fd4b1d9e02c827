package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/drop/source"
	"cleandrop/drop/web/browsertest"
)

// directoryAgencies is the number of bodies Korea's Clean Portal serves.
const directoryAgencies = 1042

// directoryConfig writes a server configuration with n agencies: several
// sectors and regions, names in Cyrillic (Mongolian, Serbian), Hangul and
// Latin, none with a configured transliteration except where said, all
// sealing to one test key.
func directoryConfig(t *testing.T, n int) (cfgPath, data string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	key := []string{id.Recipient().String()}
	agencies := []AgencyConfig{
		{ID: "iaac", Name: "Independent Agency Against Corruption", Names: map[string]string{"mn": "Авлигатай тэмцэх газар"},
			Sector: "anti_corruption", Central: true, Keywords: map[string][]string{"en": {"bribe"}, "mn": {"авлига", "хээл хахууль"}}},
		{ID: "busan-audit", Name: "Busan Metropolitan City Audit Committee", Names: map[string]string{"ko": "부산광역시 감사위원회"}, Sector: "audit", Region: "busan"},
		{ID: "apc", Name: "Agency for Prevention of Corruption", Names: map[string]string{"sr": "Агенција за спречавање корупције", "sq": "Agjencia për Parandalimin e Korrupsionit"}, Sector: "anti_corruption"},
	}
	regions := []string{"national", "ulaanbaatar", "darkhan", "erdenet", "busan", "seoul", "incheon", "daegu", "prishtina", "prizren", "peja", "tashkent", "samarkand", "bukhara", "fergana", "khorezm", "karakalpakstan"}
	mnPlace := []string{"Баянгол", "Сүхбаатар", "Хан-Уул", "Чингэлтэй", "Сонгинохайрхан", "Налайх", "Өмнөговь", "Дорнод", "Хөвсгөл", "Завхан"}
	mnKind := []string{"дүүргийн цагдаагийн хэлтэс", "аймгийн засаг даргын тамгын газар", "аудитын газар", "эрүүл мэндийн газар", "боловсролын газар"}
	koPlace := []string{"서울특별시", "부산광역시", "인천광역시", "대구광역시", "수원시", "성남시", "강남구", "해운대구", "전주시", "청주시"}
	koKind := []string{"감사관실", "보건소", "교육지원청", "경찰서", "환경관리과"}
	laPlace := []string{"Prishtinë", "Prizren", "Pejë", "Gjakovë", "Toshkent", "Samarqand", "Buxoro", "Fargʻona", "Xorazm", "Namangan"}
	laKind := []string{"Drejtoria e Arsimit", "Inspektorati Komunal", "Sogʻliqni saqlash boshqarmasi", "Hokimligi", "Policia Rajonale"}
	sectors := source.Sectors()
	for i := len(agencies); i < n; i++ {
		a := AgencyConfig{
			ID:     fmt.Sprintf("body-%04d", i),
			Sector: sectors[i%len(sectors)],
			Region: regions[i%len(regions)],
			Keywords: map[string][]string{"en": {
				[]string{"school", "hospital", "permits", "roads", "water"}[i%5],
			}},
		}
		p, k := i/3%10, i/30%5
		switch i % 3 {
		case 0:
			a.Name = fmt.Sprintf("Mongolian body %d", i)
			a.Names = map[string]string{"mn": fmt.Sprintf("%s %s %d", mnPlace[p], mnKind[k], i)}
		case 1:
			a.Name = fmt.Sprintf("Korean body %d", i)
			a.Names = map[string]string{"ko": fmt.Sprintf("%s %s %d", koPlace[p], koKind[k], i)}
		default:
			a.Name = fmt.Sprintf("%s %s %d", laPlace[p], laKind[k], i)
		}
		agencies = append(agencies, a)
	}
	for i := range agencies {
		agencies[i].Recipients = key
	}
	dir := t.TempDir()
	data = filepath.Join(dir, "data")
	b, err := json.Marshal(map[string]any{
		"data_dir": data, "listen": "127.0.0.1:0", "desk_listen": "127.0.0.1:0", "agencies": agencies,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfgPath = filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("configuration: %d agencies, %d KiB", len(agencies), len(b)>>10)
	return cfgPath, data
}

// counter counts the HTTP requests a client makes, redirects included.
type counter struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

var (
	makeReportRe = regexp.MustCompile(`<a class="button" href="([^"]+)" id="make-report">`)
	resultRe     = regexp.MustCompile(`<li class="agency"><a href="(/report\?agency=[^"]+)"`)
	chosenRe     = regexp.MustCompile(`<input type="hidden" name="agency" value="([^"]+)">`)
)

// TestDirectoryThousandAgencies runs the server with 1,042 agencies and
// walks as a reporter does, with nothing but links and forms: landing →
// "Make a report" → the directory → a search in Latin letters for a body
// named in Cyrillic or Hangul → choose it → the report form, with that body
// chosen → the receipt. It counts the requests from the landing page to the
// chosen agency and measures every directory page.
func TestDirectoryThousandAgencies(t *testing.T) {
	cfgPath, data := directoryConfig(t, directoryAgencies)
	s := startServer(t, data, readyURL, "serve", "--config", cfgPath, "--no-tor")

	const maxPage = 100 << 10
	var largest int
	var largestURL string
	measure := func(path string, body string) {
		t.Helper()
		if len(body) >= maxPage {
			t.Errorf("%s: %d bytes, want < %d", path, len(body), maxPage)
		}
		if len(body) > largest {
			largest, largestURL = len(body), path
		}
	}

	for _, tc := range []struct{ lang, query, want, name string }{
		{"mn", "avligatai", "iaac", "Авлигатай тэмцэх газар"},                       // Cyrillic, no translit configured
		{"ko", "busan gamsa", "busan-audit", "부산광역시 감사위원회"},                         // Hangul
		{"sr", "sprechavanje korupcije", "apc", "Агенција за спречавање корупције"}, // Serbian Cyrillic, loose spelling
	} {
		t.Run(tc.lang, func(t *testing.T) {
			r := newReporter(t, s.url)
			cnt := &counter{rt: http.DefaultTransport}
			r.hc.Transport = cnt
			_, landing := r.get("/?lang=" + tc.lang)
			m := makeReportRe.FindStringSubmatch(landing)
			if m == nil {
				t.Fatalf("no \"make a report\" link on the landing page:\n%s", landing)
			}
			start := cnt.n.Load()
			resp, front := r.get(html.UnescapeString(m[1]))
			if resp.StatusCode != 200 || resp.Request.URL.Path != "/agencies" {
				t.Fatalf("\"make a report\" led to %s (%d), want the directory", resp.Request.URL, resp.StatusCode)
			}
			measure("/agencies", front)
			if !strings.Contains(front, `action="/agencies"`) || !strings.Contains(front, `name="q"`) {
				t.Fatal("no search form on the directory")
			}
			search := "/agencies?q=" + url.QueryEscape(tc.query)
			resp, results := r.get(search) // the form's GET submission
			if resp.StatusCode != 200 {
				t.Fatalf("search: %d", resp.StatusCode)
			}
			measure(search, results)
			first := resultRe.FindStringSubmatch(results)
			if first == nil {
				t.Fatalf("search %q found nothing:\n%s", tc.query, results)
			}
			resp, form := r.get(html.UnescapeString(first[1]))
			loads := cnt.n.Load() - start
			c := chosenRe.FindStringSubmatch(form)
			if resp.StatusCode != 200 || c == nil || c[1] != tc.want || !strings.Contains(form, tc.name) {
				t.Fatalf("search %q chose %v, want %s (%s)", tc.query, c, tc.want, tc.name)
			}
			t.Logf("%s: landing → %s: %d page loads (directory %d bytes, search %q %d bytes)", tc.lang, tc.want, loads, len(front), tc.query, len(results))
			if loads > 3 {
				t.Errorf("%d page loads from the landing page to the chosen agency, want at most 3", loads)
			}
			rc, ref := r.report(c[1], "The district office took a bribe for a building permit.", nil)
			if rc == "" || ref == "" {
				t.Fatal("no receipt")
			}
		})
	}

	// Every directory page a reporter can reach by browsing: the front,
	// each sector and region, the first and last page of a broad search.
	r := newReporter(t, s.url)
	var pages []string
	for _, sec := range source.Sectors() {
		pages = append(pages, "/agencies?sector="+sec)
	}
	_, front := r.get("/agencies?lang=ko")
	for _, m := range regexp.MustCompile(`href="(/agencies\?region=[^"]+)"`).FindAllStringSubmatch(front, -1) {
		pages = append(pages, html.UnescapeString(m[1]))
	}
	pages = append(pages, "/agencies?q=body", "/agencies?q=body&page=14", "/agencies?q=hospital", "/agencies?q=%EA%B0%90%EC%82%AC")
	total := 0
	for _, p := range pages {
		resp, body := r.get(p)
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
		measure(p, body)
		total++
	}
	t.Logf("%d directory pages measured; the largest, %s, is %d bytes (limit %d)", total+6, largestURL, largest, maxPage)
}

// TestBrowserDirectory has headless Chromium, JavaScript off, find a body
// among 1,042 by a Latin search for its Mongolian name, choose it and
// report; screenshots of each step are kept as artifacts.
func TestBrowserDirectory(t *testing.T) {
	needBrowser(t)
	cfgPath, data := directoryConfig(t, directoryAgencies)
	s := startServer(t, data, readyURL, "serve", "--config", cfgPath, "--no-tor")
	art := browsertest.ArtifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	must(t, b.Open(s.url+"/?lang=mn"))
	must(t, b.Click("#make-report"))
	must(t, b.Screenshot(filepath.Join(art, "1-directory.png")))
	must(t, b.SetValue("#q", "avligatai"))
	must(t, b.Click(`form[role="search"] button`))
	must(t, b.Screenshot(filepath.Join(art, "2-search.png")))
	total, err := b.Text("#total")
	must(t, err)
	if !strings.Contains(total, "1") {
		t.Errorf("results: %q", total)
	}
	must(t, b.Click("#results li:first-child a"))
	chosen, err := b.Text("#agency-chosen")
	must(t, err)
	if !strings.Contains(chosen, "Авлигатай тэмцэх газар") {
		t.Fatalf("chosen agency: %q", chosen)
	}
	must(t, b.SetValue("#message", "Хээл хахууль авсан."))
	must(t, b.Screenshot(filepath.Join(art, "3-report.png")))
	must(t, b.Click("#check"))
	must(t, b.Click("#send"))
	rc, err := b.Text("#receipt")
	must(t, err)
	if strings.TrimSpace(rc) == "" {
		t.Fatal("no receipt")
	}
	must(t, b.Screenshot(filepath.Join(art, "4-receipt.png")))
	must(t, b.Open(s.url+"/agencies?sector=police"))
	must(t, b.Screenshot(filepath.Join(art, "5-sector.png")))
	t.Logf("screenshots in %s", art)
}
