package source

import (
	"bytes"
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"cleandrop/drop/guide"
	"cleandrop/drop/jurisdiction"
	"cleandrop/drop/web"
)

// fakeGuide answers what it is told to, and remembers nothing but how
// often it was asked.
type fakeGuide struct {
	res   guide.Result
	asked int
}

func (g *fakeGuide) Suggest(text, lang string) guide.Result { g.asked++; return g.res }

const draftTemplate = "Who: ___\nWhat: ___\nWhen: 3 March 2026\nHow much: 4,000,000 MNT"

func bribery() guide.Result {
	return guide.Result{
		Lang: "en",
		Categories: []guide.Match{
			{ID: "bribery", Score: 3, Matched: []string{"envelope", "cash"}},
			{ID: "procurement_fraud", Score: 2, Matched: []string{"tender"}},
			{ID: "abuse_of_office", Score: 1, Matched: []string{"director"}},
		},
		Agency:   "acc",
		Template: draftTemplate,
	}
}

func draftFixture(t *testing.T, g Guide, tweak func(*Config)) *fixture {
	t.Helper()
	pack, err := jurisdiction.Load("mn")
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, func(c *Config) {
		c.Guide = g
		c.Pack = pack
		c.Agencies = []Agency{{ID: "acc", Name: "ACC"}, {ID: "central", Name: "Central", Central: true}, {ID: "police", Name: "Police"}}
		if tweak != nil {
			tweak(c)
		}
	})
}

func (f *fixture) postDraft(path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(req)
}

// inOrder reports whether each of subs is in s, after the one before.
func inOrder(s string, subs ...string) bool {
	for _, sub := range subs {
		i := strings.Index(s, sub)
		if i < 0 {
			return false
		}
		s = s[i+len(sub):]
	}
	return true
}

var categoryRe = regexp.MustCompile(`<li data-category="([a-z_]+)">`)

func TestReportStepOne(t *testing.T) {
	f := draftFixture(t, &fakeGuide{}, nil)
	body := get(t, f, "/report").Body.String()
	for _, want := range []string{`action="/report/check"`, `id="guide-ask" formaction="/report/guide" formenctype="application/x-www-form-urlencoded" formnovalidate`, `id="check"`, `id="files-later"`} {
		if !strings.Contains(body, want) {
			t.Errorf("step 1 lacks %s", want)
		}
	}
	if strings.Contains(body, `type="file"`) || strings.Contains(body, "multipart/form-data") {
		t.Error("step 1 has a file input: files are chosen on step 2 only")
	}
	if !inOrder(body, `name="agency"`, `id="message"`, `id="guide-ask"`, `id="check"`) {
		t.Error("step 1: want the agency, the message, then the guide and next buttons")
	}
	plain := newFixture(t, nil)
	if body := get(t, plain, "/report").Body.String(); strings.Contains(body, "guide-ask") {
		t.Error("without a guide the page offers one")
	}
	if w := plain.postDraft("/report/guide", url.Values{"agency": {"acc"}, "message": {"bribe"}}); w.Code != http.StatusMethodNotAllowed && w.Code != http.StatusNotFound {
		t.Errorf("POST /report/guide without a guide: %d", w.Code)
	}
}

func TestGuideAnswer(t *testing.T) {
	g := &fakeGuide{res: bribery()}
	f := draftFixture(t, g, nil)
	draft := "The director took an envelope of cash for the tender. Call me on 9911-2233."
	w := f.postDraft("/report/guide", url.Values{"agency": {""}, "message": {draft}})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("guide: %d\n%s", w.Code, body)
	}
	var got []string
	for _, m := range categoryRe.FindAllStringSubmatch(body, -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != "bribery procurement_fraud abuse_of_office" {
		t.Fatalf("categories %v, want the guide's, best first", got)
	}
	pack, _ := jurisdiction.Load("mn")
	law := pack.Laws["bribery"]
	explain, _ := pack.In(law.Explain, "en")
	for _, want := range []string{
		`<ol id="guide">`, "<strong>Bribery</strong>", "Procurement fraud",
		html.EscapeString(law.Laws[0].Act), html.EscapeString(explain),
		"Words in your text that led here:", "<q>envelope</q>, <q>cash</q>",
		`name="pick" value="acc" formaction="/report/guide"`,
		`<pre id="guide-template">`, html.EscapeString(draftTemplate), `name="use_template"`,
		`<li data-kind="phone">A phone number: <q>9911-2233</q></li>`,
		">\n" + html.EscapeString(draft) + "</textarea>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("guide answer lacks %q", want)
		}
	}
	if !inOrder(body, `id="guide-answer"`, `id="exposure"`, `id="message"`, `id="check"`) {
		t.Error("guide answer: want the answer and the warnings, then the draft and the next button, in one form")
	}

	// The suggested body, picked: chosen in the drop-down, no button.
	w = f.postDraft("/report/guide", url.Values{"agency": {""}, "message": {draft}, "pick": {"acc"}})
	body = w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `<option value="acc" selected>`) || !strings.Contains(body, `id="guide-picked"`) || strings.Contains(body, `name="pick"`) {
		t.Errorf("pick: %d, the body is not chosen:\n%s", w.Code, body)
	}

	// The template goes above the draft, once.
	form := url.Values{"agency": {"acc"}, "message": {draft}, "use_template": {"1"}}
	w = f.postDraft("/report/guide", form)
	body = w.Body.String()
	want := ">\n" + html.EscapeString(draftTemplate+"\n\n"+draft) + "</textarea>"
	if !strings.Contains(body, want) || !strings.Contains(body, `id="guide-template-in"`) || strings.Contains(body, `name="use_template"`) {
		t.Errorf("use_template: the textarea does not hold the template above the draft:\n%s", body)
	}
	form.Set("message", draftTemplate+"\n\n"+draft)
	if body = f.postDraft("/report/guide", form).Body.String(); strings.Count(body, "Who: ___") != 2 { // once in the outline, once in the draft
		t.Errorf("the template went in twice")
	}
}

func TestGuideAgencyOffered(t *testing.T) {
	for _, c := range []struct{ name, agency, want string }{
		{"configured", "police", `value="police"`},
		{"not configured: the central body", "some-body-elsewhere", `value="central"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := bribery()
			res.Agency = c.agency
			f := draftFixture(t, &fakeGuide{res: res}, nil)
			body := f.postDraft("/report/guide", url.Values{"agency": {""}, "message": {"x"}}).Body.String()
			if !strings.Contains(body, `id="guide-pick" name="pick" `+c.want) {
				t.Errorf("the pick button is not for %s:\n%s", c.want, body)
			}
		})
	}
	res := bribery()
	res.Agency = "elsewhere"
	f := draftFixture(t, &fakeGuide{res: res}, func(c *Config) { c.Agencies = []Agency{{ID: "acc", Name: "ACC"}} })
	if body := f.postDraft("/report/guide", url.Values{"message": {"x"}}).Body.String(); strings.Contains(body, `name="pick"`) {
		t.Error("a body that is not configured here is offered")
	}
}

func TestGuideNothingSuggested(t *testing.T) {
	f := draftFixture(t, &fakeGuide{res: guide.Result{Lang: "ko"}}, nil)
	w := f.postDraft("/report/guide?lang=ko", url.Values{"agency": {"acc"}, "message": {"안녕하세요"}})
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `id="guide-none"`) || strings.Contains(body, `<ol id="guide"`) {
		t.Fatalf("nothing suggested: %d, want a sentence and no list:\n%s", w.Code, body)
	}
	if !strings.Contains(body, "안내 기능이 글에서 제안할 내용을 찾지 못했습니다") {
		t.Error("the sentence is not in Korean")
	}
	// The outline is offered even when no category is.
	f = draftFixture(t, &fakeGuide{res: guide.Result{Lang: "en", Template: draftTemplate}}, nil)
	body = f.postDraft("/report/guide", url.Values{"agency": {"acc"}, "message": {"hello"}}).Body.String()
	if !strings.Contains(body, `id="guide-none"`) || !strings.Contains(body, `id="guide-use"`) || strings.Contains(body, `name="pick"`) {
		t.Errorf("no category: want the sentence and the outline, no body to pick:\n%s", body)
	}
}

func TestDraftErrors(t *testing.T) {
	g := &fakeGuide{res: bribery()}
	f := draftFixture(t, g, nil)
	long := strings.Repeat("a", MaxDraft)
	for _, c := range []struct {
		name, path string
		form       url.Values
		status     int
		want       string
	}{
		{"guide: empty text", "/report/guide", url.Values{"agency": {"acc"}, "message": {"  \n "}}, 400, "Write what happened first"},
		{"guide: unknown agency", "/report/guide", url.Values{"agency": {"nope"}, "message": {"kept draft"}}, 400, "Please choose the agency"},
		{"guide: unknown pick", "/report/guide", url.Values{"agency": {"acc"}, "pick": {"nope"}, "message": {"kept draft"}}, 400, "Please choose the agency"},
		{"guide: too large", "/report/guide", url.Values{"message": {long}}, 413, "too long to be checked here"},
		{"check: no agency", "/report/check", url.Values{"agency": {""}, "message": {"kept draft"}}, 400, "Please choose the agency"},
		{"check: unknown agency", "/report/check", url.Values{"agency": {"nope"}, "message": {"kept draft"}}, 400, "Please choose the agency"},
		{"check: too large", "/report/check", url.Values{"agency": {"acc"}, "message": {long}}, 413, "too long to be checked here"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := f.postDraft(c.path, c.form)
			body := w.Body.String()
			if w.Code != c.status || !strings.Contains(body, c.want) {
				t.Fatalf("%d, want %d with %q:\n%s", w.Code, c.status, c.want, body)
			}
			if msg := c.form.Get("message"); len(msg) < 100 && strings.TrimSpace(msg) != "" && !strings.Contains(body, ">\n"+msg+"</textarea>") {
				t.Error("the draft was not kept")
			}
		})
	}
	if g.asked != 0 {
		t.Errorf("the guide was asked %d times for refused requests", g.asked)
	}
	body, ct := multipartBody([][2]string{{"agency", "acc"}, {"message", "x"}}, nil)
	req := httptest.NewRequest(http.MethodPost, "/report/check", body)
	req.Header.Set("Content-Type", ct)
	if w := f.do(req); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `class="error"`) {
		t.Errorf("multipart check: %d, want a translated 400", w.Code)
	}
	w := f.postDraft("/report/guide?lang=mn", url.Values{"message": {""}})
	if w.Code != 400 || !strings.Contains(w.Body.String(), "Эхлээд юу болсныг бичнэ үү") {
		t.Errorf("the empty-text error is not in Mongolian: %d", w.Code)
	}
}

func TestCheckStep(t *testing.T) {
	f := draftFixture(t, &fakeGuide{}, nil)
	draft := "My name is Alice Smith. Write to alice@example.org. On 2026-03-01 they paid 4,000,000 under Art. 12."
	w := f.postDraft("/report/check", url.Values{"agency": {"acc"}, "message": {draft}, "file": {"ignored.pdf"}})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("check: %d\n%s", w.Code, body)
	}
	for _, want := range []string{
		"<h1>Check before sending</h1>",
		`<li data-kind="self">Words that say who you are: <q>My name is Alice Smith</q></li>`,
		`<li data-kind="email">An e-mail address: <q>alice@example.org</q></li>`,
		`formaction="/report/check" formenctype="application/x-www-form-urlencoded"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("step 2 lacks %q", want)
		}
	}
	if n := strings.Count(body, "<li data-kind="); n != 2 {
		t.Errorf("%d warnings, want 2 (no date, sum or article)", n)
	}
	// One multipart form to POST /report: agency first, then the message,
	// then the files; the draft is there to edit.
	if !inOrder(body, `<form method="post" action="/report" enctype="multipart/form-data">`, `<option value="acc" selected>`, `<textarea id="message" name="message"`,
		html.EscapeString(draft)+"</textarea>", `id="check-again"`, `<input id="file" name="file" type="file" multiple`, `id="send"`, `</form>`) {
		t.Errorf("step 2 is not one form with agency, message, check again, files and send, in that order:\n%s", body)
	}

	// Fixed: nothing found, and a sentence that says so.
	w = f.postDraft("/report/check?lang=sq", url.Values{"agency": {"acc"}, "message": {"Drejtori mori para për tenderin."}})
	if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, `id="no-findings"`) || strings.Contains(body, "<li data-kind=") || !strings.Contains(body, "Nuk gjetëm") {
		t.Errorf("nothing found: %d\n%s", w.Code, body)
	}

	// What step 2 sends is today's report.
	rec := f.report(t, [][2]string{{"agency", "acc"}, {"message", "Drejtori mori para."}}, map[string]string{"a.txt": "x"})
	if rec.Code != http.StatusOK || !receiptRe.MatchString(rec.Body.String()) {
		t.Fatalf("report from step 2: %d", rec.Code)
	}
}

// TestDraftsThrottled: a circuit that has its share of guide and check
// answers running is refused at once, others are not.
func TestDraftsThrottled(t *testing.T) {
	drafts := web.NewFair(2, 1)
	g := &fakeGuide{res: bribery()}
	f := draftFixture(t, g, func(c *Config) { c.Drafts = drafts })
	hold, started := make(chan struct{}), make(chan struct{})
	go drafts.Do(context.Background(), "c1", func() { close(started); <-hold })
	<-started
	defer close(hold)
	for _, path := range []string{"/report/guide", "/report/check"} {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{"agency": {"acc"}, "message": {"kept draft"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := f.do(req.WithContext(web.WithCircuit(req.Context(), "c1")))
		if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), ">\nkept draft</textarea>") {
			t.Errorf("%s from a busy circuit: %d, want 429 with the draft kept", path, w.Code)
		}
		req = httptest.NewRequest(http.MethodPost, path, strings.NewReader(url.Values{"agency": {"acc"}, "message": {"x"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if w := f.do(req.WithContext(web.WithCircuit(req.Context(), "c2"))); w.Code != http.StatusOK {
			t.Errorf("%s from another circuit: %d", path, w.Code)
		}
	}
	if g.asked != 1 {
		t.Errorf("the guide ran %d times, want once (for c2)", g.asked)
	}
}

// TestDraftNotLoggedOrStored: nothing of a draft reaches the log or the
// vault, whatever the answer.
func TestDraftNotLoggedOrStored(t *testing.T) {
	const canary = "zebracanary4471"
	var logs bytes.Buffer
	f := draftFixture(t, &fakeGuide{res: bribery()}, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	draft := "I am the accountant of " + canary + " ltd, " + canary + "@example.org"
	for _, form := range []url.Values{
		{"agency": {"acc"}, "message": {draft}},
		{"agency": {"acc"}, "message": {draft}, "use_template": {"1"}},
		{"agency": {"nope"}, "message": {draft}},
		{"message": {strings.Repeat(canary, MaxDraft/len(canary)+1)}},
	} {
		f.postDraft("/report/guide", form)
		f.postDraft("/report/check", form)
	}
	if strings.Contains(logs.String(), canary) {
		t.Fatalf("the log holds the draft:\n%s", logs.String())
	}
	if cases, _ := f.store.Cases(); len(cases) != 0 {
		t.Fatalf("%d cases stored from drafts", len(cases))
	}
}
