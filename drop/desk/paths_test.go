package desk

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"cleandrop/drop/casework"
	"cleandrop/drop/control"
	"cleandrop/drop/stage"
)

// paths drives one officer action through the desk's pages, the desk's
// API and the control socket, over one vault and one audit log.
type paths struct {
	f     *fixture
	page  *browser
	token string
	ctl   *httptest.Server
}

func newPaths(t *testing.T, f *fixture) *paths {
	t.Helper()
	ops, err := casework.New(casework.Config{Store: f.store, Audit: f.audit, Policy: stage.EU})
	if err != nil {
		t.Fatal(err)
	}
	ctl := httptest.NewServer(control.Handler(f.store, ops, f.audit, nil, nil, nil))
	t.Cleanup(ctl.Close)
	page := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	token, err := f.acc.NewToken("alice", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	return &paths{f: f, page: page, token: token, ctl: ctl}
}

var pathNames = []string{"page", "api", "control"}

func (p *paths) control(method, path, ct string, body io.Reader) int {
	p.f.t.Helper()
	req, _ := http.NewRequest(method, p.ctl.URL+path, body)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.f.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// setStage changes a case's stage, with a note, through path.
func (p *paths) setStage(path, ref, stg, note string) int {
	switch path {
	case "page":
		resp, _ := p.page.post("/cases/"+ref+"/stage", url.Values{"stage": {stg}, "note": {note}})
		return resp.StatusCode
	case "api":
		b, _ := json.Marshal(StageChange{Stage: stg, Note: note})
		return p.f.api(p.token, "POST", "/api/v1/cases/"+ref+"/stage", "application/json", bytes.NewReader(b)).StatusCode
	}
	b, _ := json.Marshal(control.StageChange{Stage: stg, Note: note})
	return p.control("POST", "/v1/cases/"+ref+"/stage", "application/json", bytes.NewReader(b))
}

// ask puts a question through path.
func (p *paths) ask(path, ref, q string) int {
	switch path {
	case "page":
		resp, _ := p.page.post("/cases/"+ref+"/questions", url.Values{"question": {q}})
		return resp.StatusCode
	case "api":
		return p.f.api(p.token, "POST", "/api/v1/cases/"+ref+"/questions", "text/plain; charset=utf-8", strings.NewReader(q)).StatusCode
	}
	return p.control("POST", "/v1/cases/"+ref+"/questions", "text/plain; charset=utf-8", strings.NewReader(q))
}

func (p *paths) export(path, ref string) int {
	switch path {
	case "page":
		resp, _ := p.page.get("/cases/" + ref + "/export")
		return resp.StatusCode
	case "api":
		return p.f.api(p.token, "GET", "/api/v1/cases/"+ref+"/export", "", nil).StatusCode
	}
	return p.control("GET", "/v1/cases/"+ref+"/export", "", nil)
}

// entries counts the audit entries, leaving out the views of the case
// page that the page path is redirected to after an action.
func (p *paths) entries() int {
	p.f.t.Helper()
	es, err := p.f.audit.Entries(func(e AuditEntry) bool { return e.Action != "case.view" }, 0)
	if err != nil {
		p.f.t.Fatal(err)
	}
	return len(es)
}

// TestEveryPathAudited: each action, through each path, is done and leaves
// one audit entry naming who did it and through which path. Before the
// operations layer, the control socket's export, question and stage change
// left none.
func TestEveryPathAudited(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "a report")
	p := newPaths(t, f)
	actor := map[string]string{"page": "alice", "api": "alice", "control": casework.AdminName}
	suffix := map[string]string{"page": "", "api": " (api)", "control": " (control)"}
	bare := map[string]string{"page": "", "api": "api", "control": "control"}
	stages := []string{"acknowledged", "review", "investigating"}
	for i, path := range pathNames {
		prev := stage.EU.Stages[i]
		for _, tc := range []struct {
			action, detail string
			do             func() int
		}{
			{"export", bare[path], func() int { return p.export(path, ref) }},
			{"question", bare[path], func() int { return p.ask(path, ref, "  Who else knew?  ") }},
			{"stage.change", prev + " -> " + stages[i] + " +note" + suffix[path], func() int { return p.setStage(path, ref, stages[i], " we have it \n") }},
		} {
			t.Run(path+"/"+tc.action, func(t *testing.T) {
				before := p.entries()
				if status := tc.do(); status != http.StatusOK {
					t.Fatalf("status %d", status)
				}
				es, _ := f.audit.Entries(func(e AuditEntry) bool { return e.Action != "case.view" }, 1)
				if p.entries() != before+1 {
					t.Fatalf("%d new audit entries, want 1", p.entries()-before)
				}
				e := es[0]
				if e.Actor != actor[path] || e.Action != tc.action || e.Case != ref || e.Detail != tc.detail {
					t.Errorf("audit entry %+v, want %s %s %s %q", e, actor[path], tc.action, ref, tc.detail)
				}
			})
		}
	}
	// Items sealed offline come by the pages and the API only.
	for _, path := range pathNames[:2] {
		t.Run(path+"/item.upload", func(t *testing.T) {
			before := p.entries()
			sealed := sealTo(t, "a note sealed offline", f.agency.Recipient())
			var status int
			if path == "page" {
				body, ct := multipartUpload(t, [][2]string{{"kind", "note"}}, sealed)
				resp, _ := p.page.postBody("/cases/"+ref+"/items", ct, body)
				status = resp.StatusCode
			} else {
				status = f.api(p.token, "POST", "/api/v1/cases/"+ref+"/items?kind=note", "application/octet-stream", bytes.NewReader(sealed)).StatusCode
			}
			if status != http.StatusOK || p.entries() != before+1 {
				t.Fatalf("status %d, %d new audit entries", status, p.entries()-before)
			}
			es, _ := f.audit.Entries(func(e AuditEntry) bool { return e.Action != "case.view" }, 1)
			if e := es[0]; e.Actor != "alice" || e.Action != "item.upload" || e.Case != ref || e.Detail != "note"+suffix[path] {
				t.Errorf("audit entry %+v", e)
			}
		})
	}
	if strings.Contains(f.logText(), ref) {
		t.Errorf("the desk's log names the case:\n%s", f.logText())
	}
	// The text was trimmed the same way on every path.
	c, _ := f.store.Case(ref)
	var texts []string
	for _, it := range c.Items[2:8] { // after the report and its attachment, before the uploads
		texts = append(texts, open(t, f.item(ref, it.ID), f.agency))
	}
	want := []string{"Who else knew?", "we have it", "Who else knew?", "we have it", "Who else knew?", "we have it"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("sealed texts %q, want %q", texts, want)
	}
}

// TestSameValidationEveryPath feeds the same bad input to each path: each
// answers alike and records nothing. A case of another agency is absent
// for an officer; the administrator acts on every case.
func TestSameValidationEveryPath(t *testing.T) {
	f := newFixture(t)
	ref, _ := f.newCase("acc", "a report")
	refB, _ := f.newCase("other", "another agency's report")
	p := newPaths(t, f)
	long := strings.Repeat("x", casework.MaxMessage+1)
	for _, tc := range []struct {
		name    string
		do      func(path string) int
		officer int // page and API
		admin   int // control socket
	}{
		{"unknown stage", func(path string) int { return p.setStage(path, ref, "nonsense", "") }, 400, 400},
		{"stage with padding", func(path string) int { return p.setStage(path, ref, " closed-ish ", "") }, 400, 400},
		{"same stage, blank note", func(path string) int { return p.setStage(path, ref, "received", " \n\t ") }, 409, 409},
		{"blank question", func(path string) int { return p.ask(path, ref, " \r\n ") }, 400, 400},
		{"empty question", func(path string) int { return p.ask(path, ref, "") }, 400, 400},
		{"question not UTF-8", func(path string) int { return p.ask(path, ref, "\xff\xfe") }, 400, 400},
		{"question too long", func(path string) int { return p.ask(path, ref, long) }, 413, 413},
		{"note too long", func(path string) int { return p.setStage(path, ref, "acknowledged", long) }, 413, 413},
		{"unknown case", func(path string) int { return p.ask(path, "CD-NONE-NONE", "hello") }, 404, 404},
		{"another agency's stage", func(path string) int { return p.setStage(path, refB, "nonsense", "") }, 404, 400},
		{"another agency's case", func(path string) int { return p.export(path, refB) }, 404, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range pathNames {
				want := tc.officer
				if path == "control" {
					want = tc.admin
				}
				before := p.entries()
				if got := tc.do(path); got != want {
					t.Errorf("%s: status %d, want %d", path, got, want)
				}
				if n := p.entries() - before; want != 200 && n != 0 {
					t.Errorf("%s: a refused action left %d audit entries", path, n)
				}
			}
		})
	}
	if c, _ := f.store.Case(ref); len(c.Items) != 2 || c.Stage != "received" {
		t.Errorf("refused actions changed the case: stage %s, %d items", c.Stage, len(c.Items))
	}
}
