package source

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// TestFollowReferredCase: after a referral, the reporter follows the
// receiving agency's case from their own page, reads its officers'
// questions and answers them there.
func TestFollowReferredCase(t *testing.T) {
	acc, _ := age.GenerateX25519Identity()
	ppo, _ := age.GenerateX25519Identity()
	clk := &clock{t: time.Now()}
	st, err := vault.Open(t.TempDir(), vault.Options{Now: clk.Now, Agencies: []vault.Agency{
		{ID: "acc", Name: "ACC", Recipients: []age.Recipient{acc.Recipient()}},
		{ID: "ppo", Name: "Prosecutor", Recipients: []age.Recipient{ppo.Recipient()}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, _ := web.LoadCatalog()
	h, err := New(Config{
		Store: st, Agencies: []Agency{{ID: "acc", Name: "ACC"}, {ID: "ppo", Name: "Prosecutor"}},
		Pepper: receipt.NewPepper(), KDF: fastKDF, Catalog: cat, Policy: stage.EU, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{h: h, store: st, id: acc, clock: clk}
	m := receiptRe.FindStringSubmatch(f.report(t, [][2]string{{"agency", "acc"}, {"message", "The tender was rigged."}}, nil).Body.String())
	if m == nil {
		t.Fatal("no receipt")
	}
	cs, _ := st.Cases()
	own := cs[0].Ref

	// The referral as the desk files it, with one re-sealed item.
	b, err := st.Refer("ppo", vault.Referral{From: own, Stage: "referred", Bundle: strings.Repeat("ab", 32), Source: strings.Repeat("cd", 32), Officer: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, _ := age.Encrypt(&ct, ppo.Recipient())
	io.WriteString(w, "The tender was rigged.")
	w.Close()
	if err := b.AddSealed(vault.KindReport, &ct, nil); err != nil {
		t.Fatal(err)
	}
	other, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Post(other, "acknowledged", vault.KindNote, []byte("The prosecutor has your report.")); err != nil {
		t.Fatal(err)
	}
	if err := st.Post(other, "", vault.KindQuestion, []byte("Who signed the award?")); err != nil {
		t.Fatal(err)
	}

	page, _ := f.followUp(t, m[1])
	text := plain(page)
	for _, want := range []string{
		"Your report was passed on to: Prosecutor",
		"Your report at Prosecutor", "Stage: Acknowledged",
		"The prosecutor has your report.", "Who signed the award?",
		"The agency must tell you what it is doing about your report by",
		"Who should receive your answer?",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "could not be read") {
		t.Error("the referral's own items, sealed to the prosecutor only, show as unreadable messages")
	}
	if !strings.Contains(page, `value="`+other+`" checked`) {
		t.Errorf("the answer does not go to the receiving agency by default:\n%s", page)
	}

	answer := func(to, text string) int {
		lw := f.login(m[1])
		fields := [][2]string{{"message", text}}
		if to != "-" {
			fields = append([][2]string{{"to", to}}, fields...)
		}
		body, ctype := multipartBody(fields, nil)
		req := httptest.NewRequest(http.MethodPost, "/case/answer", body)
		req.Header.Set("Content-Type", ctype)
		for _, c := range lw.Result().Cookies() {
			req.AddCookie(c)
		}
		return f.do(req).Code
	}
	lastKind := func(ref string) (vault.Kind, int) {
		c, _ := st.Case(ref)
		return c.Items[len(c.Items)-1].Kind, c.Items[len(c.Items)-1].ID
	}
	if code := answer(other, "The deputy mayor."); code != http.StatusSeeOther {
		t.Fatalf("answer to the receiving agency: %d", code)
	}
	if k, id := lastKind(other); k != vault.KindAnswer {
		t.Errorf("the receiving case's last item is a %s", k)
	} else {
		rc, _ := st.OpenItem(other, id)
		pr, err := age.Decrypt(rc, ppo)
		if err != nil {
			t.Fatalf("the prosecutor cannot read the answer: %v", err)
		}
		if got, _ := io.ReadAll(pr); string(got) != "The deputy mayor." {
			t.Errorf("answer = %q", got)
		}
	}
	if code := answer("-", "To the first agency."); code != http.StatusSeeOther {
		t.Fatalf("answer without a choice: %d", code)
	}
	if k, _ := lastKind(own); k != vault.KindAnswer {
		t.Errorf("an answer without a choice did not go to the reporter's own case")
	}
	// The prosecutor passes it on again: the reporter follows that too.
	b, err = st.Refer("acc", vault.Referral{From: other, Stage: "referred", Bundle: strings.Repeat("ef", 32), Source: strings.Repeat("01", 32), Officer: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	ct.Reset()
	w, _ = age.Encrypt(&ct, acc.Recipient())
	io.WriteString(w, "The tender was rigged.")
	w.Close()
	if err := b.AddSealed(vault.KindReport, &ct, nil); err != nil {
		t.Fatal(err)
	}
	third, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Post(third, "", vault.KindQuestion, []byte("A third question.")); err != nil {
		t.Fatal(err)
	}
	page, _ = f.followUp(t, m[1])
	if text := plain(page); !strings.Contains(text, "A third question.") || !strings.Contains(page, `value="`+third+`" checked`) {
		t.Errorf("the second referral is not followed:\n%s", text)
	}
	if code := answer(third, "To the third."); code != http.StatusSeeOther {
		t.Errorf("answer to the second referral: %d", code)
	}
	if k, _ := lastKind(third); k != vault.KindAnswer {
		t.Errorf("the answer did not reach the second referral's case")
	}

	before, _ := st.Cases()
	if code := answer("CD-AAAA-AAAA", "elsewhere"); code != http.StatusBadRequest {
		t.Errorf("answer to a case not linked to the reporter's: %d", code)
	}
	after, _ := st.Cases()
	if len(after) != len(before) {
		t.Error("a refused answer created something")
	}
}
