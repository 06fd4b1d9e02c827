package source

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/go-chi/chi/v5"

	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// fastKDF keeps tests quick; production uses receipt.DefaultParams.
var fastKDF = receipt.Params{Time: 1, Memory: 8 * 1024, Threads: 1}

type fixture struct {
	h     http.Handler
	store *vault.Store
	id    *age.X25519Identity
	clock *clock
}

// clock is the day both the vault and the handler see; it starts at the
// real time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// SetDay moves the clock to noon of day ("2006-01-02").
func (c *clock) SetDay(t *testing.T, day string) {
	t.Helper()
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.t = d.Add(12 * time.Hour)
	c.mu.Unlock()
}

func newFixture(t testing.TB, tweak func(*Config)) *fixture {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	clk := &clock{t: time.Now()}
	st, err := vault.Open(t.TempDir(), vault.Options{Now: clk.Now, Agencies: []vault.Agency{{ID: "acc", Name: "ACC", Recipients: []age.Recipient{id.Recipient()}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Store: st, Agencies: []Agency{{ID: "acc", Name: "ACC"}}, Pepper: receipt.NewPepper(),
		KDF: fastKDF, Catalog: cat, Policy: stage.EU, Now: clk.Now,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, store: st, id: id, clock: clk}
}

func (f *fixture) do(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	return w
}

func multipartBody(fields [][2]string, files map[string]string) (io.Reader, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for name, content := range files {
		w, _ := mw.CreateFormFile("file", name)
		io.WriteString(w, content)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func (f *fixture) report(t *testing.T, fields [][2]string, files map[string]string) *httptest.ResponseRecorder {
	body, ct := multipartBody(fields, files)
	req := httptest.NewRequest(http.MethodPost, "/report", body)
	req.Header.Set("Content-Type", ct)
	return f.do(req)
}

var receiptRe = regexp.MustCompile(`id="receipt">([^<]+)<`)

func (f *fixture) login(rc string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/followup", strings.NewReader(url.Values{"receipt": {rc}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

func TestSecurityHeadersOnEveryRoute(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Stats = &fakeCases{} })
	var routes []string
	err := chi.Walk(f.h.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	routes = append(routes, "GET /no-such-page", "DELETE /report")
	if len(routes) < 9 {
		t.Fatalf("walked only %v", routes)
	}
	for _, rt := range routes {
		method, path, _ := strings.Cut(rt, " ")
		t.Run(rt, func(t *testing.T) {
			w := f.do(httptest.NewRequest(method, strings.TrimSuffix(path, "/*"), nil))
			for k, v := range web.SecurityHeaders {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range []string{"ETag", "Last-Modified", "Server"} {
				if w.Header().Get(k) != "" {
					t.Errorf("%s is set", k)
				}
			}
			if ct := w.Header().Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
				body := w.Body.String()
				if strings.Contains(body, "<script") || regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(body) {
					t.Errorf("page has a script or a third-party resource")
				}
			}
		})
	}
}

func TestReportErrors(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxUpload = 64 << 10 })
	tests := []struct {
		name   string
		fields [][2]string
		files  map[string]string
		status int
		text   string
	}{
		{"no agency chosen", [][2]string{{"agency", ""}, {"message", "x"}}, nil, 400, "Please choose the agency"},
		{"unknown agency", [][2]string{{"agency", "nope"}, {"message", "x"}}, nil, 400, "Please choose the agency"},
		{"agency not first", [][2]string{{"message", "x"}, {"agency", "acc"}}, nil, 400, "wrong order"},
		{"empty report", [][2]string{{"agency", "acc"}, {"message", ""}}, map[string]string{"": ""}, 400, "Your report was empty"},
		{"unexpected field", [][2]string{{"agency", "acc"}, {"evil", "x"}}, nil, 400, "unexpected field"},
		{"too large", [][2]string{{"agency", "acc"}, {"message", strings.Repeat("x", 100<<10)}}, nil, 413, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.report(t, tc.fields, tc.files)
			if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.text) {
				t.Fatalf("status %d, want %d with %q:\n%s", w.Code, tc.status, tc.text, w.Body)
			}
			if !strings.Contains(w.Body.String(), "Nothing was saved") && tc.name != "no agency chosen" && tc.name != "unknown agency" {
				t.Errorf("the page does not say nothing was saved")
			}
		})
	}
	cs, _ := f.store.Cases()
	if len(cs) != 0 {
		t.Fatalf("refused reports left %d cases", len(cs))
	}
	// Not multipart at all.
	req := httptest.NewRequest(http.MethodPost, "/report", strings.NewReader("agency=acc"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if w := f.do(req); w.Code != 400 {
		t.Fatalf("urlencoded report: %d", w.Code)
	}
}

func TestWrongAndUnknownReceiptLookTheSame(t *testing.T) {
	f := newFixture(t, nil)
	w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "hello"}}, nil)
	rc := receiptRe.FindStringSubmatch(w.Body.String())[1]
	words := strings.Fields(rc)
	// A different valid receipt: the same words in another order.
	words[0], words[1] = words[1], words[0]
	wrong := f.login(strings.Join(words, " "))
	other, _ := receipt.Generate(receipt.Words)
	unknown := f.login(other)
	if wrong.Code != unknown.Code || wrong.Body.String() != unknown.Body.String() {
		t.Fatalf("wrong (%d) and unknown (%d) receipts answer differently", wrong.Code, unknown.Code)
	}
	if len(wrong.Result().Cookies()) != 0 || len(unknown.Result().Cookies()) != 0 {
		t.Fatal("a failed login set a cookie")
	}
	ok := f.login(rc)
	if ok.Code != http.StatusSeeOther || ok.Header().Get("Location") != "/case" {
		t.Fatalf("right receipt: %d %s", ok.Code, ok.Header().Get("Location"))
	}
}

func TestReceiptShapeErrors(t *testing.T) {
	f := newFixture(t, nil)
	for in, want := range map[string]string{
		"":                     "Please enter your receipt",
		"one two":              "seven words",
		"1234 5678":            "28 digits",
		"abacus 1234":          "either words or numbers",
		"a b c d e f zzzzzzzz": "not a receipt word",
	} {
		w := f.login(in)
		if w.Code != 400 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("login %q: %d, want 400 with %q", in, w.Code, want)
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.LoginBurst = 3; c.LoginRefill = time.Minute })
	var codes []int
	for range 5 {
		other, _ := receipt.Generate(receipt.Words)
		codes = append(codes, f.login(other).Code)
	}
	want := []int{401, 401, 401, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("codes %v, want %v", codes, want)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SessionIdle = 50 * time.Millisecond })
	w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "hello"}}, nil)
	rc := receiptRe.FindStringSubmatch(w.Body.String())[1]
	lw := f.login(rc)
	cookie := lw.Result().Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v is not HttpOnly and SameSite=Strict", cookie)
	}
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/case", nil)
		req.AddCookie(cookie)
		return f.do(req)
	}
	if w := get(); w.Code != 200 {
		t.Fatalf("case page: %d", w.Code)
	}
	time.Sleep(80 * time.Millisecond)
	if w := get(); w.Code != 401 || !strings.Contains(w.Body.String(), "session has ended") {
		t.Fatalf("expired session: %d", w.Code)
	}
}

func TestCrossOrigin(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name    string
		headers map[string]string
		ok      bool
	}{
		{"same origin by fetch metadata", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		// Chromium on an http .onion: no fetch metadata, a real Origin
		// (thanks to Referrer-Policy: same-origin).
		{"same origin by Origin", map[string]string{"Origin": "http://example.com"}, true},
		{"cross site by fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"cross site by Origin", map[string]string{"Origin": "http://evil.example"}, false},
		{"opaque origin", map[string]string{"Origin": "null"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody([][2]string{{"agency", "acc"}, {"message", "x"}}, nil)
			req := httptest.NewRequest(http.MethodPost, "http://example.com/report", body)
			req.Header.Set("Content-Type", ct)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			w := f.do(req)
			if tc.ok && w.Code != 200 {
				t.Fatalf("refused: %d", w.Code)
			}
			if !tc.ok && (w.Code != 403 || !strings.Contains(w.Body.String(), "came from another site")) {
				t.Fatalf("not refused: %d", w.Code)
			}
		})
	}
	if cs, _ := f.store.Cases(); len(cs) != 2 {
		t.Fatalf("%d cases, want the 2 same-origin ones", len(cs))
	}
}

func TestAnswerNeedsSession(t *testing.T) {
	f := newFixture(t, nil)
	body, ct := multipartBody([][2]string{{"message", "x"}}, nil)
	req := httptest.NewRequest(http.MethodPost, "/case/answer", body)
	req.Header.Set("Content-Type", ct)
	if w := f.do(req); w.Code != 401 {
		t.Fatalf("answer without a session: %d", w.Code)
	}
}

// TestLogout signs out from the case page: the landing page with its
// links and the signed-out notice, and the session is gone.
func TestLogout(t *testing.T) {
	f := newFixture(t, nil)
	w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "hello"}}, nil)
	rc := receiptRe.FindStringSubmatch(w.Body.String())[1]
	cookie := f.login(rc).Result().Cookies()[0]
	req := httptest.NewRequest(http.MethodPost, "/logout", nil)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(cookie)
	w = f.do(req)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "You are logged out.") || !strings.Contains(body, `href="/followup"`) || !strings.Contains(body, `id="make-report"`) {
		t.Fatalf("logout: %d\n%s", w.Code, body)
	}
	req = httptest.NewRequest(http.MethodGet, "/case", nil)
	req.AddCookie(cookie)
	if w := f.do(req); w.Code != http.StatusUnauthorized {
		t.Fatalf("case page after logout: %d, want 401", w.Code)
	}
}
