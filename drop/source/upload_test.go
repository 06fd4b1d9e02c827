package source

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"cleandrop/drop/receipt"
	"cleandrop/drop/stage"
	"cleandrop/drop/web"
	"cleandrop/vault"
)

// countingRecipient counts the age files sealed to it: one Wrap per file.
type countingRecipient struct {
	age.Recipient
	n *atomic.Int64
}

func (c countingRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	c.n.Add(1)
	return c.Recipient.Wrap(fileKey)
}

// sealFixture is a fixture whose agency key counts every age file the
// vault seals.
func sealFixture(t testing.TB, tweak func(*Config)) (*fixture, *atomic.Int64) {
	t.Helper()
	id, _ := age.GenerateX25519Identity()
	sealed := new(atomic.Int64)
	f := fixtureSealedTo(t, countingRecipient{id.Recipient(), sealed}, tweak)
	f.id = id
	return f, sealed
}

// fixtureSealedTo is a fixture whose one agency, "acc", has recipient r.
func fixtureSealedTo(t testing.TB, r age.Recipient, tweak func(*Config)) *fixture {
	t.Helper()
	st, err := vault.Open(t.TempDir(), vault.Options{Agencies: []vault.Agency{{ID: "acc", Name: "ACC",
		Recipients: []age.Recipient{r}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Store: st, Agencies: []Agency{{ID: "acc", Name: "ACC"}}, Pepper: receipt.NewPepper(),
		KDF: fastKDF, Catalog: cat, Policy: stage.EU,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{h: h, store: st}
}

// partsBody is a report form: agency, then messages message parts, then
// files file parts.
func partsBody(first [][2]string, messages, files int) (*bytes.Buffer, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range first {
		mw.WriteField(f[0], f[1])
	}
	for i := range messages {
		mw.WriteField("message", fmt.Sprintf("message %d", i))
	}
	for i := range files {
		w, _ := mw.CreateFormFile("file", fmt.Sprintf("f%d.txt", i))
		fmt.Fprintf(w, "file %d", i)
	}
	mw.Close()
	return &b, mw.FormDataContentType()
}

func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k, v := range web.SecurityHeaders {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// A form with more parts than allowed is refused with a translated 400 at
// the first part over the bound: nothing is kept, and no more is sealed
// than a form at the bound seals.
func TestFormPartsBounded(t *testing.T) {
	const maxFiles = 3
	f, sealed := sealFixture(t, func(c *Config) { c.MaxFiles = maxFiles })
	post := func(body io.Reader, ct string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/report", body)
		req.Header.Set("Content-Type", ct)
		return f.do(req)
	}

	// At the bound: accepted; it seals the most any form may.
	body, ct := partsBody([][2]string{{"agency", "acc"}}, 1, maxFiles)
	if w := post(body, ct); w.Code != http.StatusOK {
		t.Fatalf("a form at the bound: %d", w.Code)
	}
	atBound := sealed.Load()
	cases, _ := f.store.Cases()
	if atBound == 0 || len(cases) != 1 {
		t.Fatalf("a form at the bound sealed %d files into %d cases", atBound, len(cases))
	}

	tests := []struct {
		name            string
		messages, files int
	}{
		{"5000 files", 1, 5000},
		{"5000 messages", 5000, 0},
		{"one file over", 1, maxFiles + 1},
		{"two messages", 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed.Store(0)
			body, ct := partsBody([][2]string{{"agency", "acc"}}, tt.messages, tt.files)
			size := body.Len()
			w := post(body, ct)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", w.Code)
			}
			checkHeaders(t, w.Header())
			if !strings.Contains(w.Body.String(), "too many files or messages") {
				t.Errorf("the page does not say what went wrong:\n%s", w.Body.String())
			}
			if n := sealed.Load(); n > atBound {
				t.Errorf("sealed %d age files, more than the %d a form at the bound seals", n, atBound)
			}
			if left := body.Len(); tt.files+tt.messages > 1000 && left < size/2 {
				t.Errorf("read %d of %d bytes: the parts over the bound were read", size-left, size)
			}
			if cases, _ := f.store.Cases(); len(cases) != 1 {
				t.Errorf("%d cases after a refused form, want 1", len(cases))
			}
		})
	}

	t.Run("translated", func(t *testing.T) {
		body, ct := partsBody([][2]string{{"agency", "acc"}}, 1, 50)
		req := httptest.NewRequest(http.MethodPost, "/report?lang=ru", body)
		req.Header.Set("Content-Type", ct)
		w := f.do(req)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "слишком много файлов") {
			t.Errorf("%d, not the Russian message:\n%s", w.Code, w.Body.String())
		}
	})
}

// rawUpload starts a report over a raw connection: the head announces
// size bytes of body, of which it sends the agency and the start of a
// message, then nothing more. It returns the connection.
func rawUpload(t *testing.T, addr string, size int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	const boundary = "XyZ"
	start := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"agency\"\r\n\r\nacc\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nThe tender was "
	fmt.Fprintf(c, "POST /report HTTP/1.1\r\nHost: drop\r\nContent-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n%s",
		boundary, size, start)
	return c
}

// A body that stalls is cut after the idle time, and nothing of it is
// kept; the upload's slot is given back.
func TestStalledUploadIsCut(t *testing.T) {
	uploads := web.NewUploads(4, 0)
	f, _ := sealFixture(t, func(c *Config) { c.BodyIdle = 300 * time.Millisecond; c.Uploads = uploads })
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close) // after the connections' cleanups: Close waits for them

	c := rawUpload(t, srv.Listener.Addr().String(), 1<<20)
	// Generous: without the idle cut the server waits for ever.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("status %d, want 408", resp.StatusCode)
		}
		checkHeaders(t, resp.Header)
		t.Logf("the stalled upload was cut with %d", resp.StatusCode)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the stalled upload was never cut")
	} else {
		t.Logf("the stalled upload was cut without an answer: %v", err)
	}
	// The server closes the connection.
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection stayed open")
	}
	if cases, _ := f.store.Cases(); len(cases) != 0 {
		t.Errorf("%d cases kept from a stalled upload", len(cases))
	}
	waitFor(t, func() bool { return uploads.InUse() == 0 }, "the stalled upload's slot was not given back")
}

// A body that keeps sending, however slowly, is not cut, even when it
// takes many times the idle time in all.
func TestSlowSteadyUploadIsNotCut(t *testing.T) {
	const idle = 1500 * time.Millisecond
	f, _ := sealFixture(t, func(c *Config) { c.BodyIdle = idle })
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close) // after the connections' cleanups: Close waits for them

	body, ct := partsBody([][2]string{{"agency", "acc"}}, 1, 2)
	data := body.Bytes()
	pr, pw := io.Pipe()
	go func() {
		// Some 5 s in all, a piece every 50 ms: 30 times more often than
		// the idle time.
		piece := len(data)/100 + 1
		for len(data) > 0 {
			n := min(piece, len(data))
			if _, err := pw.Write(data[:n]); err != nil {
				return
			}
			data = data[n:]
			time.Sleep(50 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/report", pr)
	req.Header.Set("Content-Type", ct)
	req.ContentLength = int64(body.Len())
	start := time.Now()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK || !receiptRe.Match(page) {
		t.Fatalf("a slow, steady upload of %v got %d:\n%s", took, resp.StatusCode, page)
	}
	if took < 2*idle {
		t.Fatalf("the upload took only %v; the test needs more than %v", took, 2*idle)
	}
	t.Logf("a %d-byte report sent over %v with a %v idle bound was kept", len(body.Bytes()), took.Round(time.Millisecond), idle)
}

// Uploads beyond the bound get a translated 503 at once, with the security
// headers, and nothing of them is kept; once the others end, uploads are
// served again.
func TestUploadsBeyondBoundAreBusy(t *testing.T) {
	uploads := web.NewUploads(2, 0)
	f, _ := sealFixture(t, func(c *Config) { c.Uploads = uploads; c.BodyIdle = time.Minute })
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close) // after the connections' cleanups: Close waits for them

	held := []net.Conn{rawUpload(t, srv.Listener.Addr().String(), 1<<20), rawUpload(t, srv.Listener.Addr().String(), 1<<20)}
	waitFor(t, func() bool { return uploads.InUse() == 2 }, "the two stalled uploads never took their slots")

	report := func(path string) (*http.Response, string) {
		body, ct := partsBody([][2]string{{"agency", "acc"}}, 1, 1)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, body)
		req.Header.Set("Content-Type", ct)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(page)
	}
	for _, path := range []string{"/report", "/case/answer", "/report?lang=sr"} {
		resp, page := report(path)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s beyond the bound: %d, want 503", path, resp.StatusCode)
		}
		checkHeaders(t, resp.Header)
		want := "try again in a moment"
		if strings.HasSuffix(path, "sr") {
			want = "Покушајте поново за тренутак"
		}
		if !strings.Contains(page, want) || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: the busy page does not say to retry:\n%s", path, page)
		}
	}
	if cases, _ := f.store.Cases(); len(cases) != 0 {
		t.Fatalf("%d cases kept while busy", len(cases))
	}
	for _, c := range held {
		c.Close()
	}
	waitFor(t, func() bool { return uploads.InUse() == 0 }, "closed uploads kept their slots")
	if resp, page := report("/report"); resp.StatusCode != http.StatusOK || !receiptRe.MatchString(page) {
		t.Fatalf("after the others ended: %d", resp.StatusCode)
	}
}

// waitFor polls cond for up to 30 s (no timing is asserted: it only
// bounds a test that would otherwise hang).
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal(msg)
}

// FuzzUpload sends arbitrary multipart bodies as reports: none is a 500,
// and a refused one keeps nothing.
func FuzzUpload(f *testing.F) {
	fx, _ := sealFixture(f, func(c *Config) { c.MaxFiles = 3; c.MaxUpload = 256 << 10 })
	const boundary = "fuzzb"
	seed := func(first [][2]string, messages, files int) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.SetBoundary(boundary)
		for _, kv := range first {
			mw.WriteField(kv[0], kv[1])
		}
		for i := range messages {
			mw.WriteField("message", fmt.Sprint("m", i))
		}
		for i := range files {
			w, _ := mw.CreateFormFile("file", fmt.Sprint("f", i))
			fmt.Fprint(w, "data", i)
		}
		mw.Close()
		f.Add(b.Bytes())
	}
	seed([][2]string{{"agency", "acc"}}, 1, 1)
	seed([][2]string{{"agency", "acc"}}, 1, 9)
	seed([][2]string{{"agency", "acc"}}, 3, 0)
	seed([][2]string{{"message", "x"}, {"agency", "acc"}}, 0, 0)
	seed([][2]string{{"agency", "nope"}}, 1, 0)
	seed([][2]string{{"agency", "acc"}, {"strip", "0"}, {"strip", "1"}}, 1, 2)
	seed([][2]string{{"agency", "acc"}, {"strip", "0"}}, 0, 1)
	seed(nil, 0, 0)
	f.Add([]byte("--" + boundary + "\r\nContent-Disposition: form-data; name=\"agency\"\r\n\r\nacc\r\n--" + boundary))
	f.Fuzz(func(t *testing.T, body []byte) {
		before, _ := fx.store.Cases()
		req := httptest.NewRequest(http.MethodPost, "/report", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		w := fx.do(req)
		after, _ := fx.store.Cases()
		switch {
		case w.Code >= 500:
			t.Fatalf("status %d", w.Code)
		case w.Code == http.StatusOK && len(after) != len(before)+1:
			t.Fatalf("accepted, but %d cases became %d", len(before), len(after))
		case w.Code != http.StatusOK && len(after) != len(before):
			t.Fatalf("refused with %d, but %d cases became %d", w.Code, len(before), len(after))
		}
	})
}

// TestReportTooBigForOneCommit: a report of more files, with longer names,
// than one commit of the vault can take (post-quantum recipients make each
// sealed name long) is refused with a translated page saying so, and
// leaves nothing; before, it failed at the very end, after every file was
// sent, with the page of a storage failure.
func TestReportTooBigForOneCommit(t *testing.T) {
	id, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	f := fixtureSealedTo(t, id.Recipient(), func(c *Config) { c.MaxFiles = 1000 })
	st := f.store
	for _, lang := range []string{"en", "sr"} {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("agency", "acc")
		mw.WriteField("message", "the ledgers")
		for i := range 1000 {
			w, _ := mw.CreateFormFile("file", fmt.Sprintf("%04d-%s.txt", i, strings.Repeat("n", 900)))
			fmt.Fprintf(w, "page %d", i)
		}
		mw.Close()
		req := httptest.NewRequest(http.MethodPost, "/report?lang="+lang, &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		w := f.do(req)
		want := map[string]string{"en": "cannot be stored together", "sr": "не могу се сачувати заједно"}[lang]
		if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("%s: status %d, want 413 and %q:\n%s", lang, w.Code, want, w.Body.String())
		}
		checkHeaders(t, w.Header())
		if cases, _ := st.Cases(); len(cases) != 0 {
			t.Fatalf("%d cases after a refused report, want none", len(cases))
		}
	}
}
