package source

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/web"
)

func withPack(t *testing.T, code string) func(*Config) {
	t.Helper()
	p, err := jurisdiction.Load(code)
	if err != nil {
		t.Fatal(err)
	}
	return func(c *Config) { c.Pack = p }
}

// The protection and rewards pages show the pack's text in the reporter's
// language, every section, the facts to verify and the day checked.
func TestInfoPages(t *testing.T) {
	f := newFixture(t, withPack(t, "xk"))
	p, _ := jurisdiction.Load("xk")
	for _, tc := range []struct {
		path string
		page jurisdiction.Page
	}{{"/protection", p.Protection}, {"/rewards", p.Rewards}} {
		for _, lang := range p.Languages {
			t.Run(tc.path+"/"+lang, func(t *testing.T) {
				w := get(t, f, tc.path+"?lang="+lang)
				body := w.Body.String()
				if w.Code != http.StatusOK || !strings.Contains(body, `<html lang="`+lang+`">`) {
					t.Fatalf("status %d:\n%.400s", w.Code, body)
				}
				for _, s := range tc.page.Sections {
					if !strings.Contains(body, `<section id="`+s.ID+`">`) || !strings.Contains(body, template(s.Text[lang])) {
						t.Errorf("section %q not shown in %s", s.ID, lang)
					}
				}
				if strings.Contains(body, ` lang="en">`) && lang != "en" {
					t.Errorf("text shown in English although the pack has %s", lang)
				}
				if !strings.Contains(body, p.Checked) {
					t.Error("no day checked")
				}
				cat, _ := web.LoadCatalog()
				if !strings.Contains(body, template(cat.T(lang, "info.verify"))) {
					t.Error("no fact marked for verification, though the pack marks some")
				}
			})
		}
	}
}

// template escapes s as html/template does in text.
func template(s string) string {
	r := strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")
	return r.Replace(s)
}

// A reporter reading Russian on the Kosovo pack gets the page in Russian
// with the pack's text in English, marked as English.
func TestInfoPageFallbackIsMarked(t *testing.T) {
	f := newFixture(t, withPack(t, "xk"))
	body := get(t, f, "/protection?lang=ru").Body.String()
	if !strings.Contains(body, `<html lang="ru">`) {
		t.Fatalf("page language:\n%.300s", body)
	}
	if !strings.Contains(body, `<h1 lang="en">Protection for whistleblowers</h1>`) {
		t.Errorf("English title not marked lang=en:\n%s", body)
	}
	// Every pack paragraph carries lang="en".
	if n, m := strings.Count(body, `<p lang="en">`), len(regexp.MustCompile(`<section id=`).FindAllString(body, -1)); n != m || n == 0 {
		t.Errorf("%d paragraphs marked English, %d sections", n, m)
	}
	cat, _ := web.LoadCatalog()
	if !strings.Contains(body, template(cat.T("ru", "info.fallback"))) {
		t.Error("no notice that the text is in English")
	}
}

func TestLandingLinksInfoPages(t *testing.T) {
	with := get(t, newFixture(t, withPack(t, "mn")), "/").Body.String()
	for _, l := range []string{`href="/protection"`, `href="/rewards"`} {
		if !strings.Contains(with, l) {
			t.Errorf("landing page lacks %s", l)
		}
	}
	f := newFixture(t, nil)
	if strings.Contains(get(t, f, "/").Body.String(), `href="/protection"`) {
		t.Error("landing page links a page that does not exist without a pack")
	}
	if w := get(t, f, "/protection"); w.Code != http.StatusNotFound {
		t.Errorf("/protection without a pack: %d", w.Code)
	}
}

// Every reporter page names, in <html lang>, the language it is in, and
// says it in Content-Language too, in every language of the catalogue.
func TestEveryPageNamesItsLanguage(t *testing.T) {
	f := newFixture(t, withPack(t, "uz"))
	var paths []string
	chi.Walk(f.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodGet && !strings.HasPrefix(route, "/static") {
			paths = append(paths, strings.TrimSuffix(route, "/*"))
		}
		return nil
	})
	paths = append(paths, "/no-such-page")
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, lang := range cat.Languages() {
		for _, p := range paths {
			w := get(t, f, p+"?lang="+lang)
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
				continue
			}
			checked++
			if !strings.Contains(w.Body.String(), `<html lang="`+lang+`">`) || w.Header().Get("Content-Language") != lang {
				t.Errorf("%s in %s: html lang or Content-Language wrong:\n%.200s", p, lang, w.Body.String())
			}
		}
	}
	if checked < 7*6 {
		t.Fatalf("checked only %d pages over %v", checked, paths)
	}
	t.Logf("checked %d pages: %v in %v", checked, paths, cat.Languages())
}

// A reporter who has read the protection or rewards page reaches the
// directory from it in one step: the page carries the directory's search
// form, and its "Make a report" link leads where the landing page's does
// (the directory when the agencies are many, not the form that would only
// send them on).
func TestInfoPagesLeadToDirectory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		agencies []Agency
		report   string
	}{
		{"few agencies", nil, `href="/report" id="make-report"`},
		{"many agencies", manyAgencies(DropdownMax + 1), `href="/agencies" id="make-report"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				withPack(t, "mn")(c)
				if tc.agencies != nil {
					c.Agencies = tc.agencies
				}
			})
			for _, path := range []string{"/protection", "/rewards"} {
				body := get(t, f, path).Body.String()
				if !regexp.MustCompile(`<form method="get" action="/agencies" role="search">\s*<label for="q">`).MatchString(body) ||
					!strings.Contains(body, `<input id="q" name="q" type="search"`) {
					t.Errorf("%s: no directory search form", path)
				}
				if !strings.Contains(body, tc.report) {
					t.Errorf("%s: the report link is not %s", path, tc.report)
				}
			}
		})
	}
}
