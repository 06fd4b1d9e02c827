package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// testPages is one page that shows a message and the language it was
// rendered in, and a second page.
var testPages = fstest.MapFS{
	"one.html": {Data: []byte(`{{define "title"}}{{t "nav.skip"}}{{end}}{{define "content"}}<p id="lang">{{lang}}</p><p id="msg">{{t "site.footer"}}</p>{{end}}`)},
	"two.html": {Data: []byte(`{{define "title"}}{{t "nav.skip"}}{{end}}{{define "content"}}<p id="lang">{{lang}}</p>{{end}}`)},
}

func newTestRenderer(t testing.TB) (*Renderer, *Catalog) {
	t.Helper()
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRenderer(testPages, cat)
	if err != nil {
		t.Fatal(err)
	}
	return r, cat
}

func render(t testing.TB, r *Renderer, page, lang string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req = req.WithContext(context.WithValue(req.Context(), langKey{}, lang))
	w := httptest.NewRecorder()
	if err := r.Render(w, req, http.StatusOK, page, Page{}); err != nil {
		t.Fatal(err)
	}
	return w.Body.String()
}

// TestRenderLanguages renders pages in every language at once, many
// times each: each page comes out in the language of its own request
// (the kept templates never mix languages), and the renderer keeps one
// template per page and language, not one per request; a language the
// catalogue lacks (which the middleware never passes on) is rendered but
// not kept.
func TestRenderLanguages(t *testing.T) {
	r, cat := newTestRenderer(t)
	langs := cat.Languages()
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(langs))
	for i := range 4 {
		for _, l := range langs {
			wg.Go(func() {
				page := []string{"one", "two"}[i%2]
				out := render(t, r, page, l)
				if !strings.Contains(out, `<p id="lang">`+l+`</p>`) || !strings.Contains(out, `<html lang="`+l+`">`) {
					errs <- fmt.Errorf("%s in %s: another language:\n%s", page, l, out)
				}
				if page == "one" && !strings.Contains(out, `<p id="msg">`+html.EscapeString(cat.T(l, "site.footer"))+`</p>`) {
					errs <- fmt.Errorf("%s in %s: not its message:\n%s", page, l, out)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := len(r.bound), 2*len(langs); got != want {
		t.Errorf("the renderer keeps %d templates for 2 pages in %d languages, want %d", got, len(langs), want)
	}
	out := render(t, r, "one", "xx")
	if !strings.Contains(out, `<p id="lang">xx</p>`) {
		t.Errorf("a language outside the catalogue:\n%s", out)
	}
	if _, ok := r.bound[boundKey{"one", "xx"}]; ok {
		t.Error("the renderer kept a template for a language outside the catalogue")
	}
	if err := r.Render(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "three", Page{}); err == nil {
		t.Error("a page that does not exist rendered")
	}
}

// BenchmarkRender renders a page again and again in one language, as
// every page of both interfaces is.
func BenchmarkRender(b *testing.B) {
	r, _ := newTestRenderer(b)
	for b.Loop() {
		render(b, r, "one", DefaultLanguage)
	}
}
