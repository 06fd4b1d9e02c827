package desk

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"filippo.io/age"

	"cleandrop/vault"
	"cleandrop/vault/bundle"
)

// TestRefer walks a referral through the desk: export, re-seal as the
// offline machine does, file it, and find the chain of custody on both
// sides, each agency seeing only its own case.
func TestRefer(t *testing.T) {
	f := newFixture(t)
	ref, reply := f.newCase("acc", "the mayor took a bribe")
	alice := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	bobSecret := f.enrol("bob", RoleOfficer, "other")

	resp, page := alice.get("/cases/" + ref)
	if resp.StatusCode != 200 || !strings.Contains(page, `action="/cases/`+ref+`/refer"`) || !strings.Contains(page, f.other.Recipient().String()) {
		t.Fatalf("case page lacks the refer form or the receiving agency's key: %d\n%s", resp.StatusCode, page)
	}
	export, referral := f.referral(alice, ref)

	t.Run("refused", func(t *testing.T) {
		damaged := bytes.Clone(referral.Bytes())
		damaged[len(damaged)-2048] ^= 1 // inside the last item
		other, _ := f.newCase("acc", "another report")
		for _, tc := range []struct {
			name, ref string
			tarball   []byte
			status    int
			text      string
		}{
			{"damaged", ref, damaged, 400, "damaged or was changed"},
			{"export bundle", ref, []byte(export), 400, "not a referral bundle"},
			{"other case", other, referral.Bytes(), 409, "made from another case"},
			{"far larger than the case", ref, append(bytes.Clone(referral.Bytes()), make([]byte, 2<<20)...), 413, ""},
		} {
			body, ct := multipartUpload(t, nil, tc.tarball)
			resp, page := alice.postBody("/cases/"+tc.ref+"/refer", ct, body)
			if resp.StatusCode != tc.status || !strings.Contains(page, tc.text) {
				t.Errorf("%s: %d, want %d with %q\n%s", tc.name, resp.StatusCode, tc.status, tc.text, page)
			}
		}
		if cs, _ := f.store.Cases(); len(cs) != 2 {
			t.Errorf("%d cases after refused referrals, want 2", len(cs))
		}
	})

	body, ct := multipartUpload(t, nil, referral.Bytes())
	resp, page = alice.postBody("/cases/"+ref+"/refer", ct, body)
	if resp.StatusCode != 200 || !strings.Contains(page, "The case was referred") {
		t.Fatalf("refer: %d\n%s", resp.StatusCode, page)
	}
	c, _ := f.store.Case(ref)
	if c.Stage != "referred" || len(c.Custody) != 1 {
		t.Fatalf("referring case: stage %q, custody %v", c.Stage, c.Custody)
	}
	link := c.Custody[0]
	sum := sha256.Sum256(referral.Bytes())
	if link.Bundle != hex.EncodeToString(sum[:]) || link.Officer != "alice" || link.Agency != "other" {
		t.Errorf("custody link = %+v", link)
	}
	for _, want := range []string{"Referred to other, case " + link.Ref, "Filed by alice; 2 items", link.Bundle} {
		if !strings.Contains(page, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	// The referring officer has no access to the receiving agency's case.
	if resp, _ := alice.get("/cases/" + link.Ref); resp.StatusCode != 404 {
		t.Errorf("alice opens the receiving agency's case: %d", resp.StatusCode)
	}

	bob := f.login("bob", bobSecret)
	resp, page = bob.get("/cases/" + link.Ref)
	if resp.StatusCode != 200 || !strings.Contains(page, "Received by referral from acc, case "+ref) ||
		strings.Contains(page, `id="no-reporter"`) || !strings.Contains(page, `action="/cases/`+link.Ref+`/questions"`) {
		t.Fatalf("received case page: %d\n%s", resp.StatusCode, page)
	}
	// The receiving agency can ask the reporter, who follows the case
	// through the referring one: the question is sealed to the reply key.
	if resp, page := bob.post("/cases/"+link.Ref+"/questions", url.Values{"question": {"who?"}}); resp.StatusCode != 200 || !strings.Contains(page, "Your question was encrypted and sent.") {
		t.Errorf("question on a received case: %d\n%s", resp.StatusCode, page)
	}
	rc, _ := f.store.Case(link.Ref)
	if q := open(t, f.item(link.Ref, rc.Items[len(rc.Items)-1].ID), reply); q != "who?" {
		t.Errorf("the reporter's reply key opens %q", q)
	}
	got, err := age.Decrypt(bytes.NewReader(f.item(link.Ref, 1)), f.other)
	if err != nil {
		t.Fatalf("the receiving agency cannot open the report: %v", err)
	}
	if b, _ := io.ReadAll(got); string(b) != "the mayor took a bribe" {
		t.Errorf("report = %q", b)
	}
	if _, err := age.Decrypt(bytes.NewReader(f.item(link.Ref, 1)), f.agency); err == nil {
		t.Error("the referring agency's key opens the received case")
	}

	acts := strings.Join(actions(t, f.audit), "\n")
	for _, want := range []string{"case.refer " + ref, "case.referred_in " + link.Ref} {
		if !strings.Contains(acts, want) {
			t.Errorf("audit log lacks %q:\n%s", want, acts)
		}
	}

	// Referring the case to the same agency again needs a reason from the
	// list, which the chain of custody and the audit log record.
	t.Run("again", func(t *testing.T) {
		if _, page := alice.get("/cases/" + ref); !strings.Contains(page, `name="reason"`) || !strings.Contains(page, `value="correction"`) {
			t.Fatalf("case page of a referred case lacks the reason field:\n%s", page)
		}
		body, ct := multipartUpload(t, nil, referral.Bytes())
		if resp, page := alice.postBody("/cases/"+ref+"/refer", ct, body); resp.StatusCode != 409 || !strings.Contains(page, "referred to that agency before") {
			t.Fatalf("second referral without a reason: %d\n%s", resp.StatusCode, page)
		}
		token, _ := f.acc.NewToken("alice", "again")
		if resp := f.api(token, "POST", "/api/v1/cases/"+ref+"/refer?reason=because", "application/x-tar", bytes.NewReader(referral.Bytes())); resp.StatusCode != 400 {
			t.Fatalf("API referral with a free-text reason: %d", resp.StatusCode)
		}
		body, ct = multipartUpload(t, [][2]string{{"reason", "correction"}}, referral.Bytes())
		if resp, page := alice.postBody("/cases/"+ref+"/refer", ct, body); resp.StatusCode != 200 || !strings.Contains(page, "The case was referred") {
			t.Fatalf("second referral with a reason: %d\n%s", resp.StatusCode, page)
		}
		c, _ := f.store.Case(ref)
		if len(c.Custody) != 2 || c.Custody[1].Reason != "correction" {
			t.Fatalf("custody = %+v", c.Custody)
		}
		if _, page := alice.get("/cases/" + ref); !strings.Contains(page, "Referred again: Correction") {
			t.Errorf("case page does not show why the case was referred again:\n%s", page)
		}
		es, _ := f.audit.Entries(func(e AuditEntry) bool { return e.Action == "case.refer" }, 1)
		if len(es) != 1 || !strings.HasSuffix(es[0].Detail, "again: correction") {
			t.Errorf("audit entry = %+v", es)
		}
	})

	t.Run("api", func(t *testing.T) {
		ref2, _ := f.newCase("acc", "second report")
		token, _ := f.acc.NewToken("alice", "script")
		var exp bytes.Buffer
		resp := f.api(token, "GET", "/api/v1/cases/"+ref2+"/export", "", nil)
		io.Copy(&exp, resp.Body)
		var rb bytes.Buffer
		if _, err := bundle.MakeReferral(&exp, []age.Identity{f.agency}, "other", []age.Recipient{f.other.Recipient()}, &rb, bundle.OpenOptions{}); err != nil {
			t.Fatal(err)
		}
		resp = f.api(token, "POST", "/api/v1/cases/"+ref2+"/refer", "application/x-tar", &rb)
		var l vault.Custody
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != http.StatusOK || l.Action != vault.CustodyOut || l.Agency != "other" {
			t.Fatalf("API refer: %d %+v %v", resp.StatusCode, l, err)
		}
		resp = f.api(token, "GET", "/api/v1/cases/"+ref2, "", nil)
		var d CaseDetail
		json.NewDecoder(resp.Body).Decode(&d)
		if d.Stage != "referred" || len(d.Custody) != 1 || d.Custody[0] != l {
			t.Errorf("API case after referral: %+v", d)
		}
	})
}

// referral exports case ref as b, its officer, and re-seals the export
// for "other" as the offline machine does (cleandrop refer): the export
// and the referral bundle.
func (f *fixture) referral(b *browser, ref string) (string, *bytes.Buffer) {
	f.t.Helper()
	_, export := b.get("/cases/" + ref + "/export")
	var referral bytes.Buffer
	if _, err := bundle.MakeReferral(strings.NewReader(export), []age.Identity{f.agency}, "other",
		[]age.Recipient{f.other.Recipient()}, &referral, bundle.OpenOptions{}); err != nil {
		f.t.Fatal(err)
	}
	return export, &referral
}

// landedUnsure is a store whose referrals land and then lose the
// store's answer, as a PostgreSQL connection cut after COMMIT does.
type landedUnsure struct{ Store }

func (s landedUnsure) ReceiveReferral(r io.Reader, from string, opts vault.ReceiveOptions) (vault.Custody, error) {
	link, err := s.Store.ReceiveReferral(r, from, opts)
	if err != nil {
		return link, err
	}
	return vault.Custody{}, fmt.Errorf("commit: connection lost: %w", vault.ErrUncertain)
}

// A referral whose commit's answer was lost is answered as what it is:
// it may or may not have been filed, so look at the case first (503),
// not "the bundle is damaged"; and it is audited, marked uncertain, since
// it may have landed.
func TestReferUncertain(t *testing.T) {
	f := newFixture(t).servedAgain(t, func(c *Config) { c.Store = landedUnsure{c.Store} })
	ref, _ := f.newCase("acc", "the mayor took a bribe")
	alice := f.login("alice", f.enrol("alice", RoleOfficer, "acc"))
	_, referral := f.referral(alice, ref)
	body, ct := multipartUpload(t, nil, referral.Bytes())
	resp, page := alice.postBody("/cases/"+ref+"/refer", ct, body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(page, "cannot tell whether it was kept") || strings.Contains(page, "damaged") {
		t.Fatalf("uncertain referral: %d\n%s", resp.StatusCode, page)
	}
	token, _ := f.acc.NewToken("alice", "api")
	resp = f.api(token, "POST", "/api/v1/cases/"+ref+"/refer?reason=correction", "application/x-tar", bytes.NewReader(referral.Bytes()))
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "may or may not") {
		t.Errorf("uncertain referral by the API: %d %s", resp.StatusCode, b)
	}
	es, err := f.audit.Entries(func(e AuditEntry) bool { return e.Action == "case.refer" }, 0)
	if err != nil || len(es) != 2 {
		t.Fatalf("referrals audited: %d, %v; want 2", len(es), err)
	}
	for _, e := range es {
		if e.Case != ref || e.Actor != "alice" || !strings.HasPrefix(e.Detail, "(commit uncertain)") {
			t.Errorf("audit entry %+v, want the referral of %s marked (commit uncertain)", e, ref)
		}
	}
}
