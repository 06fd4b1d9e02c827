package source

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"cleandrop/vault"
)

// FuzzAnswer sends arbitrary multipart bodies as a logged-in reporter's
// answer: none is a 500; the "to" field never reaches a case other than
// the reporter's own (another reporter's case is never touched, whatever
// ref the body names); an answer that is accepted adds items to the own
// case and one that is refused adds none; what it adds keeps the form's
// bounds (one message, MaxFiles files, the cleaning record last exactly
// when there were files). The seeds follow the form's
// rules: an optional "to" first, one message, files, strip fields before
// the files.
func FuzzAnswer(f *testing.F) {
	fx, _ := sealFixture(f, func(c *Config) { c.MaxFiles = 3; c.MaxUpload = 256 << 10 })
	newCase := func() (string, string) {
		before, _ := fx.store.Cases()
		body, ct := partsBody([][2]string{{"agency", "acc"}}, 1, 0)
		req := httptest.NewRequest(http.MethodPost, "/report", body)
		req.Header.Set("Content-Type", ct)
		m := receiptRe.FindStringSubmatch(fx.do(req).Body.String())
		after, _ := fx.store.Cases()
		if m == nil || len(after) != len(before)+1 {
			f.Fatal("report not accepted")
		}
		for _, c := range after {
			if !containsRef(before, c.Ref) {
				return c.Ref, m[1]
			}
		}
		panic("unreachable")
	}
	own, rc := newCase()
	other, _ := newCase()
	lw := fx.login(rc)
	cookies := lw.Result().Cookies()
	if len(cookies) == 0 {
		f.Fatalf("login: %d, no session", lw.Code)
	}
	const boundary = "fuzzb"
	seed := func(fields [][2]string, files int) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary(boundary)
		for _, kv := range fields {
			mw.WriteField(kv[0], kv[1])
		}
		for i := range files {
			w, _ := mw.CreateFormFile("file", fmt.Sprint("f", i, ".txt"))
			fmt.Fprint(w, "data", i)
		}
		mw.Close()
		f.Add(b.Bytes())
	}
	seed([][2]string{{"message", "the answer"}}, 0)
	seed([][2]string{{"to", own}, {"message", "to my own case"}}, 1)
	seed([][2]string{{"to", other}, {"message", "to another reporter's case"}}, 0)
	seed([][2]string{{"to", strings.ToLower(other)}, {"message", "x"}}, 0)
	seed([][2]string{{"message", "x"}, {"to", other}}, 0)
	seed([][2]string{{"strip", "0"}, {"strip", "1"}}, 2)
	seed([][2]string{{"strip", "0"}, {"message", "m"}}, 1)
	seed([][2]string{{"message", "a"}, {"message", "b"}}, 0)
	seed([][2]string{{"message", "m"}}, 4)
	seed(nil, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		ownBefore, _ := fx.store.Case(own)
		otherBefore, _ := fx.store.Case(other)
		req := httptest.NewRequest(http.MethodPost, "/case/answer", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := fx.do(req)
		ownAfter, _ := fx.store.Case(own)
		otherAfter, _ := fx.store.Case(other)
		switch {
		case w.Code >= 500:
			t.Fatalf("status %d", w.Code)
		case len(otherAfter.Items) != len(otherBefore.Items):
			t.Fatalf("status %d: another reporter's case went from %d to %d items", w.Code, len(otherBefore.Items), len(otherAfter.Items))
		case w.Code == http.StatusSeeOther && len(ownAfter.Items) <= len(ownBefore.Items):
			t.Fatalf("accepted, but the case kept %d items", len(ownAfter.Items))
		case w.Code != http.StatusSeeOther && len(ownAfter.Items) != len(ownBefore.Items):
			t.Fatalf("refused with %d, but the case went from %d to %d items", w.Code, len(ownBefore.Items), len(ownAfter.Items))
		}
		// The form's bounds and order, as items: at most one message and
		// MaxFiles files, and a cleaning record last exactly when there were
		// files.
		added := ownAfter.Items[len(ownBefore.Items):]
		count := map[vault.Kind]int{}
		for _, it := range added {
			count[it.Kind]++
		}
		if count[vault.KindAnswer]+count[vault.KindAttachment]+count[vault.KindCleaning] != len(added) ||
			count[vault.KindAnswer] > 1 || count[vault.KindAttachment] > 3 || count[vault.KindCleaning] > 1 ||
			(count[vault.KindAttachment] > 0) != (count[vault.KindCleaning] == 1) ||
			count[vault.KindCleaning] == 1 && added[len(added)-1].Kind != vault.KindCleaning {
			t.Fatalf("an answer added %v", count)
		}
	})
}

func containsRef(cs []vault.Case, ref string) bool {
	for _, c := range cs {
		if c.Ref == ref {
			return true
		}
	}
	return false
}

// FuzzDraft sends arbitrary urlencoded bodies to the draft steps of the
// report form, /report/guide and /report/check: none is a 500, and a draft
// is never sealed nor kept (the promise of those steps: nothing is stored
// until the reporter sends).
func FuzzDraft(f *testing.F) {
	g := &fakeGuide{res: bribery()}
	fx, sealed := sealFixture(f, func(c *Config) { c.Guide = g })
	for _, v := range []url.Values{
		{"agency": {"acc"}, "message": {"he asked for an envelope of cash"}},
		{"agency": {"acc"}, "message": {"bribe"}, "use_template": {"1"}},
		{"pick": {"acc"}, "message": {"x"}},
		{"agency": {"nope"}, "message": {"x"}},
		{"agency": {"acc"}, "message": {"  "}},
		{"agency": {"acc"}, "message": {"call me on +976 9911 2233, I am the deputy's driver"}},
		{"message": {draftTemplate}, "use_template": {"on"}, "agency": {""}},
	} {
		f.Add(true, v.Encode())
		f.Add(false, v.Encode())
	}
	f.Add(true, "message=%zz&agency=acc")
	f.Add(false, "agency=acc&message=a;b")
	f.Fuzz(func(t *testing.T, guide bool, body string) {
		path := "/report/check"
		if guide {
			path = "/report/guide"
		}
		n := sealed.Load()
		before, _ := fx.store.Cases()
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := fx.do(req)
		after, _ := fx.store.Cases()
		if w.Code >= 500 {
			t.Fatalf("%s: status %d", path, w.Code)
		}
		if len(after) != len(before) || sealed.Load() != n {
			t.Fatalf("%s: a draft was kept: %d cases became %d, %d files sealed", path, len(before), len(after), sealed.Load()-n)
		}
		if w.Code == http.StatusOK && !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("%s: content type %q", path, w.Header().Get("Content-Type"))
		}
	})
}
