package source

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cleandrop/drop/web"
	"cleandrop/vault"
)

// fakeCases is case metadata the test can add to.
type fakeCases struct {
	mu    sync.Mutex
	cases []vault.Case
	reads int
}

func (f *fakeCases) Cases() ([]vault.Case, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return slices.Clone(f.cases), nil
}

func (f *fakeCases) add(agency, day string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.cases = append(f.cases, vault.Case{Ref: fmt.Sprintf("STATREF%04dX", len(f.cases)), Agency: agency, Stage: "received", Opened: day})
	}
}

func TestStatsOffByDefault(t *testing.T) {
	f := newFixture(t, nil)
	if w := f.do(httptest.NewRequest("GET", "/stats", nil)); w.Code != http.StatusNotFound {
		t.Fatalf("/stats without public_stats: %d", w.Code)
	}
	if w := f.do(httptest.NewRequest("GET", "/", nil)); strings.Contains(w.Body.String(), `href="/stats"`) {
		t.Error("the landing page links to statistics that are off")
	}
}

var statsRowRe = regexp.MustCompile(`<tr><th scope="row">([^<]+)</th>(.*?)</tr>`)

func statsRows(t *testing.T, body string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, m := range statsRowRe.FindAllStringSubmatch(body, -1) {
		var cells []string
		for _, c := range regexp.MustCompile(`<td>([^<]*)</td>`).FindAllStringSubmatch(m[2], -1) {
			cells = append(cells, c[1])
		}
		out[m[1]] = cells
	}
	return out
}

// TestStatsSmallCountsAndOnceADay: complete months only, newest first;
// counts below 5 hidden, with a second one hidden where the total would
// give the first away; the table changes only when the day does.
func TestStatsSmallCountsAndOnceADay(t *testing.T) {
	src := &fakeCases{}
	src.add("acc", "2025-12-03", 5)
	src.add("b", "2025-12-31", 5)
	src.add("c", "2025-12-01", 5) // d's 0 alone is hidden, so ACC's 5 (the first smallest) is not shown
	src.add("acc", "2026-01-10", 3)
	src.add("acc", "2026-02-01", 7)
	src.add("b", "2026-02-28", 2) // hidden, with d's 0: the total gives only their sum
	src.add("c", "2026-02-14", 6)
	src.add("acc", "2026-03-01", 20) // this month: not shown
	src.add("gone", "2026-02-02", 9) // no longer an agency: left out
	f := newFixture(t, func(c *Config) {
		c.Stats = src
		c.Agencies = []Agency{{ID: "acc", Name: "ACC"}, {ID: "b", Name: "Body B"}, {ID: "c", Name: "Body C"}, {ID: "d", Name: "Body D"}}
	})
	f.clock.SetDay(t, "2026-03-15")
	get := func() string {
		t.Helper()
		w := f.do(httptest.NewRequest("GET", "/stats", nil))
		if w.Code != 200 {
			t.Fatalf("/stats: %d", w.Code)
		}
		for k, v := range web.SecurityHeaders {
			if w.Header().Get(k) != v {
				t.Errorf("%s = %q", k, w.Header().Get(k))
			}
		}
		return w.Body.String()
	}
	body := get()
	if !strings.Contains(body, "<th scope=\"col\">2026-02</th><th scope=\"col\">2026-01</th><th scope=\"col\">2025-12</th></tr>") {
		t.Errorf("months: %s", body)
	}
	few := "fewer than 5"
	want := map[string][]string{
		"ACC":          {"7", few, "not shown"},
		"Body B":       {few, few, "5"},
		"Body C":       {"6", few, "5"},
		"All agencies": {"15", few, "15"},
	}
	if got := statsRows(t, body); !maps(got, want) {
		t.Errorf("table %q, want %q", got, want)
	}
	for _, c := range src.cases {
		if strings.Contains(body, c.Ref) {
			t.Fatal("the page names a case")
		}
	}
	if w := f.do(httptest.NewRequest("GET", "/?lang=ko", nil)); !strings.Contains(w.Body.String(), `href="/stats"`) {
		t.Error("no link to the statistics")
	}
	if ko := f.do(httptest.NewRequest("GET", "/stats?lang=ko", nil)).Body.String(); !strings.Contains(ko, "5건 미만") {
		t.Error("statistics not translated")
	}

	// More reports the same day change nothing, and nothing is read again.
	reads := src.reads
	src.add("b", "2026-02-20", 10)
	if get() != body || src.reads != reads {
		t.Error("the page changed within the day")
	}
	f.clock.SetDay(t, "2026-03-16")
	// February now hides d's 0 alone, and C's 6 is not shown.
	next := statsRows(t, get())
	if !slices.Equal(next["Body B"], []string{"12", few, "5"}) || !slices.Equal(next["Body C"], []string{"not shown", few, "5"}) {
		t.Errorf("next day %q", next)
	}
}

func maps(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// TestStatsNamesInPageLanguage: each agency is named in the page's
// language, as the directory names it; a name only in English is marked
// so.
func TestStatsNamesInPageLanguage(t *testing.T) {
	src := &fakeCases{}
	src.add("acc", "2026-02-03", 6)
	src.add("b", "2026-02-04", 7)
	f := newFixture(t, func(c *Config) {
		c.Stats = src
		c.Agencies = []Agency{{ID: "acc", Name: "ACC", Names: map[string]string{"mn": "Авлигатай тэмцэх газар"}}, {ID: "b", Name: "Body B"}}
	})
	f.clock.SetDay(t, "2026-03-15")
	mn := f.do(httptest.NewRequest("GET", "/stats?lang=mn", nil)).Body.String()
	if !strings.Contains(mn, `<th scope="row">Авлигатай тэмцэх газар</th>`) || !strings.Contains(mn, `<th scope="row" lang="en">Body B</th>`) {
		t.Errorf("Mongolian page's names:\n%s", mn)
	}
	if strings.Contains(mn, ">ACC<") {
		t.Error("the Mongolian page names ACC in English")
	}
	if en := f.do(httptest.NewRequest("GET", "/stats?lang=en", nil)).Body.String(); !strings.Contains(en, `<th scope="row">ACC</th>`) {
		t.Errorf("English page's names:\n%s", en)
	}
}

// stalledWriter is a response whose body write waits until released, as
// a slow client's would.
type stalledWriter struct {
	*httptest.ResponseRecorder
	writing chan struct{}
	release chan struct{}
	once    sync.Once
}

func (w *stalledWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.writing) })
	<-w.release
	return w.ResponseRecorder.Write(p)
}

// TestStatsNotRenderedUnderLock: a request whose response is slow to
// write does not hold up the next one (the table is rendered outside the
// cache's lock).
func TestStatsNotRenderedUnderLock(t *testing.T) {
	src := &fakeCases{}
	src.add("acc", "2026-02-03", 6)
	f := newFixture(t, func(c *Config) {
		c.Stats = src
		c.Agencies = []Agency{{ID: "acc", Name: "ACC"}}
	})
	f.clock.SetDay(t, "2026-03-15")
	slow := &stalledWriter{ResponseRecorder: httptest.NewRecorder(), writing: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		f.h.ServeHTTP(slow, httptest.NewRequest("GET", "/stats", nil))
		close(done)
	}()
	defer func() { <-done }()
	defer close(slow.release)
	<-slow.writing
	second := make(chan int, 1)
	go func() { second <- f.do(httptest.NewRequest("GET", "/stats", nil)).Code }()
	select {
	case code := <-second:
		if code != 200 {
			t.Errorf("second request: %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second /stats waited for the first one's slow response")
	}
}
