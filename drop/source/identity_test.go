package source

import (
	"bytes"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"filippo.io/age"

	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// identityFixture is a drop of one agency, "acc", with a custodian when
// custodian is not nil, and a reporter signed in to a new case.
type identityFixture struct {
	*fixture
	cookie *http.Cookie
	ref    string
}

func newIdentityFixture(t *testing.T, custodian *age.X25519Identity) *identityFixture {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	a := vault.Agency{ID: "acc", Name: "ACC", Recipients: []age.Recipient{id.Recipient()}}
	if custodian != nil {
		a.Custodian = []age.Recipient{custodian.Recipient()}
	}
	st, err := vault.Open(t.TempDir(), vault.Options{Agencies: []vault.Agency{a}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := identityDrop(t, st, id, custodian != nil)
	w := f.report(t, [][2]string{{"agency", "acc"}, {"message", "the report"}}, nil)
	rc := receiptRe.FindStringSubmatch(w.Body.String())[1]
	lw := f.login(rc)
	if lw.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", lw.Code)
	}
	f.cookie = lw.Result().Cookies()[0]
	cs, _ := st.Cases()
	f.ref = cs[0].Ref
	return f
}

// identityDrop is a drop of one agency, "acc", over st, whose officers
// hold id; custodian says whether the agency takes identities.
func identityDrop(t *testing.T, st *vault.Store, id *age.X25519Identity, custodian bool) *identityFixture {
	t.Helper()
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{
		Store: st, Agencies: []Agency{{ID: "acc", Name: "ACC", Custodian: custodian}}, Pepper: receipt.NewPepper(),
		KDF: fastKDF, Catalog: cat, Policy: stage.EU,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &identityFixture{fixture: &fixture{h: h, store: st, id: id}}
}

// casePage is GET /case as the signed-in reporter's browser sends it.
func (f *identityFixture) casePage(t *testing.T, lang string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/case?lang="+lang, nil)
	req.AddCookie(f.cookie)
	w := f.do(req)
	if w.Code != http.StatusOK {
		t.Fatalf("case page: %d", w.Code)
	}
	return w.Body.String()
}

// file posts the identity form as a browser does: same origin, url-encoded.
func (f *identityFixture) file(lang string, form url.Values, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/case/identity?lang="+lang, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if f.cookie != nil {
		req.AddCookie(f.cookie)
	}
	return f.do(req)
}

func (f *identityFixture) identities(t *testing.T) []vault.Item {
	t.Helper()
	c, err := f.store.Case(f.ref)
	if err != nil {
		t.Fatal(err)
	}
	var out []vault.Item
	for _, it := range c.Items {
		if it.Kind == vault.KindIdentity {
			out = append(out, it)
		}
	}
	return out
}

const (
	canaryName    = "Canary Name 7f3a"
	canaryContact = "canary-contact-7f3a@example.org"
)

func goodIdentity() url.Values {
	return url.Values{"name": {"  " + canaryName + " "}, "contact": {canaryContact}, "purpose": {"reward"}, "confirm": {"yes"}}
}

func TestIdentityFiled(t *testing.T) {
	custodian, _ := age.GenerateX25519Identity()
	f := newIdentityFixture(t, custodian)

	page := f.casePage(t, "en")
	for _, want := range []string{`action="/case/identity"`, `id="identity-name"`, `id="identity-contact"`,
		`name="purpose" value="protection"`, `name="purpose" value="reward"`, `name="purpose" value="both"`,
		`name="confirm" value="yes"`, "gives up your anonymity toward the custodian"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %s", want)
		}
	}
	if strings.Contains(page, `id="identity-on-file"`) {
		t.Error("case page says an identity is on file before any was filed")
	}

	w := f.file("en", goodIdentity(), nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/case" {
		t.Fatalf("filing: %d %s", w.Code, w.Body.String())
	}
	ids := f.identities(t)
	if len(ids) != 1 || ids[0].Purpose != vault.PurposeReward {
		t.Fatalf("identities = %+v", ids)
	}

	// The case page says it is on file and for what, and cannot show it.
	page = f.casePage(t, "en")
	for _, want := range []string{"Your identity is on file, encrypted for the custodian", `id="identity-on-file"`, "A reward"} {
		if !strings.Contains(page, want) {
			t.Errorf("case page after filing lacks %q", want)
		}
	}
	if strings.Contains(page, canaryName) || strings.Contains(page, canaryContact) {
		t.Error("the case page shows the identity back")
	}

	// Sealed to the custodian, not to the case officers.
	rc, err := f.store.OpenItem(f.ref, ids[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := io.ReadAll(rc)
	rc.Close()
	if bytes.Contains(sealed, []byte("Canary")) {
		t.Fatal("identity stored in plaintext")
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), custodian)
	if err != nil {
		t.Fatalf("custodian cannot open: %v", err)
	}
	plain, _ := io.ReadAll(r)
	for _, want := range []string{"case: " + f.ref, "purpose: reward", "name: " + canaryName + "\n", canaryContact} {
		if !strings.Contains(string(plain), want) {
			t.Errorf("sealed identity lacks %q:\n%s", want, plain)
		}
	}
	if _, err := age.Decrypt(bytes.NewReader(sealed), f.id); err == nil {
		t.Error("the case officers' key opens the identity")
	}
}

func TestIdentityErrors(t *testing.T) {
	custodian, _ := age.GenerateX25519Identity()
	f := newIdentityFixture(t, custodian)
	with := func(k, v string) url.Values {
		form := goodIdentity()
		if v == "" {
			form.Del(k)
		} else {
			form.Set(k, v)
		}
		return form
	}
	for _, tc := range []struct {
		name   string
		lang   string
		form   url.Values
		status int
		want   string
	}{
		{"empty name", "en", with("name", " \n "), 400, "Please give your name."},
		{"name too long", "en", with("name", strings.Repeat("я", 201)), 400, "The name is too long"},
		{"empty contact", "en", with("contact", ""), 400, "Please say how the custodian can reach you."},
		{"contact too long", "en", with("contact", strings.Repeat("x", 1001)), 400, "The contact is too long"},
		{"bad purpose", "en", with("purpose", "fame"), 400, "Please choose what you ask for"},
		{"no purpose", "en", with("purpose", ""), 400, "Please choose what you ask for"},
		{"not confirmed", "en", with("confirm", ""), 400, "Please tick the box"},
		{"control character", "en", with("name", "a\x1bb"), 400, "characters that cannot be stored"},
		{"empty name in Mongolian", "mn", with("name", ""), 400, "Нэрээ бичнэ үү."},
		{"bad purpose in Korean", "ko", with("purpose", "x"), 400, "보호, 보상, 또는 둘 다 중에서 선택해 주십시오."},
		{"too large", "en", with("contact", strings.Repeat("x", 20<<10)), 413, "The form is too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.file(tc.lang, tc.form, nil)
			body := html.UnescapeString(w.Body.String())
			if w.Code != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("%d, want %d with %q:\n%s", w.Code, tc.status, tc.want, body)
			}
			if tc.status == 400 && tc.name != "empty name" && tc.name != "empty name in Mongolian" && tc.name != "control character" &&
				tc.name != "name too long" && !strings.Contains(body, `value="`+canaryName+`"`) {
				t.Error("the name typed was lost")
			}
		})
	}
	if ids := f.identities(t); len(ids) != 0 {
		t.Fatalf("refused forms filed %d identities", len(ids))
	}
}

func TestIdentityRefusals(t *testing.T) {
	custodian, _ := age.GenerateX25519Identity()
	f := newIdentityFixture(t, custodian)
	if w := f.file("en", goodIdentity(), map[string]string{"Sec-Fetch-Site": "cross-site"}); w.Code != http.StatusForbidden {
		t.Errorf("cross-site filing: %d", w.Code)
	}
	cookie := f.cookie
	f.cookie = nil
	if w := f.file("en", goodIdentity(), nil); w.Code != http.StatusUnauthorized {
		t.Errorf("filing without a session: %d", w.Code)
	}
	f.cookie = cookie
	req := httptest.NewRequest(http.MethodPost, "/case/identity", strings.NewReader("name=x"))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.AddCookie(f.cookie)
	if w := f.do(req); w.Code != http.StatusBadRequest {
		t.Errorf("filing as multipart: %d", w.Code)
	}
	if ids := f.identities(t); len(ids) != 0 {
		t.Fatalf("refused requests filed %d identities", len(ids))
	}
}

func TestIdentityWithoutCustodian(t *testing.T) {
	f := newIdentityFixture(t, nil)
	page := f.casePage(t, "sq")
	if !strings.Contains(page, `id="identity-unavailable"`) || strings.Contains(page, `action="/case/identity"`) {
		t.Error("the case page of an agency without a custodian offers the identity form")
	}
	if !strings.Contains(page, "Ky institucion nuk mund të marrë ende një identitet") {
		t.Error("the explanation is not in Albanian")
	}
	w := f.file("en", goodIdentity(), nil)
	if w.Code != http.StatusConflict || !strings.Contains(html.UnescapeString(w.Body.String()), "cannot take an identity yet") {
		t.Fatalf("filing without a custodian: %d", w.Code)
	}
	if ids := f.identities(t); len(ids) != 0 {
		t.Fatalf("filed %d identities", len(ids))
	}
}
