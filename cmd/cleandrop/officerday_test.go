package main

import (
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var totpRe = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)

// officerSignIn adds an officer with the CLI, enrols them on the desk
// (password, TOTP secret read off the page, first code) and signs in with
// the next code. It returns a signed-in desk client.
func officerSignIn(t *testing.T, s *server, agency, name string) *reporter {
	t.Helper()
	path := s.addOfficer(t, agency, name)
	d := newReporter(t, s.deskURL(t))
	const password = "a long desk password for testing"
	if resp, body := d.get(path); resp.StatusCode != 200 {
		t.Fatalf("enrolment page: %d\n%s", resp.StatusCode, body)
	}
	_, body := d.postForm(path, map[string]string{"password": password, "confirm": password})
	m := totpRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no TOTP secret on the enrolment page:\n%s", body)
	}
	auth := newAuthenticator(t, m[1])
	if resp, body := d.postForm(path, map[string]string{"code": auth.code()}); resp.StatusCode != 200 || !strings.Contains(body, "Your account is ready") {
		t.Fatalf("enrolment confirm: %d\n%s", resp.StatusCode, body)
	}
	resp, body := d.postForm("/login", map[string]string{"name": name, "password": password, "code": auth.early()})
	if resp.StatusCode != 200 || !strings.Contains(body, "Signed in as "+name) {
		t.Fatalf("login %s: %d\n%s", name, resp.StatusCode, body)
	}
	return d
}

// TestOfficerDayBinary runs an officer's day against the real binary: a
// report comes in; the officer enrols, signs in with password and TOTP,
// sees the case, acknowledges it (the reporter sees the stage), asks a
// question, reads the answer after exporting and opening the case offline,
// refers it to another agency through the offline re-seal, closes it; the
// receiving officer opens the referred case; the audit log verifies, and
// fails once a byte of it changes.
func TestOfficerDayBinary(t *testing.T) {
	s := startDemo(t)
	rep := newReporter(t, s.url)
	rc, ref := rep.report("acc", "The mayor's office paid invoice 4471 twice.", []upload{{"invoice.pdf", strings.NewReader("%PDF pretend")}})

	alice := officerSignIn(t, s, "acc", "alice")
	if _, body := alice.get("/"); !strings.Contains(body, ref) {
		t.Fatalf("the new case is not on alice's list:\n%s", body)
	}

	// An API token for an offline-workflow client sees the same list.
	out := s.cli(t, "officer", "token", "alice", "--label", "offline-client")
	tok := regexp.MustCompile(`(?m)^alice\.\S+$`).FindString(out)
	if tok == "" {
		t.Fatalf("officer token printed no token:\n%s", out)
	}
	req, _ := http.NewRequest(http.MethodGet, s.deskURL(t)+"/api/v1/cases", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, body := newReporter(t, "").do(req); resp.StatusCode != 200 || !strings.Contains(body, `"ref":"`+ref+`"`) {
		t.Fatalf("API case list with the token: %d\n%s", resp.StatusCode, body)
	}
	s.addOfficer(t, "acc", "carol")
	if _, errOut, code := runCLI(t, "officer", "token", "carol", "--label", "x", "--data", s.data); code != 1 || !strings.Contains(errOut, "not finished enrolling") {
		t.Errorf("token for an officer not yet enrolled: exit %d\n%s", code, errOut)
	}

	// Acknowledge, with a note the reporter reads.
	resp, body := alice.postForm("/cases/"+ref+"/stage", map[string]string{"stage": "acknowledged", "note": "We have your report and are assessing it."})
	if resp.StatusCode != 200 || !strings.Contains(body, "The stage was changed.") {
		t.Fatalf("acknowledge: %d\n%s", resp.StatusCode, body)
	}
	followup := func(want ...string) string {
		t.Helper()
		r := newReporter(t, s.url)
		resp, body := r.postForm("/followup", map[string]string{"receipt": rc})
		if resp.Request.URL.Path != "/case" {
			t.Fatalf("receipt login: %s\n%s", resp.Request.URL, body)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("reporter's page lacks %q:\n%s", w, body)
			}
		}
		return body
	}
	followup("Acknowledged", "We have your report and are assessing it.",
		"The agency must tell you what it is doing about your report by ", "day(s) left.")

	// A question; the reporter answers it.
	if resp, body := alice.postForm("/cases/"+ref+"/questions", map[string]string{"question": "Who signed the second payment?"}); resp.StatusCode != 200 {
		t.Fatalf("question: %d\n%s", resp.StatusCode, body)
	}
	followup("Who signed the second payment?")
	r := newReporter(t, s.url)
	r.postForm("/followup", map[string]string{"receipt": rc})
	if resp, body := r.postMultipart("/case/answer", [][2]string{{"message", "The deputy director, on 3 March."}}, nil); resp.StatusCode != 200 {
		t.Fatalf("answer: %d\n%s", resp.StatusCode, body)
	}
	if _, body := alice.get("/"); !strings.Contains(body, ref) {
		t.Fatalf("case list:\n%s", body)
	}

	// Export, and read the answer on the offline machine.
	dir := t.TempDir()
	bundle := filepath.Join(dir, ref+".tar")
	resp, body = alice.get("/cases/" + ref + "/export")
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d", resp.StatusCode)
	}
	os.WriteFile(bundle, []byte(body), 0o600)
	signer := s.signingKey()
	opened := filepath.Join(dir, "opened")
	if out, errOut, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", signer, "-o", opened); code != 0 {
		t.Fatalf("open: %d\n%s%s", code, out, errOut)
	}
	if thread, _ := os.ReadFile(filepath.Join(opened, "thread.txt")); !strings.Contains(string(thread), "The deputy director, on 3 March.") {
		t.Fatalf("the answer is not in the opened thread:\n%s", thread)
	}

	// The case page shows the signing key's fingerprint to compare.
	_, keyInfo, _ := runCLI(t, "signing-key", "--data", s.data)
	fpr := strings.SplitN(keyInfo, "\n", 2)[0] // "Fingerprint: XXXX ..."
	if _, page := alice.get("/cases/" + ref); !strings.HasPrefix(fpr, "Fingerprint: ") || !strings.Contains(page, fpr) || !strings.Contains(page, `href="/signing-key.asc"`) {
		t.Errorf("case page lacks the signing key's fingerprint %q", fpr)
	}

	// Refer to the prosecutor's office: copy its keys off the case page,
	// re-seal offline, file the result on the desk.
	_, page := alice.get("/cases/" + ref)
	m := regexp.MustCompile(`(?s)<code>ppo</code>\)</dt><dd>[^<]*<pre>(.*?)</pre>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no keys for ppo on the refer form:\n%s", page)
	}
	keys := filepath.Join(dir, "ppo-keys.txt")
	os.WriteFile(keys, []byte(html.UnescapeString(m[1])), 0o600)
	referral := filepath.Join(dir, ref+"-referral.tar")
	out, errOut, code := runCLI(t, "refer", bundle, "-i", s.key("acc"), "--signer", signer, "--agency", "ppo", "--to", keys, "-o", referral)
	if code != 0 {
		t.Fatalf("refer: %d\n%s%s", code, out, errOut)
	}
	sum := regexp.MustCompile(`SHA-256 of the referral bundle: ([0-9a-f]{64})`).FindStringSubmatch(out)
	if sum == nil {
		t.Fatalf("refer printed no checksum:\n%s", out)
	}
	if !strings.Contains(out, `File it on the desk: case `+ref+`, "Refer to another agency".`) {
		t.Errorf("refer does not name the desk's Refer form as the desk does:\n%s", out)
	}
	// The officer's language: the same referral made again, told in Albanian.
	out, errOut, code = runCLI(t, "refer", bundle, "-i", s.key("acc"), "--signer", signer, "--agency", "ppo", "--to", keys, "-o", referral+".sq", "--language", "sq")
	if code != 0 || !strings.Contains(out, "SHA-256 i paketës së referimit: ") ||
		!strings.Contains(out, "Regjistrojeni në sistem: rasti "+ref+", “Referoje te një institucion tjetër”.") || strings.Contains(out, "referral bundle") {
		t.Errorf("refer --language sq: %d\n%s%s", code, out, errOut)
	}
	os.Remove(referral + ".sq")
	f, _ := os.Open(referral)
	resp, body = alice.postMultipart("/cases/"+ref+"/refer", nil, []upload{{"referral.tar", f}})
	f.Close()
	if resp.StatusCode != 200 || !strings.Contains(body, "The case was referred") {
		t.Fatalf("refer on the desk: %d\n%s", resp.StatusCode, body)
	}
	m = regexp.MustCompile(`Referred to ppo, case (CD-[0-9A-Z]{4}-[0-9A-Z]{4})`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no chain of custody on the case page:\n%s", body)
	}
	newRef := m[1]
	if !strings.Contains(body, sum[1]) {
		t.Errorf("the chain of custody does not show the referral's SHA-256 %s", sum[1])
	}
	followup("Referred", "Your report was passed on to: <strong>Public Procurement Oversight Office")

	// Close the case here, with a last word to the reporter.
	if resp, body := alice.postForm("/cases/"+ref+"/stage", map[string]string{"stage": "closed", "note": "Referred to the prosecutor's office, which now handles it."}); resp.StatusCode != 200 {
		t.Fatalf("close: %d\n%s", resp.StatusCode, body)
	}
	followup("Closed", "Referred to the prosecutor&#39;s office, which now handles it.")

	// The prosecutor's officer finds the case and opens it offline with
	// their own key; the thread names where it came from.
	bob := officerSignIn(t, s, "ppo", "bob")
	if _, body := bob.get("/"); !strings.Contains(body, newRef) || strings.Contains(body, ref) {
		t.Fatalf("bob's list should hold %s and not %s:\n%s", newRef, ref, body)
	}
	// The prosecutor asks the reporter, who reads it on their own page
	// and answers the prosecutor there.
	if resp, body := bob.postForm("/cases/"+newRef+"/questions", map[string]string{"question": "Do you still have the second invoice?"}); resp.StatusCode != 200 {
		t.Fatalf("bob's question: %d\n%s", resp.StatusCode, body)
	}
	followup("Your report at Public Procurement Oversight Office", "Do you still have the second invoice?", `value="`+newRef+`" checked`)
	r = newReporter(t, s.url)
	r.postForm("/followup", map[string]string{"receipt": rc})
	if resp, body := r.postMultipart("/case/answer", [][2]string{{"to", newRef}, {"message", "Yes, a paper copy."}}, nil); resp.StatusCode != 200 {
		t.Fatalf("answer to the prosecutor: %d\n%s", resp.StatusCode, body)
	}
	resp, body = bob.get("/cases/" + newRef + "/export")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("export of the referred case: %d", resp.StatusCode)
	}
	bundle2 := filepath.Join(dir, newRef+".tar")
	os.WriteFile(bundle2, []byte(body), 0o600)
	opened2 := filepath.Join(dir, "opened2")
	if out, errOut, code := runCLI(t, "open", bundle2, "-i", s.key("ppo"), "--signer", signer, "-o", opened2); code != 0 {
		t.Fatalf("open the referred case: %d\n%s%s", code, out, errOut)
	}
	thread, _ := os.ReadFile(filepath.Join(opened2, "thread.txt"))
	for _, w := range []string{"The mayor's office paid invoice 4471 twice.", "The deputy director, on 3 March.", "Received by referral from acc, case " + ref,
		"Do you still have the second invoice?", "Yes, a paper copy."} {
		if !strings.Contains(string(thread), w) {
			t.Errorf("referred thread lacks %q:\n%s", w, thread)
		}
	}
	if _, _, code := runCLI(t, "open", bundle2, "-i", s.key("acc"), "--signer", signer, "-o", filepath.Join(dir, "x")); code == 0 {
		t.Error("the referring agency's key opens the referred case")
	}

	// The audit log holds the day, verifies, and fails after one byte.
	out = s.cli(t, "audit", "verify")
	if !strings.Contains(out, "audit log ok") {
		t.Fatalf("audit verify: %s", out)
	}
	shown := s.cli(t, "audit", "show")
	for _, action := range []string{"officer.token", "stage.change", "question", "export", "case.refer", "case.referred_in"} {
		if !strings.Contains(shown, action) {
			t.Errorf("audit log lacks %s", action)
		}
	}
	s.stop()
	at := []string{"--data", s.data}
	if s.store != "" {
		// The log is in the shared database: change a byte of a row.
		tamperSharedAudit(t, s.store, 1)
		at = []string{"--config", sharedConfig(t, s.data, s.store)}
	} else {
		logPath := filepath.Join(s.data, "audit", "audit.log")
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(b), "case.refer")
		b[i] ^= 0x20
		os.WriteFile(logPath, b, 0o600)
	}
	if _, errOut, code := runCLI(t, append([]string{"audit", "verify"}, at...)...); code != 1 || !strings.Contains(errOut, "cleandrop: error:") {
		t.Fatalf("changed audit log: exit %d\n%s", code, errOut)
	}
}
