package source

import (
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"cleandrop/drop/stage"
	"cleandrop/vault"
)

// officerStep is something an officer does on a given day.
type officerStep struct {
	day, stage, note string
}

var (
	nextRe  = regexp.MustCompile(`(?s)<div id="next">(.*?)<h2>`)
	tagRe   = regexp.MustCompile(`<[^>]*>`)
	spaceRe = regexp.MustCompile(`\s+`)
	// clockRe is a time of day, such as 14:05; no page may show one.
	clockRe = regexp.MustCompile(`\b\d{1,2}:\d{2}\b`)
)

// plain is the visible text of an HTML fragment, spaces collapsed.
func plain(s string) string {
	return strings.TrimSpace(spaceRe.ReplaceAllString(html.UnescapeString(tagRe.ReplaceAllString(s, " ")), " "))
}

// followUp logs in with the receipt the way a reporter does and returns
// the whole case page and the visible text of its "what happens next"
// part.
func (f *fixture) followUp(t *testing.T, rc string) (page, next string) {
	t.Helper()
	lw := f.login(rc)
	if lw.Code != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", lw.Code, lw.Body)
	}
	req := httptest.NewRequest(http.MethodGet, "/case", nil)
	for _, c := range lw.Result().Cookies() {
		req.AddCookie(c)
	}
	w := f.do(req)
	if w.Code != http.StatusOK {
		t.Fatalf("case page: %d\n%s", w.Code, w.Body)
	}
	page = w.Body.String()
	m := nextRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the case page has no \"what happens next\" part:\n%s", page)
	}
	return page, plain(m[1])
}

func TestFollowupShowsWhatHappensNext(t *testing.T) {
	tests := []struct {
		name      string
		policy    stage.Policy
		opened    string
		steps     []officerStep
		today     string
		stage     string // the stage as the page names it
		since     string // the day the case reached it
		want, not []string
	}{
		{
			name: "new case: the acknowledgement deadline", policy: stage.EU,
			opened: "2026-01-10", today: "2026-01-12", stage: "Received", since: "2026-01-10",
			want: []string{"The agency must confirm it has your report by 2026-01-17.", "5 day(s) left."},
			not:  []string{"late", "about the delay"},
		},
		{
			name: "due today", policy: stage.EU,
			opened: "2026-01-10", today: "2026-01-17", stage: "Received", since: "2026-01-10",
			want: []string{"The agency must confirm it has your report by 2026-01-17.", "That is today."},
			not:  []string{"left.", "late"},
		},
		{
			name: "acknowledged: the feedback deadline", policy: stage.EU,
			opened: "2026-01-10", steps: []officerStep{{"2026-01-12", "acknowledged", "We have your report."}},
			today: "2026-01-12", stage: "Acknowledged", since: "2026-01-12",
			want: []string{"The agency must tell you what it is doing about your report by 2026-04-12.", "90 day(s) left."},
			not:  []string{"confirm it has your report", "late"},
		},
		{
			name: "acknowledgement overdue", policy: stage.EU,
			opened: "2026-01-10", today: "2026-01-20", stage: "Received", since: "2026-01-10",
			want: []string{
				"The agency must confirm it has your report by 2026-01-17.",
				"This date has passed. The agency is 3 day(s) late.",
				"You can ask the officer about the delay with the form below.",
			},
			not: []string{"left.", "today"},
		},
		{
			name: "feedback overdue", policy: stage.EU,
			opened: "2026-01-10", steps: []officerStep{{"2026-01-12", "acknowledged", ""}},
			today: "2026-05-01", stage: "Acknowledged", since: "2026-01-12",
			want: []string{
				"The agency must tell you what it is doing about your report by 2026-04-12.",
				"This date has passed. The agency is 19 day(s) late.",
			},
		},
		{
			name: "investigating: no deadline runs", policy: stage.EU,
			opened: "2026-01-10", steps: []officerStep{{"2026-01-12", "acknowledged", ""}, {"2026-02-01", "investigating", ""}},
			today: "2026-06-01", stage: "Investigating", since: "2026-02-01",
			want: []string{"No legal deadline runs at this stage."},
			not:  []string{"must", "late", "left."},
		},
		{
			name: "closed: the outcome", policy: stage.EU,
			opened: "2026-01-10", steps: []officerStep{
				{"2026-01-12", "acknowledged", "We have your report."},
				{"2026-02-20", "closed", "The contract was cancelled and the file sent to the prosecutor."},
			},
			today: "2026-06-01", stage: "Closed", since: "2026-02-20",
			want: []string{
				"The case is closed. No more deadlines apply.",
				"The officer's message on closing the case: The contract was cancelled and the file sent to the prosecutor.",
			},
			not: []string{"must", "late", "left.", "We have your report."},
		},
		{
			name: "closed without a closing message", policy: stage.EU,
			opened: "2026-01-10", steps: []officerStep{
				{"2026-01-12", "acknowledged", "We have your report."},
				{"2026-02-20", "closed", ""},
			},
			today: "2026-06-01", stage: "Closed", since: "2026-02-20",
			want: []string{"The case is closed. No more deadlines apply."},
			not:  []string{"on closing the case", "We have your report.", "must"},
		},
		{
			name: "Korea: 60 days to process", policy: stage.Korea,
			opened: "2026-03-01", today: "2026-03-01", stage: "Received", since: "2026-03-01",
			want: []string{"The agency must finish handling your report, or pass it to a body that can act on it, by 2026-04-30.", "60 day(s) left."},
			not:  []string{"confirm it has your report", "tell you what it is doing"},
		},
		{
			name: "Korea: acknowledging does not stop the clock", policy: stage.Korea,
			opened: "2026-03-01", steps: []officerStep{{"2026-03-02", "acknowledged", ""}},
			today: "2026-05-05", stage: "Acknowledged", since: "2026-03-02",
			want: []string{"by 2026-04-30.", "This date has passed. The agency is 5 day(s) late."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.Policy = tc.policy })
			f.clock.SetDay(t, tc.opened)
			w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "The tender was rigged."}}, nil)
			m := receiptRe.FindStringSubmatch(w.Body.String())
			if m == nil {
				t.Fatalf("no receipt: %d\n%s", w.Code, w.Body)
			}
			cs, err := f.store.Cases()
			if err != nil || len(cs) != 1 {
				t.Fatalf("cases: %v, %v", cs, err)
			}
			for _, s := range tc.steps {
				f.clock.SetDay(t, s.day)
				if err := f.store.Post(cs[0].Ref, s.stage, vault.KindNote, []byte(s.note)); err != nil {
					t.Fatal(err)
				}
			}
			f.clock.SetDay(t, tc.today)
			page, next := f.followUp(t, m[1])
			if want := `id="stage">` + tc.stage + `<`; !strings.Contains(page, want) {
				t.Errorf("the page does not show the stage %q", tc.stage)
			}
			if want := "(since " + tc.since + ")"; !strings.Contains(plain(page), want) {
				t.Errorf("the page does not show the day the stage was reached: %q", want)
			}
			for _, s := range tc.want {
				if !strings.Contains(next, s) {
					t.Errorf("missing %q in %q", s, next)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(next, s) {
					t.Errorf("unexpected %q in %q", s, next)
				}
			}
			if tm := clockRe.FindString(page); tm != "" {
				t.Errorf("the page shows a time of day: %q", tm)
			}
		})
	}
}

// TestNewRefusesBrokenPolicy: without working deadlines the reporter
// interface does not start, rather than tell reporters nothing.
func TestNewRefusesBrokenPolicy(t *testing.T) {
	var cfg Config
	newFixture(t, func(c *Config) { cfg = *c })
	for name, p := range map[string]stage.Policy{
		"none":          {},
		"unknown stage": {Stages: stage.Default, Rules: []stage.Rule{{Name: "x", Met: []string{"nope"}, Days: 1}}},
	} {
		t.Run(name, func(t *testing.T) {
			c := cfg
			c.Policy = p
			if _, err := New(c); err == nil || !strings.Contains(err.Error(), "policy") {
				t.Fatalf("New = %v, want a policy error", err)
			}
		})
	}
}
