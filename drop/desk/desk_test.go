package desk

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/vault"
)

func multipartUpload(t *testing.T, fields [][2]string, file []byte) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if file != nil {
		w, _ := mw.CreateFormFile("file", "reply.age")
		w.Write(file)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

// TestOfficerDay walks one officer's day through the desk, end to end,
// with a real vault.
func TestOfficerDay(t *testing.T) {
	f := newFixture(t)
	opened := f.clock.Now()
	ref, reply := f.newCase("acc", "the mayor took a bribe")

	// Enrolment: password, TOTP secret as URI and QR code, confirm a code.
	token, err := f.acc.Add("alice", RoleOfficer, []string{"acc"})
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	if resp, body := b.get("/enrol/" + token); resp.StatusCode != 200 || !strings.Contains(body, "Welcome, alice") {
		t.Fatalf("enrolment form: %d\n%s", resp.StatusCode, body)
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		text   string
	}{
		{"short password", url.Values{"password": {"short"}, "confirm": {"short"}}, 400, "too short"},
		{"mismatch", url.Values{"password": {testPassword}, "confirm": {testPassword + "x"}}, 400, "not the same"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := b.post("/enrol/"+token, tc.form)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
				t.Fatalf("%d, want %d with %q:\n%s", resp.StatusCode, tc.status, tc.text, body)
			}
		})
	}
	if resp, _ := b.get("/enrol/" + token + "/qr.png"); resp.StatusCode != 404 {
		t.Fatalf("QR code before a password was chosen: %d", resp.StatusCode)
	}
	_, body := b.post("/enrol/"+token, url.Values{"password": {testPassword}, "confirm": {testPassword}})
	m := secretRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret:\n%s", body)
	}
	secret, _ := b32.DecodeString(m[1])
	if !strings.Contains(body, "otpauth://totp/cleandrop:alice?secret="+m[1]+"&amp;issuer=cleandrop") {
		t.Fatalf("no otpauth URI:\n%s", body)
	}
	if !strings.Contains(body, `<img src="/enrol/`+token+`/qr.png"`) {
		t.Fatalf("no same-origin QR image:\n%s", body)
	}
	resp, png := b.get("/enrol/" + token + "/qr.png")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(png, "\x89PNG\r\n") {
		t.Fatalf("QR code: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp, body := b.post("/enrol/"+token, url.Values{"code": {"000000"}}); resp.StatusCode != 400 || !strings.Contains(body, "code is not right") {
		t.Fatalf("wrong enrolment code: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := b.post("/enrol/"+token, url.Values{"code": {totpCode(secret, f.clock.Now())}}); resp.StatusCode != 200 || !strings.Contains(body, "Your account is ready") {
		t.Fatalf("enrolment: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := b.get("/enrol/" + token); resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired or was already used") {
		t.Fatalf("used enrolment link: %d", resp.StatusCode)
	}

	// Sign in; the case list shows the case with its EU deadline.
	b = f.login("alice", secret)
	_, body = b.get("/")
	due := opened.AddDate(0, 0, 7).Format(time.DateOnly)
	for _, want := range []string{ref, "acc", "Received", opened.Format(time.DateOnly), "Acknowledge receipt: " + due + " (7 days left)", `<td class="unread"><strong>2</strong></td>`} {
		if !strings.Contains(body, want) {
			t.Fatalf("case list lacks %q:\n%s", want, body)
		}
	}

	// Open the case: the reporter's items are new once, then seen.
	resp, body = b.get("/cases/" + ref)
	if resp.StatusCode != 200 || strings.Count(body, "NEW") != 2 || !strings.Contains(body, reply.Recipient().String()) {
		t.Fatalf("case page: %d\n%s", resp.StatusCode, body)
	}
	if _, body = b.get("/"); !strings.Contains(body, `<td class="unread">0</td>`) {
		t.Fatalf("unread count did not drop to 0:\n%s", body)
	}

	// Acknowledge with a note to the reporter.
	resp, body = b.post("/cases/"+ref+"/stage", url.Values{"stage": {"acknowledged"}, "note": {"We have your report."}})
	if resp.StatusCode != 200 || !strings.Contains(body, "The stage was changed.") || !strings.Contains(body, `id="stage">Acknowledged<`) {
		t.Fatalf("acknowledge: %d\n%s", resp.StatusCode, body)
	}
	c, _ := f.store.Case(ref)
	if c.Stage != "acknowledged" || c.Items[2].Kind != vault.KindNote {
		t.Fatalf("after acknowledging: stage %s, items %+v", c.Stage, c.Items)
	}
	note := f.item(ref, 3)
	if open(t, note, reply) != "We have your report." || open(t, note, f.agency) != "We have your report." {
		t.Fatal("note not sealed to the reporter and the agency")
	}
	if _, body = b.get("/"); strings.Contains(body, "Acknowledge receipt") || !strings.Contains(body, "Feedback to the reporter: "+opened.AddDate(0, 3, 0).Format(time.DateOnly)) {
		t.Fatalf("deadline after acknowledging:\n%s", body)
	}

	// Ask a question.
	resp, body = b.post("/cases/"+ref+"/questions", url.Values{"question": {"When did it happen?"}})
	if resp.StatusCode != 200 || !strings.Contains(body, "Your question was encrypted and sent.") {
		t.Fatalf("question: %d\n%s", resp.StatusCode, body)
	}
	if q := f.item(ref, 4); open(t, q, reply) != "When did it happen?" {
		t.Fatal("question not sealed to the reporter")
	}

	// Download a sealed item and open it with the agency's identity.
	resp, body = b.get("/cases/" + ref + "/items/1")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="001-report.age"` {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	if got := open(t, []byte(body), f.agency); got != "the mayor took a bribe" {
		t.Fatalf("downloaded report: %q", got)
	}
	if resp, _ := b.get("/cases/" + ref + "/items/2"); resp.Header.Get("Content-Disposition") != `attachment; filename="002-attachment.age"` {
		t.Fatalf("attachment download: %v", resp.Header)
	}
	if resp, _ := b.get("/cases/" + ref + "/items/99"); resp.StatusCode != 404 {
		t.Fatalf("unknown item: %d", resp.StatusCode)
	}

	// Upload an item sealed on the offline machine.
	sealed := sealTo(t, "Decision: referred to the prosecutor.", f.agency.Recipient(), reply.Recipient())
	ubody, ct := multipartUpload(t, [][2]string{{"kind", "note"}}, sealed)
	resp, body = b.postBody("/cases/"+ref+"/items", ct, ubody)
	if resp.StatusCode != 200 || !strings.Contains(body, "The sealed item was stored.") {
		t.Fatalf("upload: %d\n%s", resp.StatusCode, body)
	}
	if got := f.item(ref, 5); !bytes.Equal(got, sealed) || open(t, got, reply) != "Decision: referred to the prosecutor." {
		t.Fatal("uploaded item not stored as is")
	}
	if c, _ := f.store.Case(ref); len(c.Items) != 5 {
		t.Fatalf("%d items, want 5", len(c.Items))
	}

	// Export the bundle.
	resp, body = b.get("/cases/" + ref + "/export")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	tr := tar.NewReader(strings.NewReader(body))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if len(names) == 0 || names[0] != "manifest.json" || !slices.Contains(names, "items/001-report.age") || !slices.Contains(names, "items/004-question.age") {
		t.Fatalf("bundle holds %v", names)
	}

	// Log out: the session is gone.
	if _, body := b.post("/logout", nil); !strings.Contains(body, "You are signed out.") {
		t.Fatalf("logout:\n%s", body)
	}
	if resp, _ := b.get("/cases/" + ref); resp.StatusCode != 401 {
		t.Fatalf("case page after logout: %d", resp.StatusCode)
	}

	// The audit log has every action, in order.
	want := []string{
		"alice enrol ", "alice login ", "alice case.view " + ref, "alice stage.change " + ref,
		"alice question " + ref, "alice item.download " + ref, "alice item.upload " + ref,
		"alice export " + ref, "alice logout ",
	}
	got := actions(t, f.audit)
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("audit log %q lacks %q in order", got, want[i])
	}
	es, _ := f.audit.Entries(nil, 0)
	for _, e := range es {
		if strings.Contains(e.Detail, "mayor") || strings.Contains(e.Detail, "happen") {
			t.Fatalf("audit entry holds content: %+v", e)
		}
	}

	// Nothing secret or identifying reached the log.
	logs := f.logText()
	for _, canary := range []string{ref, testPassword, "We have your report", "When did it happen", "mayor", token, m[1]} {
		if strings.Contains(logs, canary) {
			t.Errorf("log contains %q:\n%s", canary, logs)
		}
	}
}

// TestSupervisorAudit: supervisors see the audit log of their agencies;
// officers get 403.
func TestSupervisorAudit(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "report a")
	refB, _ := f.newCase("other", "report b")
	alice := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	bob := f.login("bob", f.enrol("bob", RoleOfficer, "other"))
	sam := f.login("sam", f.enrol("sam", RoleSupervisor, "acc"))
	alice.get("/cases/" + ref)
	bob.get("/cases/" + refB)

	if resp, body := alice.get("/audit"); resp.StatusCode != 403 || !strings.Contains(body, "Only supervisors") {
		t.Fatalf("officer on /audit: %d", resp.StatusCode)
	}
	resp, body := sam.get("/audit")
	if resp.StatusCode != 200 {
		t.Fatalf("supervisor on /audit: %d", resp.StatusCode)
	}
	for _, want := range []string{"<td>alice</td>", "opened the case", ref, "signed in"} {
		if !strings.Contains(body, want) {
			t.Fatalf("audit page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, refB) || strings.Contains(body, "<td>bob</td>") {
		t.Fatalf("audit page shows another agency:\n%s", body)
	}
	// Newest first: alice opened the case after everyone signed in.
	if i, j := strings.Index(body, "opened the case"), strings.LastIndex(body, "signed in"); i < 0 || j < 0 || i > j {
		t.Fatalf("audit rows not newest first:\n%s", body)
	}
	if _, body := sam.get("/audit?case=" + ref); !strings.Contains(body, ref) || strings.Contains(body, "signed in") {
		t.Fatalf("filtered audit page:\n%s", body)
	}
	// Same scope as an officer otherwise.
	if resp, _ := sam.get("/cases/" + refB); resp.StatusCode != 404 {
		t.Fatalf("supervisor on another agency's case: %d", resp.StatusCode)
	}
}

// TestScope: a case of another agency does not exist for an officer, on
// pages and on the API, for reading and for writing.
func TestScope(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "report a")
	refB, _ := f.newCase("other", "report b")
	alice := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	if _, body := alice.get("/"); !strings.Contains(body, ref) || strings.Contains(body, refB) {
		t.Fatalf("case list scope:\n%s", body)
	}
	token, err := f.acc.NewToken("alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	sealed := sealTo(t, "x", f.other.Recipient())
	tests := []struct {
		name string
		do   func() *http.Response
	}{
		{"page", func() *http.Response { r, _ := alice.get("/cases/" + refB); return r }},
		{"page item", func() *http.Response { r, _ := alice.get("/cases/" + refB + "/items/1"); return r }},
		{"page export", func() *http.Response { r, _ := alice.get("/cases/" + refB + "/export"); return r }},
		{"page stage", func() *http.Response {
			r, _ := alice.post("/cases/"+refB+"/stage", url.Values{"stage": {"closed"}})
			return r
		}},
		{"page question", func() *http.Response {
			r, _ := alice.post("/cases/"+refB+"/questions", url.Values{"question": {"q"}})
			return r
		}},
		{"page upload", func() *http.Response {
			body, ct := multipartUpload(t, [][2]string{{"kind", "note"}}, sealed)
			r, _ := alice.postBody("/cases/"+refB+"/items", ct, body)
			return r
		}},
		{"api case", func() *http.Response { return f.api(token, "GET", "/api/v1/cases/"+refB, "", nil) }},
		{"api item", func() *http.Response { return f.api(token, "GET", "/api/v1/cases/"+refB+"/items/1", "", nil) }},
		{"api export", func() *http.Response { return f.api(token, "GET", "/api/v1/cases/"+refB+"/export", "", nil) }},
		{"api question", func() *http.Response {
			return f.api(token, "POST", "/api/v1/cases/"+refB+"/questions", "text/plain", strings.NewReader("q"))
		}},
		{"api stage", func() *http.Response {
			return f.api(token, "POST", "/api/v1/cases/"+refB+"/stage", "application/json", strings.NewReader(`{"stage":"closed"}`))
		}},
		{"api upload", func() *http.Response {
			return f.api(token, "POST", "/api/v1/cases/"+refB+"/items", "application/octet-stream", bytes.NewReader(sealed))
		}},
		{"unknown case", func() *http.Response { r, _ := alice.get("/cases/CD-0000-0000"); return r }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if resp := tc.do(); resp.StatusCode != 404 {
				t.Fatalf("%d, want 404", resp.StatusCode)
			}
		})
	}
	if c, _ := f.store.Case(refB); len(c.Items) != 2 || c.Stage != "received" {
		t.Fatalf("another agency's case changed: %+v", c)
	}
}

// TestLoginRefusals: every wrong sign-in gets the same page and status.
func TestLoginRefusals(t *testing.T) {
	f := newFixture(t)
	secret := f.enrol("alice", RoleOfficer, "acc")
	bobSecret := f.enrol("bob", RoleOfficer, "acc")
	if err := f.acc.Revoke("bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.Add("carol", RoleOfficer, []string{"acc"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(totpPeriod * time.Second)
	code := totpCode(secret, f.clock.Now())
	good := f.browser()
	if resp, _ := good.post("/login", url.Values{"name": {"alice"}, "password": {testPassword}, "code": {code}}); resp.StatusCode != 200 {
		t.Fatalf("good login: %d", resp.StatusCode)
	}
	tests := []struct {
		name, user, password, code string
	}{
		{"wrong password", "alice", testPassword + "!", totpCode(secret, f.clock.Now().Add(30*time.Second))},
		{"wrong code", "alice", testPassword, "123456"},
		{"replayed code", "alice", testPassword, code},
		{"unknown officer", "mallory", testPassword, code},
		{"revoked officer", "bob", testPassword, totpCode(bobSecret, f.clock.Now())},
		{"not enrolled", "carol", testPassword, "123456"},
		{"empty", "", "", ""},
	}
	var first string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.browser().post("/login", url.Values{"name": {tc.user}, "password": {tc.password}, "code": {tc.code}})
			if resp.StatusCode != 401 || !strings.Contains(body, "Sign-in failed.") {
				t.Fatalf("%d\n%s", resp.StatusCode, body)
			}
			if first == "" {
				first = body
			} else if body != first {
				t.Fatal("refusal page differs from the first one")
			}
			if len(resp.Cookies()) != 0 {
				t.Fatal("a refused sign-in set a cookie")
			}
		})
	}
	// A revoked officer's live session ends at the next request.
	f.clock.Add(totpPeriod * time.Second)
	carolless := f.login("alice", secret)
	if err := f.acc.Revoke("alice"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := carolless.get("/"); resp.Request.URL.Path != "/login" {
		t.Fatalf("revoked officer still sees %s", resp.Request.URL.Path)
	}
}

func TestLoginThrottle(t *testing.T) {
	f := newFixture(t)
	secret := f.enrol("alice", RoleOfficer, "acc")
	var codes []int
	for range nameBurst + 1 {
		resp, _ := f.browser().post("/login", url.Values{"name": {"alice"}, "password": {"wrong password!"}, "code": {"000000"}})
		codes = append(codes, resp.StatusCode)
	}
	if codes[nameBurst-1] != 401 || codes[nameBurst] != 429 {
		t.Fatalf("codes %v", codes)
	}
	// Even the right password waits.
	f.clock.Add(totpPeriod * time.Second / 2)
	if resp, _ := f.browser().post("/login", url.Values{"name": {"alice"}, "password": {testPassword}, "code": {totpCode(secret, f.clock.Now())}}); resp.StatusCode != 429 {
		t.Fatalf("throttled right login: %d", resp.StatusCode)
	}
	// Another name is not held up by alice's failures.
	if resp, _ := f.browser().post("/login", url.Values{"name": {"bob"}, "password": {"x"}, "code": {"1"}}); resp.StatusCode != 401 {
		t.Fatalf("other name: %d", resp.StatusCode)
	}
	f.clock.Add(nameRefill)
	f.login("alice", secret)
}

func TestEnrolLinks(t *testing.T) {
	f := newFixture(t)
	token, _ := f.acc.Add("dave", RoleOfficer, []string{"acc"})
	revoked, _ := f.acc.Add("erin", RoleOfficer, []string{"acc"})
	f.acc.Revoke("erin")
	if resp, _ := f.browser().get("/enrol/" + token); resp.StatusCode != 200 {
		t.Fatalf("fresh link: %d", resp.StatusCode)
	}
	f.clock.Add((EnrolDays + 1) * 24 * time.Hour)
	for name, tok := range map[string]string{"expired": token, "revoked": revoked, "unknown": randomToken()} {
		t.Run(name, func(t *testing.T) {
			for _, method := range []string{"GET", "POST"} {
				var resp *http.Response
				var body string
				if method == "GET" {
					resp, body = f.browser().get("/enrol/" + tok)
				} else {
					resp, body = f.browser().post("/enrol/"+tok, url.Values{"password": {testPassword}, "confirm": {testPassword}})
				}
				if resp.StatusCode != http.StatusGone || !strings.Contains(body, "This setup link has expired or was already used.") {
					t.Fatalf("%s: %d\n%s", method, resp.StatusCode, body)
				}
			}
		})
	}
	// Translated.
	if _, body := f.browser().get("/enrol/" + token + "?lang=en"); !strings.Contains(body, `lang="en"`) {
		t.Fatal("no language")
	}
}

func TestAccounts(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, user, role string
		agencies         []string
		err              error
	}{
		{"ok", "alice", RoleOfficer, []string{"acc"}, nil},
		{"exists", "alice", RoleOfficer, []string{"acc"}, ErrExists},
		{"upper case", "Alice", RoleOfficer, []string{"acc"}, ErrBadName},
		{"too short", "a", RoleOfficer, []string{"acc"}, ErrBadName},
		{"too long", strings.Repeat("a", 33), RoleOfficer, []string{"acc"}, ErrBadName},
		{"slash", "a/b", RoleOfficer, []string{"acc"}, ErrBadName},
		{"bad role", "bob", "admin", []string{"acc"}, ErrBadRole},
		{"no agencies", "bob", RoleOfficer, nil, ErrNoAgencies},
		{"blank agency", "bob", RoleOfficer, []string{" "}, ErrNoAgencies},
		{"supervisor", "sam", RoleSupervisor, []string{"acc", "other"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := f.acc.Add(tc.user, tc.role, tc.agencies)
			if err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && len(tok) < 40 {
				t.Fatalf("short token %q", tok)
			}
		})
	}
	key := "QVZJ2JZB7FJVT3XDWFDPQCUC6EO36YJSQ2DUBK5SRXOWZOBMSFUQ"
	if err := f.acc.SetClientKey("alice", "descriptor:x25519:"+strings.ToLower(key)); err != nil {
		t.Fatal(err)
	}
	if err := f.acc.SetClientKey("alice", "nope"); err != ErrBadKey {
		t.Fatalf("bad key: %v", err)
	}
	if err := f.acc.SetClientKey("nobody", key); err != ErrNoOfficer {
		t.Fatalf("unknown officer: %v", err)
	}
	if _, err := f.acc.NewToken("alice", "laptop"); err != ErrNotEnrolled {
		t.Fatalf("token for an officer not yet enrolled: %v", err)
	}
	f.enrol("carol", RoleOfficer, "acc")
	if _, err := f.acc.NewToken("carol", ""); err != ErrBadLabel {
		t.Fatalf("empty label: %v", err)
	}
	if _, err := f.acc.NewToken("carol", "laptop"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.NewToken("carol", "laptop"); err != ErrExists {
		t.Fatalf("duplicate label: %v", err)
	}
	list, err := f.acc.List()
	if err != nil || len(list) != 3 || list[0].Name != "alice" || list[1].Name != "carol" || list[2].Name != "sam" {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if a := list[0]; a.ClientKey != key || len(a.Tokens) != 0 {
		t.Fatalf("alice = %+v", a)
	}
	a := list[1]
	if len(a.Tokens) != 1 || a.Tokens[0].Name != "laptop" {
		t.Fatalf("carol = %+v", a)
	}
	if a.PasswordHash != "" || a.TOTPSecret != nil || a.EnrolHash != nil || a.Tokens[0].Hash != nil {
		t.Fatalf("List leaks secrets: %+v", a)
	}
	if err := f.acc.Revoke("nobody"); err != ErrNoOfficer {
		t.Fatalf("revoke unknown: %v", err)
	}
}

func TestPasswordHash(t *testing.T) {
	a := NewAccounts(nil, nil, nil)
	a.kdf = testKDF
	h1, _ := a.hashPassword(t.Context(), "pw one two three")
	h2, _ := a.hashPassword(t.Context(), "pw one two three")
	if h1 == h2 {
		t.Fatal("same salt twice")
	}
	if !strings.HasPrefix(h1, "argon2id$v=19$m=8192,t=1,p=1$") {
		t.Fatalf("parameters not recorded: %s", h1)
	}
	tests := []struct {
		name, hash, pw string
		ok             bool
	}{
		{"right", h1, "pw one two three", true},
		{"wrong", h1, "pw one two thre", false},
		{"dummy", a.dummyHash(), "pw one two three", false},
		{"garbage", "argon2id$x", "pw", false},
		{"huge memory", "argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA", "pw", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := a.checkPassword(t.Context(), tc.hash, tc.pw); got != tc.ok || err != nil {
				t.Fatalf("checkPassword = %v", got)
			}
		})
	}
}

func (f *fixture) api(token, method, path, ct string, body io.Reader) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp
}

func TestAPI(t *testing.T) {
	f := newFixture(t)
	ref, reply := f.newCase("acc", "report a")
	f.newCase("other", "report b")
	f.enrol("alice", RoleOfficer, "acc")
	token, err := f.acc.NewToken("alice", "script")
	if err != nil {
		t.Fatal(err)
	}
	f.enrol("bob", RoleOfficer, "acc")
	bobToken, _ := f.acc.NewToken("bob", "script")
	f.acc.Revoke("bob")

	t.Run("auth", func(t *testing.T) {
		for name, tok := range map[string]string{
			"missing": "", "wrong": "alice.AAAA", "no officer part": "AAAA",
			"unknown officer": "mallory." + randomToken(), "other officer's secret": "alice" + bobToken[strings.IndexByte(bobToken, '.'):],
			"revoked officer": bobToken,
		} {
			resp := f.api(tok, "GET", "/api/v1/cases", "", nil)
			var e map[string]string
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != 401 || e["error"] == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: %d %v", name, resp.StatusCode, e)
			}
		}
	})

	resp := f.api(token, "GET", "/api/v1/cases", "", nil)
	var list []CaseSummary
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 {
		t.Fatalf("list: %d %v", resp.StatusCode, err)
	}
	if len(list) != 1 || list[0].Ref != ref || list[0].Unread != 2 || len(list[0].Deadlines) != 2 ||
		list[0].Deadlines[0].Rule != "acknowledge" || list[0].Deadlines[0].Left != 7 {
		t.Fatalf("list = %+v", list)
	}

	resp = f.api(token, "GET", "/api/v1/cases/"+ref, "", nil)
	var d CaseDetail
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.Ref != ref || len(d.ItemList) != 2 || d.ItemList[1].Kind != vault.KindAttachment || d.ReplyRecipient != reply.Recipient().String() {
		t.Fatalf("case: %d %+v %v", resp.StatusCode, d, err)
	}

	steps := []struct {
		name, method, path, ct, body string
		status                       int
	}{
		{"question", "POST", "/questions", "text/plain; charset=utf-8", "Who else knows?", 200},
		{"empty question", "POST", "/questions", "text/plain", "  ", 400},
		{"question as JSON", "POST", "/questions", "application/json", `"q"`, 415},
		{"stage", "POST", "/stage", "application/json", `{"stage":"acknowledged","note":"Thank you."}`, 200},
		{"same stage", "POST", "/stage", "application/json", `{"stage":"acknowledged"}`, 409},
		{"unknown stage", "POST", "/stage", "application/json", `{"stage":"lost"}`, 400},
		{"bad JSON", "POST", "/stage", "application/json", `{"stage":`, 400},
		{"not age", "POST", "/items", "application/octet-stream", "hello", 400},
		{"bad kind", "POST", "/items?kind=report", "application/octet-stream", "age-encryption.org/v1\n", 400},
		{"empty upload", "POST", "/items", "application/octet-stream", "", 400},
		{"no such endpoint", "GET", "/nope", "", "", 404},
		{"wrong method", "DELETE", "/stage", "", "", 405},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			resp := f.api(token, s.method, "/api/v1/cases/"+ref+s.path, s.ct, strings.NewReader(s.body))
			var e map[string]string
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != s.status || (s.status != 200 && e["error"] == "") {
				t.Fatalf("%d %v, want %d", resp.StatusCode, e, s.status)
			}
		})
	}
	c, _ := f.store.Case(ref)
	if c.Stage != "acknowledged" || len(c.Items) != 4 || c.Items[2].Kind != vault.KindQuestion || c.Items[3].Kind != vault.KindNote {
		t.Fatalf("after API writes: %s %+v", c.Stage, c.Items)
	}
	if open(t, f.item(ref, 3), reply) != "Who else knows?" || open(t, f.item(ref, 4), reply) != "Thank you." {
		t.Fatal("API texts not sealed to the reporter")
	}

	resp = f.api(token, "GET", "/api/v1/cases/"+ref+"/items/1", "", nil)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || open(t, b, f.agency) != "report a" {
		t.Fatalf("item: %d", resp.StatusCode)
	}
	resp = f.api(token, "GET", "/api/v1/cases/"+ref+"/export", "", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("export: %d", resp.StatusCode)
	}

	sealed := sealTo(t, "offline reply", f.agency.Recipient(), reply.Recipient())
	resp = f.api(token, "POST", "/api/v1/cases/"+ref+"/items?kind=question", "application/octet-stream", bytes.NewReader(sealed))
	if resp.StatusCode != 200 || !bytes.Equal(f.item(ref, 5), sealed) {
		t.Fatalf("upload: %d", resp.StatusCode)
	}

	// API actions are audited as the token's officer.
	got := strings.Join(actions(t, f.audit), "\n")
	for _, want := range []string{"alice question " + ref, "alice stage.change " + ref, "alice item.download " + ref, "alice export " + ref} {
		if !strings.Contains(got, want) {
			t.Fatalf("audit lacks %q:\n%s", want, got)
		}
	}
}

// TestUploadRefusals: bad uploads from the page get a clear message and
// leave nothing.
func TestUploadRefusals(t *testing.T) {
	f := newFixture(t)
	ref, reply := f.newCase("acc", "report")
	b := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	sealed := sealTo(t, "x", f.agency.Recipient(), reply.Recipient())
	tests := []struct {
		name   string
		fields [][2]string
		file   []byte
		status int
		text   string
	}{
		{"not age", [][2]string{{"kind", "note"}}, []byte("plain text"), 400, "not a binary age file"},
		{"armored", [][2]string{{"kind", "note"}}, []byte("-----BEGIN AGE ENCRYPTED FILE-----\n"), 400, "not a binary age file"},
		{"empty file", [][2]string{{"kind", "note"}}, []byte{}, 400, "was empty"},
		{"no file", [][2]string{{"kind", "note"}}, nil, 400, "was empty"},
		{"bad kind", [][2]string{{"kind", "report"}}, sealed, 400, "note or a question"},
		{"kind not first", [][2]string{{"other", "x"}}, sealed, 400, "wrong order"},
		{"too large", [][2]string{{"kind", "note"}}, append([]byte("age-encryption.org/v1\n-> X25519 abc\nxyz\n--- mac\n"), make([]byte, 2<<20)...), 413, "too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartUpload(t, tc.fields, tc.file)
			resp, out := b.postBody("/cases/"+ref+"/items", ct, body)
			if resp.StatusCode != tc.status || !strings.Contains(out, tc.text) {
				t.Fatalf("%d, want %d with %q:\n%s", resp.StatusCode, tc.status, tc.text, out)
			}
		})
	}
	if resp, _ := b.postBody("/cases/"+ref+"/items", "application/x-www-form-urlencoded", strings.NewReader("kind=note")); resp.StatusCode != 400 {
		t.Fatalf("url-encoded upload: %d", resp.StatusCode)
	}
	if c, _ := f.store.Case(ref); len(c.Items) != 2 {
		t.Fatalf("refused uploads left %d items", len(c.Items))
	}
	// Form errors on the other actions.
	for _, tc := range []struct {
		path   string
		form   url.Values
		status int
		text   string
	}{
		{"/stage", url.Values{"stage": {"lost"}}, 400, "listed stages"},
		{"/stage", url.Values{"stage": {"received"}}, 409, "already at that stage"},
		{"/questions", url.Values{"question": {"  "}}, 400, "was empty"},
	} {
		if resp, body := b.post("/cases/"+ref+tc.path, tc.form); resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
			t.Errorf("%s %v: %d\n%s", tc.path, tc.form, resp.StatusCode, body)
		}
	}
}

func TestCaseListFilters(t *testing.T) {
	f := newFixture(t)
	old, _ := f.newCase("acc", "old")
	f.clock.Add(5 * 24 * time.Hour)
	fresh, _ := f.newCase("acc", "fresh")
	f.clock.Add(4 * 24 * time.Hour) // old is 9 days old: 2 days overdue
	b := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	_, body := b.get("/")
	io, ifr := strings.Index(body, old), strings.Index(body, fresh)
	if io < 0 || ifr < 0 || io > ifr {
		t.Fatalf("overdue case not first:\n%s", body)
	}
	if !strings.Contains(body, `<strong class="overdue">OVERDUE</strong>`) || !strings.Contains(body, "2 days overdue") {
		t.Fatalf("overdue not marked in text:\n%s", body)
	}
	tests := []struct {
		query      string
		has, hasNo []string
	}{
		{"?overdue=1", []string{old}, []string{fresh}},
		{"?stage=received", []string{old, fresh}, nil},
		{"?stage=closed", nil, []string{old, fresh}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			_, body := b.get("/" + tc.query)
			for _, r := range tc.has {
				if !strings.Contains(body, r) {
					t.Errorf("lacks %s", r)
				}
			}
			for _, r := range tc.hasNo {
				if strings.Contains(body, r) {
					t.Errorf("shows %s", r)
				}
			}
		})
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	b := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	f.clock.Add(SessionIdle - time.Minute)
	if resp, _ := b.get("/"); resp.Request.URL.Path != "/" {
		t.Fatal("session ended early")
	}
	f.clock.Add(SessionIdle + time.Minute)
	if resp, _ := b.get("/"); resp.Request.URL.Path != "/login" {
		t.Fatal("idle session still live")
	}
	b = f.login("alice", f.acc.mustSecret(t, "alice"))
	for range 21 {
		f.clock.Add(SessionIdle - time.Minute)
		b.get("/")
	}
	if resp, _ := b.get("/"); resp.Request.URL.Path != "/login" {
		t.Fatal("session outlived its maximum")
	}
}

func (a *Accounts) mustSecret(t *testing.T, name string) []byte {
	o, err := a.get(name)
	if err != nil {
		t.Fatal(err)
	}
	return o.TOTPSecret
}

var _ = age.Recipient(nil)
