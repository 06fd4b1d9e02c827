package desk

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"cleandrop/drop/web"
)

var (
	thirdParty    = regexp.MustCompile(`(src|href|action)="(https?:)?//`)
	inlineHandler = regexp.MustCompile(`\son[a-z]+=`)
)

func checkHeaders(t *testing.T, h http.Header, body string) {
	t.Helper()
	for k, v := range web.SecurityHeaders {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"ETag", "Last-Modified", "Server"} {
		if h.Get(k) != "" {
			t.Errorf("%s is set", k)
		}
	}
	if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		if strings.Contains(body, "<script") || inlineHandler.MatchString(body) || thirdParty.MatchString(body) {
			t.Errorf("page has a script or a third-party resource")
		}
	}
}

// TestSecurityHeadersOnEveryRoute walks every route of the desk, signed
// out and signed in, and checks the headers and pages of each.
func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "report")
	token, _ := f.acc.Add("dave", RoleOfficer, []string{"acc"})
	sam := f.login("sam", f.enrol("sam", RoleSupervisor, "acc"))
	apiToken, _ := f.acc.NewToken("sam", "t")

	var routes []string
	err := chi.Walk(f.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) < 20 {
		t.Fatalf("walked only %v", routes)
	}
	routes = append(routes, "GET /no-such-page", "DELETE /login", "GET /api/v1/nope")
	fill := strings.NewReplacer("{ref}", ref, "{id}", "1", "{token}", token, "/*", "")
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		path = fill.Replace(path)
		t.Run(rt, func(t *testing.T) {
			// Signed out, and with a bearer token.
			for _, auth := range []string{"", "Bearer " + apiToken} {
				req := httptest.NewRequest(method, path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, req)
				checkHeaders(t, w.Header(), w.Body.String())
			}
			// Signed in, following redirects (the browser also sends
			// the CSRF-safe default of no Origin).
			var resp *http.Response
			var body string
			if method == http.MethodGet {
				resp, body = sam.get(path)
			} else {
				resp, body = sam.post(path, url.Values{})
			}
			checkHeaders(t, resp.Header, body)
		})
	}
}

func TestCrossOrigin(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "report")
	alice := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	for name, hdr := range map[string][2]string{
		"cross site by fetch metadata": {"Sec-Fetch-Site", "cross-site"},
		"cross site by Origin":         {"Origin", "http://evil.example"},
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", f.srv.URL+"/cases/"+ref+"/questions", strings.NewReader("question=x"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(hdr[0], hdr[1])
			resp, err := alice.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Fatalf("%d, want 403", resp.StatusCode)
			}
		})
	}
	if c, _ := f.store.Case(ref); len(c.Items) != 2 {
		t.Fatal("a cross-site post added an item")
	}
}
