package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newBrowser starts a browser for t or skips t when chromium is missing.
func newBrowser(t *testing.T, opt Options) *Browser {
	t.Helper()
	bin, ok := Available()
	if !ok {
		t.Skip("chromium not installed: no " + DefaultBinary + " and no chromium on PATH")
	}
	opt.Binary = bin
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	start := time.Now()
	b, err := New(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("chromium started in %v", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { closeAndCheck(t, "chromium", b.cmd.Process.Pid, b.profile, b.Close) })
	return b
}

// closeAndCheck closes a browser and checks that nothing is left: not the
// main process pid, not a renderer, zygote or utility, not the profile.
func closeAndCheck(t *testing.T, name string, pid int, profile string, close func() error) {
	start := time.Now()
	if err := close(); err != nil {
		t.Errorf("close: %v", err)
	}
	t.Logf("%s closed in %v", name, time.Since(start).Round(time.Millisecond))
	if left := alive([]int{pid}); len(left) > 0 {
		t.Errorf("%s main process %d still running", name, pid)
	}
	if left := procsMentioning(profile); len(left) > 0 {
		t.Errorf("%s processes left after Close: %v", name, left)
	}
	if _, err := os.Stat(profile); !os.IsNotExist(err) {
		t.Errorf("profile %s not removed: %v", profile, err)
	}
}

// formPage has every kind of field a submission form uses and inline
// scripts that would change the page if page JavaScript ran.
const formPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Submit</title>
<style>body{font-family:sans-serif;margin:2em} label{display:block;margin:.5em 0}</style>
</head><body>
<h1 id="status">scripts are off</h1>
<noscript><p id="noscript">noscript content is shown</p></noscript>
<form method="post" action="/submit" enctype="multipart/form-data">
<label>Alias <input id="alias" name="alias" value="old text"></label>
<label>Message <textarea id="message" name="message"></textarea></label>
<label>Language <select id="lang" name="lang">
<option value="en">English</option><option value="de">Deutsch</option><option value="fr">Français</option>
</select></label>
<label>Document <input id="doc" type="file" name="doc"></label>
<label>More <input id="more" type="file" name="more" multiple></label>
<button id="send" type="submit">Send</button>
</form>
<script>
document.getElementById("status").textContent = "script ran";
document.querySelector("form").action = "/hijacked";
document.getElementById("alias").value = "set by script";
</script>
</body></html>`

type filePart struct {
	field, name string
	data        []byte
}

type submission struct {
	fields map[string]string
	files  []filePart
}

// formServer serves formPage and records what /submit receives. It
// reads the body as a stream, like the real upload handler must.
func formServer(t *testing.T) (*httptest.Server, <-chan submission) {
	got := make(chan submission, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, formPage)
	})
	mux.HandleFunc("GET /dead", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>dead</title><a id="dead" href="http://%s/">dead link</a>`, closedPort(t))
	})
	mux.HandleFunc("POST /hijacked", func(w http.ResponseWriter, r *http.Request) {
		t.Error("the page's script changed the form action")
		http.Error(w, "hijacked", http.StatusTeapot)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		mr, err := r.MultipartReader()
		if err != nil {
			t.Errorf("submit: %v", err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s := submission{fields: make(map[string]string)}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Errorf("submit: next part: %v", err)
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			data, err := io.ReadAll(p)
			if err != nil {
				t.Errorf("submit: read part: %v", err)
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			if p.FileName() != "" {
				s.files = append(s.files, filePart{p.FormName(), p.FileName(), data})
			} else {
				s.fields[p.FormName()] = string(data)
			}
		}
		got <- s
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>Thanks</title></head><body>
<h1>Received</h1><p id="receipt">%s</p>
<script>document.getElementById("receipt").textContent = "script ran";</script>
</body></html>`, html.EscapeString("alpha-bravo-charlie-4711"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, got
}

func TestSubmitFormWithJavaScriptOff(t *testing.T) {
	srv, got := formServer(t)
	submitForm(t, newBrowser(t, Options{}), srv, got)
}

// submitForm fills formPage's every field in b, with a file of every kind
// of byte, submits it and checks what the server received and what b
// shows, and that no page script ran.
func submitForm(t *testing.T, b Driver, srv *httptest.Server, got <-chan submission) {
	art := ArtifactDir(t)

	dir := t.TempDir()
	files := []filePart{
		{"doc", "report.pdf", append([]byte("%PDF-1.7\r\n\x00\x01\xff\xfe--boundary--\r\n"), bytes.Repeat([]byte{0, 0xff, '\n'}, 4000)...)},
		{"more", "photo.jpg", []byte("\xff\xd8\xff\xe0 not really a jpeg \r\n\r\n")},
		{"more", "notes and spaces.txt", []byte("line one\nZeile zwei: Grüße\n")},
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	if err := b.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	t.Logf("open: %v", time.Since(start).Round(time.Millisecond))

	// The page's inline script must not have run.
	if s, err := b.Text("#status"); err != nil || s != "scripts are off" {
		t.Errorf(`Text("#status") = %q, %v; want "scripts are off" (page JavaScript ran?)`, s, err)
	}
	if s, err := b.Text("#noscript"); err != nil || s != "noscript content is shown" {
		t.Errorf(`Text("#noscript") = %q, %v; want the <noscript> content parsed as elements`, s, err)
	}
	if err := b.Screenshot(filepath.Join(art, "form.png")); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	const alias, message = "Grüße ✓ <b>&amp;", "first line\nsecond line\n\ttabbed"
	steps := []struct {
		name string
		do   func() error
	}{
		{"alias", func() error { return b.SetValue("#alias", alias) }},
		{"message", func() error { return b.SetValue("textarea[name=message]", message) }},
		{"lang", func() error { return b.Select("#lang", "de") }},
		{"doc", func() error { return b.SetFiles("#doc", filepath.Join(dir, files[0].name)) }},
		{"more", func() error {
			return b.SetFiles("#more", filepath.Join(dir, files[1].name), filepath.Join(dir, files[2].name))
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	t.Logf("fill: %v", time.Since(start).Round(time.Millisecond))
	if err := b.Screenshot(filepath.Join(art, "form-filled.png")); err != nil {
		t.Fatal(err)
	}

	start = time.Now()
	if err := b.Click("#send"); err != nil {
		t.Fatal(err)
	}
	t.Logf("click and load: %v", time.Since(start).Round(time.Millisecond))

	var sub submission
	select {
	case sub = <-got:
	default:
		t.Fatal("the server received no submission")
	}
	wantFields := map[string]string{"alias": alias, "message": strings.ReplaceAll(message, "\n", "\r\n"), "lang": "de"}
	for k, v := range wantFields {
		if sub.fields[k] != v {
			t.Errorf("field %s = %q, want %q", k, sub.fields[k], v)
		}
	}
	if len(sub.fields) != len(wantFields) {
		t.Errorf("fields = %q, want exactly %q", sub.fields, wantFields)
	}
	if len(sub.files) != len(files) {
		t.Fatalf("received %d files, want %d", len(sub.files), len(files))
	}
	for i, f := range files {
		g := sub.files[i]
		if g.field != f.field || g.name != f.name || !bytes.Equal(g.data, f.data) {
			t.Errorf("file %d = %s %q (%d bytes), want %s %q (%d bytes, exact)", i, g.field, g.name, len(g.data), f.field, f.name, len(f.data))
		}
	}

	if u, err := b.URL(); err != nil || u != srv.URL+"/submit" {
		t.Errorf("URL() = %q, %v; want %q", u, err, srv.URL+"/submit")
	}
	receipt, err := b.Text("#receipt")
	if err != nil {
		t.Fatal(err)
	}
	if receipt != "alpha-bravo-charlie-4711" {
		t.Errorf("receipt = %q, want the server's (page JavaScript ran?)", receipt)
	}
	doc, err := b.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, `<p id="receipt">alpha-bravo-charlie-4711</p>`) {
		t.Errorf("HTML() lacks the receipt paragraph:\n%s", doc)
	}

	shot := filepath.Join(art, "receipt.png")
	if err := b.Screenshot(shot); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, shot)
	t.Logf("screenshots in %s", art)
}

// checkPNG fails t unless path is a PNG that is not one flat colour.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	r := img.Bounds()
	if r.Dx() < 100 || r.Dy() < 100 {
		t.Errorf("screenshot %s is %dx%d", path, r.Dx(), r.Dy())
	}
	first := img.At(r.Min.X, r.Min.Y)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.At(x, y) != first {
				return
			}
		}
	}
	t.Errorf("screenshot %s is blank", path)
}

func TestErrors(t *testing.T) {
	srv, _ := formServer(t)
	b := newBrowser(t, Options{Timeout: 5 * time.Second})
	if err := b.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want string
	}{
		{"missing element", func() error { return b.SetValue("#nope", "x") }, "no element matches"},
		{"value on select", func() error { return b.SetValue("#lang", "x") }, "not a text field"},
		{"value on file input", func() error { return b.SetValue("#doc", "x") }, "not a text field"},
		{"unknown option", func() error { return b.Select("#lang", "xx") }, "no option"},
		{"select on input", func() error { return b.Select("#alias", "en") }, "not a <select>"},
		{"two files, single input", func() error { return b.SetFiles("#doc", "browser.go", "page.go") }, "without multiple"},
		{"missing file", func() error { return b.SetFiles("#more", "does-not-exist") }, "no such file"},
		{"files on text input", func() error { return b.SetFiles("#alias", "browser.go") }, "not an <input type=file>"},
		{"text of missing element", func() error { _, err := b.Text("#receipt"); return err }, "no element matches"},
		{"click into a refused connection", func() error {
			if err := b.Open(srv.URL + "/dead"); err != nil {
				return err
			}
			return b.Click("#dead")
		}, "ERR_CONNECTION_REFUSED"},
		{"names are not resolved locally", func() error { return b.Open("http://drop.example/") }, "ERR_NAME_NOT_RESOLVED"},
		{"localhost still works", func() error {
			if err := b.Open(strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/"); err != nil {
				return err
			}
			return errors.New("loaded")
		}, "loaded"},
		{"refused connection", func() error { return b.Open("http://" + closedPort(t) + "/") }, "ERR_CONNECTION_REFUSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// closedPort returns a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestScriptsOnControl runs the page with JavaScript on, to show that the
// checks above would catch a page script that ran.
func TestScriptsOnControl(t *testing.T) {
	srv, _ := formServer(t)
	b := newBrowser(t, Options{scriptsOn: true})
	if err := b.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	if s, err := b.Text("#status"); err != nil || s != "script ran" {
		t.Errorf(`Text("#status") = %q, %v; want "script ran" with scripts on`, s, err)
	}
	if _, err := b.Text("#noscript"); err == nil {
		t.Error("<noscript> content parsed as elements with scripts on")
	}
}
