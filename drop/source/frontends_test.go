package source

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"cleandrop/vault"
)

// frontEnd is another reporter interface over the fixture's vault, its
// follow-up sessions in the vault's records ([Config.Shared]), as a
// second `cleandrop serve` over one shared store would have.
func (f *fixture) frontEnd(t *testing.T) http.Handler {
	t.Helper()
	cfg := f.cfg
	cfg.Shared = f.store
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestReporterSessionsAcrossFrontEnds: a reporter signs in at one
// front-end and reads the officer's question (sealed to the reply key the
// session holds) and answers at the other; the first shows the answer's
// notice. Signed out at the second, the session is refused at the first.
// While it lived, the store held neither the case nor the reply key in
// the clear.
func TestReporterSessionsAcrossFrontEnds(t *testing.T) {
	f := newFixture(t, nil)
	one, two := f.frontEnd(t), f.frontEnd(t)
	w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "hello"}}, nil)
	rc := receiptRe.FindStringSubmatch(w.Body.String())[1]
	cs, err := f.store.Cases()
	if err != nil || len(cs) != 1 {
		t.Fatalf("cases: %d, %v", len(cs), err)
	}
	ref := cs[0].Ref
	if err := f.store.Post(ref, "", vault.KindQuestion, []byte("Who signed the award?")); err != nil {
		t.Fatal(err)
	}
	do := func(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	req := httptest.NewRequest(http.MethodPost, "/followup", strings.NewReader(url.Values{"receipt": {rc}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	lw := do(one, req)
	if lw.Code != http.StatusSeeOther {
		t.Fatalf("login at the first front-end: %d", lw.Code)
	}
	cookie := lw.Result().Cookies()[0]
	with := func(req *http.Request) *http.Request { req.AddCookie(cookie); return req }

	page := do(two, with(httptest.NewRequest(http.MethodGet, "/case", nil)))
	if page.Code != 200 || !strings.Contains(page.Body.String(), "Who signed the award?") {
		t.Fatalf("the case at the second front-end: %d", page.Code)
	}
	body, ct := multipartBody([][2]string{{"message", "The mayor did."}}, nil)
	req = with(httptest.NewRequest(http.MethodPost, "/case/answer", body))
	req.Header.Set("Content-Type", ct)
	if w := do(two, req); w.Code != http.StatusSeeOther {
		t.Fatalf("answer at the second front-end: %d", w.Code)
	}
	if w := do(one, with(httptest.NewRequest(http.MethodGet, "/case", nil))); !strings.Contains(w.Body.String(), "Your answer was encrypted and sent.") {
		t.Fatal("the first front-end does not show the notice of the answer sent at the second")
	}

	recs, err := f.store.Records("sessions.s")
	if err != nil || len(recs) != 1 {
		t.Fatalf("session records: %d, %v", len(recs), err)
	}
	for _, canary := range []string{ref, "AGE-SECRET-KEY", cookie.Value} {
		if bytes.Contains(recs[0].Value, []byte(canary)) || strings.Contains(recs[0].ID, canary) {
			t.Fatalf("the session record shows %q", canary)
		}
	}

	if w := do(two, with(httptest.NewRequest(http.MethodPost, "/logout", nil))); w.Code != 200 {
		t.Fatalf("logout at the second front-end: %d", w.Code)
	}
	if w := do(one, with(httptest.NewRequest(http.MethodGet, "/case", nil))); w.Code != http.StatusUnauthorized {
		t.Fatalf("a session ended at the other front-end: %d", w.Code)
	}
	if recs, _ := f.store.Records("sessions.s"); len(recs) != 0 {
		t.Fatalf("%d session records after signing out", len(recs))
	}
}
