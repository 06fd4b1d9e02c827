package desk

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cleandrop/vault"
)

const identityCanary = "name: Canary Custodian 9b1c\ncontact: canary-9b1c@example.org\n"

// fileIdentity adds an identity to case ref as the reporter's page does,
// and returns its item number.
func (f *fixture) fileIdentity(ref string, purpose vault.Purpose) int {
	f.t.Helper()
	b, err := f.store.Append(ref)
	if err != nil {
		f.t.Fatal(err)
	}
	defer b.Abort()
	w, err := b.AddIdentity(purpose)
	if err != nil {
		f.t.Fatal(err)
	}
	io.WriteString(w, identityCanary)
	if err := w.Close(); err != nil {
		f.t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		f.t.Fatal(err)
	}
	c, _ := f.store.Case(ref)
	return c.Items[len(c.Items)-1].ID
}

// api sends an API request with token and returns the response and body.
func (f *fixture) apiCall(method, path, token string) (*http.Response, string) {
	f.t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestIdentityOnDesk(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "the report")
	id := f.fileIdentity(ref, vault.PurposeBoth)
	item := "/cases/" + ref + "/items/" + strconv.Itoa(id)

	alice := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	boss := f.login("boss", f.enrol("boss", RoleSupervisor, "acc"))
	carol := f.login("carol", f.enrol("carol", RoleCustodian, "acc"))

	// Officers see that an identity is on file and for what; nothing else.
	for name, b := range map[string]*browser{"officer": alice, "supervisor": boss} {
		_, page := b.get("/cases/" + ref)
		for _, want := range []string{`id="identities"`, "protection and reward", "Sealed to the custodian"} {
			if !strings.Contains(page, want) {
				t.Errorf("%s: case page lacks %q", name, want)
			}
		}
		if strings.Contains(page, `href="`+item+`"`) || strings.Contains(page, "/identity/opened") || strings.Contains(page, "Canary") {
			t.Errorf("%s: case page links the identity, offers to mark it or shows it", name)
		}
		if resp, body := b.get(item); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "sealed to the agency") {
			t.Errorf("%s: identity download: %d", name, resp.StatusCode)
		}
		if resp, _ := b.post("/cases/"+ref+"/identity/opened", url.Values{}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: mark opened: %d", name, resp.StatusCode)
		}
	}

	// The case list marks it, for the custodian to find and the officers to know.
	for name, b := range map[string]*browser{"officer": alice, "custodian": carol} {
		if _, list := b.get("/"); !strings.Contains(list, "Identity on file: protection and reward") {
			t.Errorf("%s: the case list does not mark the identity", name)
		}
	}

	// The API says the same.
	token, err := f.acc.NewToken("alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	resp, body := f.apiCall(http.MethodGet, "/api/v1/cases/"+ref, token)
	var d CaseDetail
	if err := json.Unmarshal([]byte(body), &d); err != nil || resp.StatusCode != 200 {
		t.Fatalf("API case: %d %v", resp.StatusCode, err)
	}
	if len(d.Identities) != 1 || d.Identities[0] != (APIIdentity{Item: id, Day: "2026-03-02", Purpose: vault.PurposeBoth}) {
		t.Errorf("API identities = %+v", d.Identities)
	}
	if i := slices.IndexFunc(d.ItemList, func(it apiItem) bool { return it.ID == id }); i < 0 || d.ItemList[i].Purpose != vault.PurposeBoth {
		t.Errorf("API items = %+v", d.ItemList)
	}
	if _, body := f.apiCall(http.MethodGet, "/api/v1/cases", token); !strings.Contains(body, `"identities":[{"item":`+strconv.Itoa(id)+`,"day":"2026-03-02","purpose":"both"}]`) {
		t.Errorf("API list: %s", body)
	}
	if resp, _ := f.apiCall(http.MethodGet, "/api/v1"+item, token); resp.StatusCode != http.StatusForbidden {
		t.Errorf("API identity download: %d", resp.StatusCode)
	}
	if resp, _ := f.apiCall(http.MethodPost, "/api/v1/cases/"+ref+"/identity/opened", token); resp.StatusCode != http.StatusForbidden {
		t.Errorf("API mark opened by an officer: %d", resp.StatusCode)
	}

	// The custodian takes the identity, opens it offline, and marks it.
	_, page := carol.get("/cases/" + ref)
	if !strings.Contains(page, `action="/cases/`+ref+`/identity/opened"`) || strings.Contains(page, `action="/cases/`+ref+`/stage"`) {
		t.Error("custodian's case page: no mark-opened form, or a stage form")
	}
	resp, ct := carol.get(item)
	if resp.StatusCode != 200 || open(t, []byte(ct), f.custodian) != identityCanary {
		t.Fatalf("custodian download: %d", resp.StatusCode)
	}
	if resp, _ := carol.get("/cases/" + ref + "/items/1"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("custodian downloads the report: %d", resp.StatusCode)
	}
	if resp, _ := carol.post("/cases/"+ref+"/stage", url.Values{"stage": {"closed"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("custodian moves the stage: %d", resp.StatusCode)
	}
	// An upload is refused as the role's, not as a damaged file.
	ubody, ct := multipartUpload(t, [][2]string{{"kind", "note"}}, sealTo(t, "a note", f.agency.Recipient()))
	if resp, page := carol.postBody("/cases/"+ref+"/items", ct, ubody); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Your role may not do this on a case.") {
		t.Errorf("custodian uploads: %d\n%s", resp.StatusCode, page)
	}
	resp, page = carol.post("/cases/"+ref+"/identity/opened", url.Values{"item": {strconv.Itoa(id)}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Recorded in the audit log") || !strings.Contains(page, "Marked opened by carol on 2026-03-02") {
		t.Fatalf("mark opened: %d\n%s", resp.StatusCode, page)
	}
	if _, page := alice.get("/cases/" + ref); !strings.Contains(page, "Marked opened by carol") {
		t.Error("officers are not told the identity was opened")
	}
	got := actions(t, f.audit)
	if !slices.Contains(got, "carol identity.opened "+ref) || !slices.Contains(got, "carol item.download "+ref) {
		t.Errorf("audit log = %q", got)
	}
	for _, a := range got {
		if strings.Contains(a, "identity.opened") && !strings.HasPrefix(a, "carol ") {
			t.Errorf("someone else marked it opened: %q", a)
		}
	}
}
