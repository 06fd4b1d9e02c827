package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/web"
	"cleandrop/drop/web/browsertest"
)

// TestBrowserIdentityWithoutJavaScript: in a real headless Chromium with
// JavaScript off, a reporter reading Mongolian files a report, signs in
// with the receipt and files their identity from the case page; the case
// page says it is on file and for what, and the custodian's key opens it
// offline while the case officer's does not.
func TestBrowserIdentityWithoutJavaScript(t *testing.T) {
	needBrowser(t)
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	s := startDemo(t)
	art := browsertest.ArtifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	must(t, b.Open(s.url+"/report?lang=mn"))
	must(t, b.Select("#agency", "acc"))
	must(t, b.SetValue("#message", "Тендерийг санал нээхээс өмнө олгосон."))
	must(t, b.Click("#check"))
	must(t, b.Click("#send"))
	rc, err := b.Text("#receipt")
	must(t, err)
	must(t, b.Click(`a[href="/followup"]`))
	must(t, b.SetValue("#receipt", strings.TrimSpace(rc)))
	must(t, b.Click(`button[type="submit"]`))
	must(t, b.Screenshot(filepath.Join(art, "identity-1-case.png")))

	name, contact := "Бат-Эрдэнэ Дорж", "+976 9911 0000"
	must(t, b.SetValue("#identity-name", name))
	must(t, b.SetValue("#identity-contact", contact))
	must(t, b.Check(`input[name="purpose"][value="both"]`))
	must(t, b.Screenshot(filepath.Join(art, "identity-2-filled.png")))
	// The confirmation box is required: the browser itself will not send
	// the form without it (the server refuses it too, with a translated
	// error: drop/source's TestIdentityErrors).
	page, err := b.HTML()
	must(t, err)
	if !strings.Contains(page, `name="confirm" value="yes" required`) || !strings.Contains(page, cat.T("mn", "case.identity.warning")) {
		t.Error("the identity form lacks its required confirmation or its warning in Mongolian")
	}

	must(t, b.Check(`input[name="confirm"]`))
	must(t, b.Click(`#identity button[type="submit"]`))
	must(t, b.Screenshot(filepath.Join(art, "identity-4-on-file.png")))
	onFile, err := b.Text("#identity-on-file")
	must(t, err)
	if !strings.Contains(onFile, cat.T("mn", "case.identity.purpose.both")) {
		t.Errorf("case page: identity on file %q", onFile)
	}
	page, err = b.HTML()
	must(t, err)
	if strings.Contains(page, name) || strings.Contains(page, contact) {
		t.Error("the case page shows the identity back")
	}
	if !strings.Contains(page, `lang="mn"`) {
		t.Error("the case page is not in Mongolian")
	}

	ref := refRe.FindString(page)
	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)
	out := filepath.Join(t.TempDir(), "custodian")
	if stdout, stderr, code := runCLI(t, "open", bundle, "-i", s.custodianKey("acc"), "--signer", s.signingKey(), "-o", out); code != 0 {
		t.Fatalf("open with the custodian's key: exit %d\n%s%s", code, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*-identity.txt"))
	if len(files) != 1 {
		t.Fatalf("custodian's output: %v", files)
	}
	got, _ := os.ReadFile(files[0])
	if !strings.Contains(string(got), "name: "+name) || !strings.Contains(string(got), contact) || !strings.Contains(string(got), "purpose: both") {
		t.Errorf("identity:\n%s", got)
	}
	out2 := filepath.Join(t.TempDir(), "officer")
	if stdout, stderr, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", out2); code != 0 ||
		!strings.Contains(stdout, "sealed to the agency's custodian") {
		t.Fatalf("open with the officer's key: exit %d\n%s%s", code, stdout, stderr)
	}
	if hits, _ := scanTree(t, out2, encodings(name)); len(hits) > 0 {
		t.Errorf("the officer's opened case holds the identity: %v", hits)
	}
	t.Logf("screenshots in %s", art)
}
