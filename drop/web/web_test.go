package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestCatalogComplete(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if c.Languages()[0] != DefaultLanguage {
		t.Fatalf("languages %v do not start with English", c.Languages())
	}
	for _, l := range c.Languages() {
		for k := range c.msgs[DefaultLanguage] {
			if c.msgs[l][k] == "" {
				t.Errorf("%s lacks %s", l, k)
			}
		}
	}
}

func TestCatalogRefusesGaps(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"missing key": {
			"l/en.json": {Data: []byte(`{"language.name":"English","a":"A","b":"B"}`)},
			"l/xx.json": {Data: []byte(`{"language.name":"Xx","a":"A"}`)},
		},
		"extra key": {
			"l/en.json": {Data: []byte(`{"language.name":"English","a":"A"}`)},
			"l/xx.json": {Data: []byte(`{"language.name":"Xx","a":"A","z":"Z"}`)},
		},
		"no english": {
			"l/xx.json": {Data: []byte(`{"language.name":"Xx"}`)},
		},
		"bad json": {
			"l/en.json": {Data: []byte(`{"language.name":`)},
		},
	}
	for name, fsys := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := loadCatalog(fsys, "l"); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func testCatalog(t *testing.T) *Catalog {
	c, err := loadCatalog(fstest.MapFS{
		"l/en.json": {Data: []byte(`{"language.name":"English","site.name":"Drop","site.footer":"f","nav.languages":"L","nav.skip":"S","hello":"Hello %s","title":"T"}`)},
		"l/ko.json": {Data: []byte(`{"language.name":"한국어","site.name":"드롭","site.footer":"f","nav.languages":"L","nav.skip":"S","hello":"안녕 %s","title":"T"}`)},
	}, "l")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRendererRefusesUnknownKey(t *testing.T) {
	c := testCatalog(t)
	pages := fstest.MapFS{"p.html": {Data: []byte(`{{define "title"}}{{t "title"}}{{end}}{{define "content"}}{{if .Data}}{{t "no.such.key"}}{{end}}{{end}}`)}}
	if _, err := NewRenderer(pages, c); err == nil || !strings.Contains(err.Error(), "no.such.key") {
		t.Fatalf("NewRenderer: %v", err)
	}
}

func TestLanguageChosenExplicitly(t *testing.T) {
	c := testCatalog(t)
	pages := fstest.MapFS{"p.html": {Data: []byte(`{{define "title"}}{{t "title"}}{{end}}{{define "content"}}<p id=x>{{t "hello" "you"}}</p>{{end}}`)}}
	r, err := NewRenderer(pages, c)
	if err != nil {
		t.Fatal(err)
	}
	h := Language(c, "en")(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.Render(w, req, 200, "p", Page{})
	}))
	get := func(target string, cookie *http.Cookie, accept string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", target, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	if w := get("/", nil, "ko"); !strings.Contains(w.Body.String(), "Hello you") {
		t.Fatalf("Accept-Language was obeyed:\n%s", w.Body)
	}
	w := get("/?lang=ko", nil, "")
	if !strings.Contains(w.Body.String(), "안녕 you") || w.Header().Get("Content-Language") != "ko" {
		t.Fatalf("?lang=ko not applied:\n%s", w.Body)
	}
	ck := w.Result().Cookies()[0]
	if w := get("/", ck, ""); !strings.Contains(w.Body.String(), "안녕 you") {
		t.Fatal("language cookie not applied")
	}
	if w := get("/?lang=zz", nil, ""); !strings.Contains(w.Body.String(), "Hello you") {
		t.Fatal("unknown language not ignored")
	}
	if w := get("/x?lang=ko", nil, ""); !strings.Contains(w.Body.String(), `href="/x?lang=en"`) {
		t.Fatalf("language links do not keep the page:\n%s", w.Body)
	}
	if w := get("/x?agency=iaac&lang=ko&q=%3Cb%3E", nil, ""); !strings.Contains(w.Body.String(), `href="/x?agency=iaac&amp;lang=en&amp;q=%3Cb%3E"`) {
		t.Fatalf("language links do not keep the page's query:\n%s", w.Body)
	}
}

func TestSessions(t *testing.T) {
	clock := time.Unix(1000, 0)
	s := NewSessions[string]("s", time.Minute, time.Hour)
	s.Now = func() time.Time { return clock }
	w := httptest.NewRecorder()
	s.Start(w, "v")
	ck := w.Result().Cookies()[0]
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(ck)
	if v, ok := s.Get(req); !ok || v != "v" {
		t.Fatal("fresh session not found")
	}
	clock = clock.Add(59 * time.Second)
	if _, ok := s.Get(req); !ok {
		t.Fatal("session expired early")
	}
	clock = clock.Add(61 * time.Second)
	if _, ok := s.Get(req); ok {
		t.Fatal("idle session still live")
	}
	w = httptest.NewRecorder()
	s.Start(w, "v2")
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(w.Result().Cookies()[0])
	s.End(httptest.NewRecorder(), req)
	if _, ok := s.Get(req); ok || s.Len() != 0 {
		t.Fatal("ended session still live")
	}
}

func TestRendererRefusesMissingRuntimeKey(t *testing.T) {
	c := testCatalog(t)
	pages := fstest.MapFS{"p.html": {Data: []byte(`{{define "title"}}{{t "title"}}{{end}}{{define "content"}}{{end}}`)}}
	if _, err := NewRenderer(pages, c, "hello"); err != nil {
		t.Fatalf("present key refused: %v", err)
	}
	if _, err := NewRenderer(pages, c, "hello", "stage.nowhere"); err == nil || !strings.Contains(err.Error(), "stage.nowhere") {
		t.Fatalf("missing run-time key: %v", err)
	}
}

func TestBucket(t *testing.T) {
	clock := time.Unix(0, 0)
	b := NewBucket(2, time.Second, func() time.Time { return clock })
	if !b.Full() || !b.Take() {
		t.Fatal("a new bucket is not full")
	}
	b.Refund()
	if !b.Full() {
		t.Fatal("a refunded try was not given back")
	}
	if first, second := b.Take(), b.Take(); !first || !second {
		t.Fatal("two tries not given")
	}
	if b.Take() {
		t.Fatal("taken after the burst was spent")
	}
	clock = clock.Add(1500 * time.Millisecond)
	if !b.Take() || b.Full() {
		t.Fatal("refill wrong after 1.5 s")
	}
	clock = clock.Add(time.Hour)
	b.Refund()
	if !b.Full() {
		t.Fatal("not full after an hour")
	}
}

func TestNewRouter(t *testing.T) {
	cat, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(cat, "en", func(w http.ResponseWriter, r *http.Request, status int, key string) {
		w.WriteHeader(status)
		io.WriteString(w, Lang(r)+" "+key)
	})
	r.Post("/form", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "posted") })
	for _, tc := range []struct {
		method, path, site string
		status             int
		body               string
	}{
		{"POST", "/form", "same-origin", 200, "posted"},
		{"POST", "/form", "cross-site", 403, "en error.cross_origin"},
		{"GET", "/form", "", 405, "en error.method"},
		{"GET", "/nope?lang=ru", "", 404, "ru error.not_found"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.site != "" {
			req.Header.Set("Sec-Fetch-Site", tc.site)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != tc.status || w.Body.String() != tc.body || w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s %s (%s): %d %q, CSP %q", tc.method, tc.path, tc.site, w.Code, w.Body.String(), w.Header().Get("Content-Security-Policy"))
		}
	}
}
