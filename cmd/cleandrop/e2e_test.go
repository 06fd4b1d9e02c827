package main

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportToOfflineOpen walks one case the way its people do: a reporter
// sends a report with two files, an officer asks a question, the reporter
// logs in with the receipt and answers with a file, the officer exports the
// case, the stock age command decrypts every item, and 'cleandrop open'
// reproduces the thread byte for byte.
func TestReportToOfflineOpen(t *testing.T) {
	s := startDemo(t)
	r := newReporter(t, s.url)

	message := "The director approved invoice 4471 twice.\r\nSecond line, ünïcödé, 한국어."
	fileA := []byte("%PDF-1.4 pretend invoice\n")
	fileB := make([]byte, 300<<10) // spills to a blob file
	rand.Read(fileB)
	rc, ref := r.report("acc", message, []upload{
		{"invoice 4471.pdf", bytes.NewReader(fileA)},
		{"photo.jpg", bytes.NewReader(fileB)},
	})
	if len(strings.Fields(rc)) != 7 {
		t.Fatalf("receipt %q is not seven words", rc)
	}
	if ref == "" {
		t.Fatal("no case reference on the receipt page")
	}

	question := "When did you first see the second invoice?\nPlease attach a copy if you can."
	qfile := filepath.Join(t.TempDir(), "q.txt")
	os.WriteFile(qfile, []byte(question), 0o600)
	s.cli(t, "reply", "--case", ref, "--text-file", qfile)

	// Forgiving receipt entry: upper case, hyphens.
	resp, body := r.postForm("/followup", map[string]string{"receipt": strings.ToUpper(strings.ReplaceAll(rc, " ", "-"))})
	if resp.Request.URL.Path != "/case" || !strings.Contains(body, ref) {
		t.Fatalf("login did not open the case: %s\n%s", resp.Request.URL, body)
	}
	if !strings.Contains(body, "When did you first see the second invoice?") {
		t.Fatalf("follow-up page does not show the question:\n%s", body)
	}

	answer := "In March. Copy attached."
	fileC := []byte("second invoice scan")
	resp, body = r.postMultipart("/case/answer", [][2]string{{"message", answer}}, []upload{{"scan.png", bytes.NewReader(fileC)}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Your answer was encrypted and sent.") {
		t.Fatalf("answer: %d\n%s", resp.StatusCode, body)
	}

	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)

	// What each item must decrypt to, by file name in the bundle.
	want := map[string][]byte{
		"items/001-report.age":     []byte(message),
		"items/002-attachment.age": fileA,
		"items/002-name.age":       []byte("invoice 4471.pdf"),
		"items/003-attachment.age": fileB,
		"items/003-name.age":       []byte("photo.jpg"),
		// What the server did with the files' hidden details: nothing it
		// could do with these (a broken PDF, random bytes, plain text).
		"items/004-cleaning.age": []byte(cleaningTitle +
			"file 1: invoice 4471.pdf: sent as it is, not cleaned: the file seems damaged.\n" +
			"file 2: photo.jpg: sent as it is, not cleaned: its type (application/octet-stream) is not one we can clean.\n"),
		"items/005-question.age":   []byte(question),
		"items/006-answer.age":     []byte(answer),
		"items/007-attachment.age": fileC,
		"items/007-name.age":       []byte("scan.png"),
		"items/008-cleaning.age": []byte(cleaningTitle +
			"file 1: scan.png: sent as it is, not cleaned: its type (text/plain) is not one we can clean.\n"),
	}
	items := untar(t, bundle)
	if _, ok := items["manifest.json"]; !ok {
		t.Fatal("bundle has no manifest.json")
	}
	ageBin, err := exec.LookPath("age")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("age is not installed in CI: make deps should have installed it")
		}
		t.Skip("the stock age command is not installed (make deps installs it); skipping the stock decryption check")
	}
	dir := t.TempDir()
	for name, plain := range want {
		ct, ok := items[name]
		if !ok {
			t.Errorf("bundle lacks %s", name)
			continue
		}
		p := filepath.Join(dir, filepath.Base(name))
		os.WriteFile(p, ct, 0o600)
		out, err := exec.Command(ageBin, "-d", "-i", s.key("acc"), p).Output()
		if err != nil {
			t.Errorf("age -d %s: %v", name, err)
			continue
		}
		if !bytes.Equal(out, plain) {
			t.Errorf("age -d %s: got %d bytes, want %d", name, len(out), len(plain))
		}
	}
	if _, ok := items["manifest.json.sig"]; !ok {
		t.Error("bundle has no manifest.json.sig")
	}
	if len(items) != len(want)+2 {
		t.Errorf("bundle holds %d files, want %d", len(items), len(want)+2)
	}

	out := filepath.Join(t.TempDir(), "opened")
	stdout, stderr, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", out)
	if code != 0 {
		t.Fatalf("open: %d\n%s%s", code, stdout, stderr)
	}
	for path, plain := range map[string][]byte{
		"001-report.txt":             []byte(message),
		"files/002-invoice 4471.pdf": fileA,
		"files/003-photo.jpg":        fileB,
		"005-question.txt":           []byte(question),
		"006-answer.txt":             []byte(answer),
		"files/007-scan.png":         fileC,
	} {
		got, err := os.ReadFile(filepath.Join(out, path))
		if err != nil {
			t.Errorf("open wrote no %s: %v", path, err)
			continue
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("%s differs from what was sent", path)
		}
	}
	thread, _ := os.ReadFile(filepath.Join(out, "thread.txt"))
	// thread.txt is for reading: line ends are normalised there (the
	// numbered files above are the exact bytes).
	for _, s := range []string{strings.ReplaceAll(message, "\r\n", "\n"), question, answer, "invoice 4471.pdf"} {
		if !bytes.Contains(thread, []byte(s)) {
			t.Errorf("thread.txt lacks %q", s)
		}
	}
	html, _ := os.ReadFile(filepath.Join(out, "thread.html"))
	if bytes.Contains(html, []byte("<script")) || !bytes.Contains(html, []byte("In March.")) {
		t.Errorf("thread.html is not the escaped thread")
	}

	// The other agency's key opens nothing.
	if _, _, code := runCLI(t, "open", bundle, "-i", s.key("ppo"), "--signer", s.signingKey(), "-o", filepath.Join(t.TempDir(), "x")); code != 1 {
		t.Errorf("open with another agency's key: exit %d, want 1", code)
	}

	// Tampering is refused: flip one byte of an item.
	tampered := filepath.Join(t.TempDir(), "tampered.tar")
	rewriteTar(t, bundle, tampered, func(name string, b []byte) []byte {
		if name == "items/001-report.age" {
			b[len(b)-1] ^= 1
		}
		return b
	})
	_, stderr, code = runCLI(t, "open", tampered, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", filepath.Join(t.TempDir(), "y"))
	if code != 1 || !strings.Contains(stderr, "cleandrop: error:") || !strings.Contains(stderr, "tampered") {
		t.Errorf("tampered bundle: exit %d\n%s", code, stderr)
	}

	// The case list shows it, metadata only.
	var listed bool
	for _, l := range strings.Split(s.cli(t, "cases"), "\n") {
		if strings.HasPrefix(l, ref) && strings.Contains(l, "acc") && strings.Contains(l, "received") {
			listed = true
		}
	}
	if !listed {
		t.Errorf("cleandrop cases does not list %s", ref)
	}
}

const cleaningTitle = "Hidden details in the files of this batch (removed on the server before sealing):\n"

func untar(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[h.Name] = b
	}
}
