package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// custodianKey is the demo custodian's identity file of agency.
func (s *server) custodianKey(agency string) string {
	return filepath.Join(s.data, "demo", "custodian-"+agency+".key")
}

// TestIdentityEndToEnd: a reporter files their identity from the case
// page of the real server; the export carries it sealed; 'cleandrop open'
// with the case officer's key opens the case but not the identity, and says
// so; with the custodian's key it opens the identity and nothing else; the
// stock age command agrees.
func TestIdentityEndToEnd(t *testing.T) {
	s := startDemo(t)
	r := newReporter(t, s.url)
	canary := "CANARY" + rand.Text()
	rc, ref := r.report("acc", "the report", nil)
	if resp, body := r.postForm("/followup", map[string]string{"receipt": rc}); resp.Request.URL.Path != "/case" {
		t.Fatalf("login failed:\n%s", body)
	}
	if _, page := r.get("/case"); !strings.Contains(page, `action="/case/identity"`) {
		t.Fatalf("no identity form on the case page:\n%s", page)
	}
	resp, page := r.postForm("/case/identity", map[string]string{"name": "Name " + canary, "contact": "contact " + canary, "purpose": "protection", "confirm": "yes"})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="identity-on-file"`) || strings.Contains(page, canary) {
		t.Fatalf("filing: %d\n%s", resp.StatusCode, page)
	}

	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)

	out := filepath.Join(t.TempDir(), "officer")
	stdout, stderr, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", out)
	if code != 0 || !strings.Contains(stdout, "sealed to the agency's custodian: this key cannot open it") {
		t.Fatalf("open with the officer's key: exit %d\n%s%s", code, stdout, stderr)
	}
	if hits, _ := scanTree(t, out, encodings(canary)); len(hits) > 0 {
		t.Errorf("the officer's opened case holds the identity: %v", hits)
	}
	if txt, _ := os.ReadFile(filepath.Join(out, "thread.txt")); !strings.Contains(string(txt), "the report") || !strings.Contains(string(txt), "Purpose: protection") {
		t.Errorf("officer's thread.txt:\n%s", txt)
	}

	out2 := filepath.Join(t.TempDir(), "custodian")
	stdout, stderr, code = runCLI(t, "open", bundle, "-i", s.custodianKey("acc"), "--signer", s.signingKey(), "-o", out2)
	if code != 0 || !strings.Contains(stdout, "Opened the reporter's identity") || !strings.Contains(stdout, "sealed to the case officers") {
		t.Fatalf("open with the custodian's key: exit %d\n%s%s", code, stdout, stderr)
	}
	ents, _ := filepath.Glob(filepath.Join(out2, "*-identity.txt"))
	if len(ents) != 1 {
		t.Fatalf("custodian's output: %v", ents)
	}
	got, _ := os.ReadFile(ents[0])
	if !strings.Contains(string(got), "name: Name "+canary) || !strings.Contains(string(got), "case: "+ref) {
		t.Errorf("identity opened by the custodian:\n%s", got)
	}
	if txt, _ := os.ReadFile(filepath.Join(out2, "thread.txt")); strings.Contains(string(txt), "the report") {
		t.Error("the custodian's key opened the report")
	}

	// The stock age command: the custodian's key opens the item, the
	// officer's does not.
	bin, err := exec.LookPath("age")
	if err != nil {
		t.Skip("age not on PATH")
	}
	item := filepath.Join(t.TempDir(), "identity.age")
	f, _ := os.Open(bundle)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			t.Fatal("no identity in the bundle")
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(hdr.Name, "-identity.age") {
			b, _ := io.ReadAll(tr)
			os.WriteFile(item, b, 0o600)
			break
		}
	}
	var plain bytes.Buffer
	cmd := exec.Command(bin, "-d", "-i", s.custodianKey("acc"), item)
	cmd.Stdout = &plain
	if err := cmd.Run(); err != nil || !strings.Contains(plain.String(), canary) {
		t.Errorf("age -d with the custodian's key: %v", err)
	}
	if err := exec.Command(bin, "-d", "-i", s.key("acc"), item).Run(); err == nil {
		t.Error("age -d with the officer's key opened the identity")
	}
}
