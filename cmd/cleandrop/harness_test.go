package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"cleandrop/vault/backend/servers"
)

// bin is the cleandrop binary built for these tests, without -race, so the
// server's memory is measured as it would run.
var bin string

func TestMain(m *testing.M) {
	// A process that runs only a fuzz target (a fuzzing worker, or go test
	// -run '^$' -fuzz) never starts the binary: it skips the build, which
	// would cost every worker its first seconds (all of a short run in
	// make fuzz-short).
	flag.Parse()
	if onlyFuzzing() {
		os.Exit(m.Run())
	}
	if b := os.Getenv("CLEANDROP_TEST_BIN"); b != "" {
		// A child of TestEndToEndPostgresS3: its parent built the binary.
		bin = b
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "cleandrop-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "cleandrop")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build cleandrop:", err)
		os.Exit(1)
	}
	code := m.Run()
	stopTorNet()
	os.RemoveAll(dir)
	os.Exit(code)
}

// onlyFuzzing reports whether this test process runs no test, only a fuzz
// target: it is a fuzzing worker, or it was started with -run '^$' -fuzz.
func onlyFuzzing() bool {
	if w := flag.Lookup("test.fuzzworker"); w != nil && w.Value.String() == "true" {
		return true
	}
	run, fuzz := flag.Lookup("test.run"), flag.Lookup("test.fuzz")
	return run != nil && fuzz != nil && run.Value.String() == "^$" && fuzz.Value.String() != ""
}

// syncBuf is an output buffer safe to read while a process writes it.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a running cleandrop process.
type server struct {
	t              testing.TB
	cmd            *exec.Cmd
	data           string
	url            string
	stdout, stderr *syncBuf
	done           chan struct{}
	store          string // the demo's --store file, if any
}

var readyURL = regexp.MustCompile(`cleandrop: ready: reporter interface: (http://\S+)`)

// startDemo runs 'cleandrop demo' on a fresh data directory and waits for
// its ready line.
//
// With CLEANDROP_TEST_STORE=postgres-s3 the demo keeps its vault in a
// PostgreSQL and a SeaweedFS started for the test (make test runs the
// end-to-end tests a second time so: test-distributed).
func startDemo(t testing.TB, extra ...string) *server {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	args := append([]string{"demo", "--data", data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor"}, extra...)
	f := testStoreFile(t)
	if f != "" {
		args = append(args, "--store", f)
	}
	s := startServer(t, data, readyURL, args...)
	s.store = f
	if f != "" && !strings.Contains(s.stdout.String(), "vault in PostgreSQL") {
		t.Fatalf("the demo did not take the distributed store:\n%s", s.stdout)
	}
	return s
}

// testStoreFile starts the stores CLEANDROP_TEST_STORE asks for and
// returns the file of their "store" section, or "" for the embedded vault.
func testStoreFile(t testing.TB) string {
	switch v := os.Getenv("CLEANDROP_TEST_STORE"); v {
	case "", "badger":
		return ""
	case "postgres-s3":
	default:
		t.Fatalf("CLEANDROP_TEST_STORE=%q: want badger or postgres-s3", v)
	}
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	return writeStoreFile(t, pg.NewDatabase(t), weed.Endpoint, weed.NewBucket(t))
}

// writeStoreFile writes a "store" section for a database and a bucket.
func writeStoreFile(t testing.TB, db, endpoint, bucket string) string {
	t.Helper()
	return writeStoreConfig(t, StoreConfig{Postgres: db, S3: &S3Config{Endpoint: endpoint, Bucket: bucket}})
}

// writeStoreConfig writes sc as a "store" section file.
func writeStoreConfig(t testing.TB, sc StoreConfig) string {
	t.Helper()
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "store.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// startServer runs cleandrop with args and waits until its output matches
// ready; the first submatch, if any, becomes the server's URL.
func startServer(t testing.TB, data string, ready *regexp.Regexp, args ...string) *server {
	t.Helper()
	s := &server{t: t, data: data, stdout: &syncBuf{}, stderr: &syncBuf{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.After(3 * time.Minute)
	for {
		if m := ready.FindStringSubmatch(s.stdout.String()); m != nil {
			if len(m) > 1 {
				s.url = strings.TrimSuffix(m[1], "/")
			}
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("server exited before ready:\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		case <-deadline:
			t.Fatalf("server not ready after 3 minutes:\nstdout:\n%s\nstderr:\n%s", s.stdout, s.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Errorf("server did not stop on SIGTERM")
	}
	if s.t.Failed() {
		s.t.Logf("server stdout:\n%s\nserver stderr:\n%s", s.stdout, s.stderr)
	}
}

// pid is the server's process ID.
func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) key(agency string) string {
	return filepath.Join(s.data, "demo", "officer-"+agency+".key")
}

// signingKey is the drop's public signing key file.
func (s *server) signingKey() string {
	return filepath.Join(s.data, "signing", "public.asc")
}

// cli runs a cleandrop command against the server's data directory.
func (s *server) cli(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, append(args, "--data", s.data)...)
	if code != 0 {
		t.Fatalf("cleandrop %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func runCLI(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// reporter is a browser-like client: a cookie jar, no redirects followed
// implicitly beyond what a browser does, same-origin fetch metadata.
type reporter struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func newReporter(t testing.TB, base string) *reporter {
	jar, _ := cookiejar.New(nil)
	return &reporter{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 10 * time.Minute}}
}

type upload struct {
	name string
	data io.Reader
}

// post sends a multipart form in field order, streaming file bodies.
func (r *reporter) postMultipart(path string, fields [][2]string, files []upload) (*http.Response, string) {
	r.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range fields {
				if err := mw.WriteField(f[0], f[1]); err != nil {
					return err
				}
			}
			for _, f := range files {
				w, err := mw.CreateFormFile("file", f.name)
				if err != nil {
					return err
				}
				if _, err := io.Copy(w, f.data); err != nil {
					return err
				}
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, r.base+path, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return r.do(req)
}

func (r *reporter) postForm(path string, form map[string]string) (*http.Response, string) {
	r.t.Helper()
	var b strings.Builder
	for k, v := range form {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
	}
	req, _ := http.NewRequest(http.MethodPost, r.base+path, strings.NewReader(b.String()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r.do(req)
}

func (r *reporter) get(path string) (*http.Response, string) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.base+path, nil)
	return r.do(req)
}

func (r *reporter) do(req *http.Request) (*http.Response, string) {
	r.t.Helper()
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := r.hc.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp, string(body)
}

var (
	receiptRe = regexp.MustCompile(`id="receipt">([^<]+)<`)
	refRe     = regexp.MustCompile(`CD-[0-9A-Z]{4}-[0-9A-Z]{4}`)
)

// report submits a report and returns its receipt and case reference.
func (r *reporter) report(agency, message string, files []upload) (receipt, ref string) {
	r.t.Helper()
	resp, body := r.postMultipart("/report", [][2]string{{"agency", agency}, {"message", message}}, files)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("report: status %d\n%s", resp.StatusCode, body)
	}
	m := receiptRe.FindStringSubmatch(body)
	if m == nil {
		r.t.Fatalf("no receipt on the page:\n%s", body)
	}
	return m[1], refRe.FindString(body)
}

// tryReport submits a report and returns its receipt and case reference,
// or ok false when the drop refused it (any page without a receipt).
func (r *reporter) tryReport(agency, message string, files []upload) (receipt, ref string, ok bool) {
	r.t.Helper()
	receipt, ref, _, _ = r.attemptReport(agency, message, files)
	return receipt, ref, receipt != ""
}

// attemptReport is tryReport that also returns the page of a refusal and
// its status.
func (r *reporter) attemptReport(agency, message string, files []upload) (receipt, ref string, status int, page string) {
	r.t.Helper()
	resp, body := r.postMultipart("/report", [][2]string{{"agency", agency}, {"message", message}}, files)
	m := receiptRe.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", "", resp.StatusCode, body
	}
	return m[1], refRe.FindString(body), resp.StatusCode, body
}

// measured logs a test's measurement and appends it to
// $CLEANDROP_ARTIFACTS/measurements.txt, which make test prints at the end:
// go test shows a passing test's log only with -v.
func measured(t *testing.T, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	appendMeasurement(t.Name(), line)
}

func appendMeasurement(test, line string) {
	art := os.Getenv("CLEANDROP_ARTIFACTS")
	if art == "" {
		return
	}
	os.MkdirAll(art, 0o755)
	f, err := os.OpenFile(filepath.Join(art, "measurements.txt"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s: %s\n", test, line)
}
