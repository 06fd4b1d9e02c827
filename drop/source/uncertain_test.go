package source

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/vault"
	"cleandrop/vault/backend/backendtest"
)

// newUnsureDrop is a drop over a shared vault whose database can be made
// to lose its connection right after a commit was sent.
func newUnsureDrop(t *testing.T) (*identityFixture, *backendtest.Unsure) {
	t.Helper()
	dir := t.TempDir()
	un, blobs := backendtest.OpenUnsure(t, dir)
	officers, _ := age.GenerateX25519Identity()
	custodian, _ := age.GenerateX25519Identity()
	st, err := vault.OpenShared(filepath.Join(dir, "vault"), vault.Shared{Meta: un, Blobs: blobs}, vault.Options{
		Tick: 10 * time.Millisecond,
		Agencies: []vault.Agency{{ID: "acc", Name: "ACC", Recipients: []age.Recipient{officers.Recipient()},
			Custodian: []age.Recipient{custodian.Recipient()}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return identityDrop(t, st, officers, true), un
}

// TestUncertainCommit: when the database's answer to a commit is lost,
// the reporter is not told that nothing was kept, which may be false.
// A new report shows its receipt with what to do: the receipt opens the
// case if it landed and nothing if it did not. An answer or an identity
// shows the case, whose timeline tells.
func TestUncertainCommit(t *testing.T) {
	f, un := newUnsureDrop(t)
	for _, landed := range []bool{true, false} {
		un.Arm(landed)
		w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "the tender was rigged"}}, nil)
		page := w.Body.String()
		m := receiptRe.FindStringSubmatch(page)
		if w.Code != http.StatusServiceUnavailable || m == nil || !strings.Contains(page, "Your report may not have been stored") ||
			!strings.Contains(page, "If the drop says that no report matches the receipt, nothing was kept") {
			t.Fatalf("landed %v: %d, receipt %v:\n%s", landed, w.Code, m != nil, page)
		}
		if un.Armed() {
			t.Fatal("the report's commit was not the uncertain one")
		}
		if strings.Contains(page, "Nothing of this was kept") || strings.Contains(page, "Your report was received") {
			t.Fatalf("landed %v: the page promises what the drop does not know:\n%s", landed, page)
		}
		lw := f.login(m[1])
		switch {
		case landed && lw.Code != http.StatusSeeOther:
			t.Fatalf("the report landed, but its receipt does not log in: %d", lw.Code)
		case !landed && lw.Code != http.StatusUnauthorized:
			t.Fatalf("the report did not land, but its receipt gives %d", lw.Code)
		}
		if landed {
			f.cookie = lw.Result().Cookies()[0]
		}
	}

	// An answer and an identity whose commits are uncertain: the case
	// page, with the message and the timeline to look at.
	ru := func(w *httptest.ResponseRecorder, what string) {
		t.Helper()
		page := w.Body.String()
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(page, "if what you sent today is not in it, please send it again") ||
			!strings.Contains(page, `id="timeline"`) {
			t.Fatalf("%s: %d:\n%s", what, w.Code, page)
		}
		if un.Armed() {
			t.Fatalf("%s: its commit was not the uncertain one", what)
		}
	}
	un.Arm(false)
	body, ct := multipartBody([][2]string{{"message", "The mayor signed it."}}, nil)
	req := httptest.NewRequest(http.MethodPost, "/case/answer", body)
	req.Header.Set("Content-Type", ct)
	req.AddCookie(f.cookie)
	ru(f.do(req), "answer")

	un.Arm(true)
	w := f.file("en", goodIdentity(), nil)
	ru(w, "identity")
	if !strings.Contains(w.Body.String(), canaryContact) {
		t.Error("the identity form lost what the reporter typed")
	}
	cs, err := f.store.Cases()
	if err != nil || len(cs) != 1 {
		t.Fatalf("cases: %d, %v", len(cs), err)
	}
	f.ref = cs[0].Ref
	if n := len(f.identities(t)); n != 1 {
		t.Fatalf("%d identities on file after a commit that landed", n)
	}
}
