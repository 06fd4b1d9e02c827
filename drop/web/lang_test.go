package web

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

// FuzzLanguage sends arbitrary query strings and Cookie headers through
// the language middleware: the language chosen is always one of the
// catalogue's, the query wins over the cookie, and a cookie is set only
// for a language the catalogue has, with exactly that value.
func FuzzLanguage(f *testing.F) {
	c, err := LoadCatalog()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("lang=ko", "")
	f.Add("", "lang=mn")
	f.Add("lang=zz", "lang=sr")
	f.Add("lang=ru&lang=uz", "lang=en; lang=sq")
	f.Add("lang=%6b%6f", "lang=\"ko\"")
	f.Add("lang=en%0d%0aSet-Cookie:%20x=1", "lang=ko\r\nX: y")
	f.Add("lang;=ko&&lang=", "=;;lang")
	f.Fuzz(func(t *testing.T, query, cookie string) {
		var got string
		h := Language(c, "ru")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = Lang(r) }))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.RawQuery = query
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if !c.Has(got) {
			t.Fatalf("chose %q, not in the catalogue", got)
		}
		q := req.URL.Query().Get("lang")
		set := w.Result().Cookies()
		switch {
		case c.Has(q):
			if got != q {
				t.Fatalf("query asks %q, chose %q", q, got)
			}
			if len(set) != 1 || set[0].Name != langCookie || set[0].Value != q || !set[0].HttpOnly || set[0].SameSite != http.SameSiteStrictMode {
				t.Fatalf("query %q set cookies %v", q, set)
			}
		case len(set) != 0:
			t.Fatalf("query %q (not a language) set cookies %v", q, set)
		default:
			want := "ru"
			if ck, err := req.Cookie(langCookie); err == nil && c.Has(ck.Value) {
				want = ck.Value
			}
			if got != want {
				t.Fatalf("query %q, cookie %q: chose %q, want %q", query, cookie, got, want)
			}
		}
		if n := len(w.Header().Values("Set-Cookie")); n > 1 || n == 1 && !slices.Contains(c.Languages(), set[0].Value) {
			t.Fatalf("Set-Cookie %q", w.Header().Values("Set-Cookie"))
		}
	})
}
