package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// encodings are the forms a leaked canary could take on disk.
func encodings(canary string) map[string][]byte {
	out := map[string][]byte{"plain": []byte(canary), "hex": []byte(hex.EncodeToString([]byte(canary)))}
	for off := 0; off < 3; off++ {
		in := append(bytes.Repeat([]byte{0}, off), canary...)
		for name, enc := range map[string]*base64.Encoding{"base64": base64.StdEncoding, "base64url": base64.RawURLEncoding} {
			s := enc.EncodeToString(in)
			// Drop the characters that mix in neighbouring bytes.
			out[fmt.Sprintf("%s+%d", name, off)] = []byte(s[4 : len(s)-4])
		}
	}
	return out
}

// scanTree lists every file under dir holding any form of canary, and
// counts the files it read.
func scanTree(t *testing.T, dir string, forms map[string][]byte) (hits []string, files int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while we walked (a rotated memtable): not at rest
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		files++
		for name, f := range forms {
			if bytes.Contains(b, f) {
				hits = append(hits, path+" ("+name+")")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits, files
}

func TestScanTreeFindsEncodedCanary(t *testing.T) {
	canary := "CANARY" + rand.Text()
	forms := encodings(canary)
	for name, leak := range map[string]string{
		"plain":       "xx" + canary + "yy",
		"base64 off1": base64.StdEncoding.EncodeToString([]byte("a" + canary + "tail")),
		"base64url":   base64.RawURLEncoding.EncodeToString([]byte("ab" + canary)),
		"hex":         hex.EncodeToString([]byte(canary)),
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "f"), []byte(leak), 0o600)
		if hits, _ := scanTree(t, dir, forms); len(hits) == 0 {
			t.Errorf("%s leak not found", name)
		}
	}
}

// TestNoPlaintextAtRest sends a unique canary as report text, file
// content, file name, officer question, reporter answer and the reporter's
// identity (name and contact, sealed to the custodian), then looks for
// it, plain or encoded, in every file of the data directory and every line
// the server and the commands printed.
func TestNoPlaintextAtRest(t *testing.T) {
	s := startDemo(t)
	r := newReporter(t, s.url)
	canary := "CANARY" + rand.Text()
	file := bytes.Repeat([]byte(canary+"\n"), 5000) // ~170 KiB: a blob file
	rc, ref := r.report("acc", "text "+canary, []upload{
		{canary + ".txt", bytes.NewReader(file)},
		{"small.txt", strings.NewReader(canary)},
	})
	q := filepath.Join(t.TempDir(), "q")
	os.WriteFile(q, []byte("question "+canary), 0o600)
	var cliOut strings.Builder
	cliOut.WriteString(s.cli(t, "reply", "--case", ref, "--text-file", q))
	cliOut.WriteString(s.cli(t, "cases"))
	if resp, body := r.postForm("/followup", map[string]string{"receipt": rc}); resp.Request.URL.Path != "/case" {
		t.Fatalf("login failed:\n%s", body)
	}
	resp, _ := r.postMultipart("/case/answer", [][2]string{{"message", "answer " + canary}}, []upload{{canary + ".bin", bytes.NewReader(file)}})
	if resp.StatusCode != 200 {
		t.Fatalf("answer: %d", resp.StatusCode)
	}
	resp, body := r.postForm("/case/identity", map[string]string{
		"name": "name " + canary, "contact": "contact " + canary, "purpose": "both", "confirm": "yes"})
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/case" || !strings.Contains(body, `id="identity-on-file"`) {
		t.Fatalf("identity: %d\n%s", resp.StatusCode, body)
	}
	// A refused identity (not confirmed) must not leak either.
	r.postForm("/case/identity", map[string]string{"name": canary, "contact": canary, "purpose": "reward"})
	// A refused upload and a cut one must not leak either.
	r.postMultipart("/report", [][2]string{{"agency", "nope"}, {"message", canary}}, nil)

	forms := encodings(canary)
	forms["receipt"] = []byte(rc)
	hits, running := scanTree(t, s.data, forms)
	s.stop()
	hits2, stopped := scanTree(t, s.data, forms)
	for _, h := range append(hits, hits2...) {
		t.Errorf("plaintext at rest: %s", h)
	}
	t.Logf("scanned %d files while running and %d after stopping", running, stopped)
	if stopped < 5 {
		t.Fatalf("only %d files under the data directory: the scan saw nothing", stopped)
	}
	for name, out := range map[string]string{"server stdout": s.stdout.String(), "server stderr": s.stderr.String(), "commands": cliOut.String()} {
		for form, f := range forms {
			if strings.Contains(out, string(f)) {
				t.Errorf("%s holds the canary (%s)", name, form)
			}
		}
	}
}

// storedBytes is how many bytes of sealed items the vault holds outside
// Badger: its pack files (and blob files of a vault from before packs).
func storedBytes(t *testing.T, data string) int64 {
	t.Helper()
	var n int64
	for _, dir := range []string{"packs", "blobs"} {
		ents, err := os.ReadDir(filepath.Join(data, "vault", dir))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			fi, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			n += fi.Size()
		}
	}
	return n
}

// cutUpload sends the start of a large report and hangs up mid-file. It
// returns once the server has received at least sent bytes of the file.
func cutUpload(t *testing.T, s *server, sent int) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const boundary = "cutcutcut"
	head := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"agency\"\r\n\r\nacc\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\na report that never finishes\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
	fmt.Fprintf(conn, "POST /report HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s",
		strings.TrimPrefix(s.url, "http://"), boundary, 100<<20, head)
	chunk := make([]byte, 64<<10)
	for n := 0; n < sent; n += len(chunk) {
		rand.Read(chunk)
		if _, err := conn.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCutUploadLeavesNothing hangs up in the middle of a file, then kills
// the server in the middle of another: neither leaves a case or a byte in
// the packs, and the report acknowledged before the kill is kept.
func TestCutUploadLeavesNothing(t *testing.T) {
	s := startDemo(t)
	cutUpload(t, s, 8<<20)
	waitFor(t, "the server to drop the cut upload", func() bool { return storedBytes(t, s.data) == 0 })
	if out := s.cli(t, "cases"); !strings.Contains(out, "No cases yet.") {
		t.Fatalf("a cut upload left a case:\n%s", out)
	}

	// A committed report with a file, which the kill must not lose.
	file := make([]byte, 3<<20)
	rand.Read(file)
	_, ref := newReporter(t, s.url).report("acc", "kept", []upload{{"kept.bin", bytes.NewReader(file)}})
	kept := storedBytes(t, s.data)

	// Now die mid-upload: kill -9 while the pack slot is being written.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		const boundary = "killkill"
		fmt.Fprintf(conn, "POST /report HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n"+
			"--%s\r\nContent-Disposition: form-data; name=\"agency\"\r\n\r\nacc\r\n--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n",
			boundary, 1<<30, boundary, boundary)
		chunk := make([]byte, 64<<10)
		for {
			if _, err := conn.Write(chunk); err != nil {
				return
			}
		}
	}()
	waitFor(t, "an upload in a pack slot", func() bool { return storedBytes(t, s.data) > kept+(1<<20) })
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	if storedBytes(t, s.data) <= kept {
		t.Fatal("the killed server left nothing in its pack slot: the test did not catch it mid-upload")
	}
	s2 := startServer(t, s.data, readyURL, "demo", "--data", s.data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor")
	if n := storedBytes(t, s2.data); n != kept {
		t.Fatalf("restart left %d bytes in packs, want the %d of the committed report", n, kept)
	}
	if out := s2.cli(t, "cases"); !strings.Contains(out, ref) || strings.Count(out, "CD-") != 1 {
		t.Fatalf("after the kill, want only case %s:\n%s", ref, out)
	}
}
