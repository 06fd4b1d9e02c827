package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cleandrop/drop/web/browsertest"
)

var (
	deskReadyRe = regexp.MustCompile(`cleandrop: ready: officer desk: (http://\S+)`)
	enrolPathRe = regexp.MustCompile(`/enrol/(\S+)`)
	daysLeftRe  = regexp.MustCompile(`\d+ day\(s\) left\.`)
)

// deskURL is the loopback address of the demo's officer desk.
func (s *server) deskURL(t testing.TB) string {
	t.Helper()
	// The desk's ready line may follow the reporter interface's, which
	// startServer waited for.
	deadline := time.Now().Add(time.Minute)
	for {
		if m := deskReadyRe.FindStringSubmatch(s.stdout.String()); m != nil {
			return strings.TrimSuffix(m[1], "/")
		}
		select {
		case <-s.done:
		case <-time.After(20 * time.Millisecond):
			if time.Now().Before(deadline) {
				continue
			}
		}
		t.Fatalf("the server printed no officer desk address:\n%s", s.stdout)
	}
}

// addOfficer creates an officer with the cleandrop command, as an
// administrator does, and returns their one-time enrolment path.
func (s *server) addOfficer(t testing.TB, agency, name string) string {
	t.Helper()
	out := s.cli(t, "officer", "add", "--agency", agency, "--name", name)
	m := enrolPathRe.FindString(out)
	if m == "" {
		t.Fatalf("officer add printed no enrolment link:\n%s", out)
	}
	return m
}

// authenticator stands in for an officer's TOTP app: RFC 6238 with
// HMAC-SHA1, 30-second steps and 6 digits, written here from the RFC so
// the test does not share the desk's own code.
type authenticator struct {
	key  []byte
	used int64 // the last step whose code was handed out
}

func newAuthenticator(t testing.TB, secret string) *authenticator {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil || len(key) == 0 {
		t.Fatalf("TOTP secret %q on the enrolment page is not base32: %v", secret, err)
	}
	return &authenticator{key: key}
}

// code returns the code of the current time step. The desk accepts each
// step once, so like a person it waits for the next step when the current
// one's code was already used.
func (a *authenticator) code() string {
	step := time.Now().Unix() / 30
	for step <= a.used {
		time.Sleep(time.Until(time.Unix((a.used+1)*30, 0)) + 50*time.Millisecond)
		step = time.Now().Unix() / 30
	}
	a.used = step
	return totpAt(a.key, step)
}

// early returns the code of the step after the last one used, without
// waiting for it: the desk accepts a code one step early, for clock drift.
func (a *authenticator) early() string {
	a.used++
	return totpAt(a.key, a.used)
}

// totpAt is the six-digit code of one time step (RFC 4226 truncation).
func totpAt(key []byte, step int64) string {
	m := hmac.New(sha1.New, key)
	binary.Write(m, binary.BigEndian, uint64(step))
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// TestTOTPVectors checks the test's authenticator against RFC 6238,
// Appendix B (SHA-1): the last six digits of its eight-digit codes.
func TestTOTPVectors(t *testing.T) {
	key := []byte("12345678901234567890")
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 20000000000: "353130"} {
		if got := totpAt(key, unix/30); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
}

// TestBrowserDesk has a headless Chromium with JavaScript off enrol an
// officer from the link 'cleandrop officer add' prints, sign in with
// password and TOTP, find a new report in the case list and acknowledge it
// with a note. The reporter, following up with the receipt, then sees the
// new stage and the next deadline.
func TestBrowserDesk(t *testing.T) {
	needBrowser(t)
	s := startDemo(t)
	desk := s.deskURL(t)
	art := browsertest.ArtifactDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	b, err := browsertest.New(ctx, browsertest.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	rc, ref := newReporter(t, s.url).report("acc", "The road contract was paid twice.", nil)
	if ref == "" {
		t.Fatal("no case reference on the receipt page")
	}
	enrol := s.addOfficer(t, "acc", "amira")
	const password = "a long passphrase for the desk"

	// Enrol: password, then the TOTP secret shown as text, then a code.
	must(t, b.Open(desk+enrol))
	must(t, b.SetValue("#password", password))
	must(t, b.SetValue("#confirm", password))
	must(t, b.Click(`button[type="submit"]`))
	secret, err := b.Text("#totp-secret")
	must(t, err)
	must(t, b.Screenshot(filepath.Join(art, "1-enrol.png")))
	app := newAuthenticator(t, secret)
	must(t, b.SetValue("#code", app.code()))
	must(t, b.Click(`button[type="submit"]`))
	html, err := b.HTML()
	must(t, err)
	if !strings.Contains(html, "Your account is ready") {
		t.Fatalf("enrolment did not finish:\n%s", html)
	}

	// Sign in with a fresh code: the one used to enrol cannot be replayed.
	must(t, b.Click(`a[href="/login"]`))
	must(t, b.SetValue("#name", "amira"))
	must(t, b.SetValue("#password", password))
	must(t, b.SetValue("#code", app.code()))
	must(t, b.Click(`button[type="submit"]`))
	list, err := b.Text("#cases")
	must(t, err)
	must(t, b.Screenshot(filepath.Join(art, "2-cases.png")))
	if !strings.Contains(list, ref) || !strings.Contains(list, "Received") {
		t.Fatalf("case list does not show %s as received: %q", ref, list)
	}

	// Acknowledge the case with a note to the reporter.
	must(t, b.Click(`a[href="/cases/`+ref+`"]`))
	before := time.Now().UTC()
	must(t, b.Select("#new-stage", "acknowledged"))
	must(t, b.SetValue("#note", "We have your report and will assess it."))
	must(t, b.Click(`form[action="/cases/`+ref+`/stage"] button[type="submit"]`))
	stg, err := b.Text("#stage")
	must(t, err)
	history, err := b.Text("#history")
	must(t, err)
	must(t, b.Screenshot(filepath.Join(art, "3-stage-changed.png")))
	if stg != "Acknowledged" || !strings.Contains(history, "Acknowledged") {
		t.Fatalf("after the change: stage %q, history %q", stg, history)
	}

	// The reporter follows up with the receipt and sees the change.
	must(t, b.Open(s.url+"/followup"))
	must(t, b.SetValue("#receipt", rc))
	must(t, b.Click(`button[type="submit"]`))
	stg, err = b.Text("#stage")
	must(t, err)
	next, err := b.Text("#next")
	must(t, err)
	timeline, err := b.Text("#timeline")
	must(t, err)
	must(t, b.Screenshot(filepath.Join(art, "4-followup.png")))
	after := time.Now().UTC()
	if stg != "Acknowledged" {
		t.Fatalf("reporter sees stage %q, want Acknowledged", stg)
	}
	due := func(t time.Time) string {
		return "The agency must tell you what it is doing about your report by " + t.AddDate(0, 3, 0).Format(time.DateOnly) + "."
	}
	if !strings.Contains(next, due(before)) && !strings.Contains(next, due(after)) {
		t.Fatalf("reporter's next step %q does not give the feedback deadline %q", next, due(after))
	}
	if !daysLeftRe.MatchString(next) {
		t.Fatalf("reporter's next step %q gives no days left", next)
	}
	if !strings.Contains(timeline, "We have your report and will assess it.") {
		t.Fatalf("the officer's note is not on the reporter's timeline: %q", timeline)
	}
	t.Logf("screenshots in %s", art)
}

// TestDeskNotOnReporterInterface: the reporter's listener answers no
// desk path, while the desk's own listener does.
func TestDeskNotOnReporterInterface(t *testing.T) {
	s := startDemo(t)
	_, ref := newReporter(t, s.url).report("acc", "A report.", nil)
	enrol := s.addOfficer(t, "acc", "probe")
	paths := [][2]string{
		{"GET", "/login"},
		{"POST", "/login"},
		{"GET", enrol},
		{"GET", "/cases/" + ref},
		{"GET", "/cases/" + ref + "/export"},
		{"POST", "/cases/" + ref + "/stage"},
		{"GET", "/audit"},
		{"GET", "/api/v1/cases"},
	}
	rep := newReporter(t, s.url)
	rep.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	dsk := newReporter(t, s.deskURL(t))
	dsk.hc.CheckRedirect = rep.hc.CheckRedirect
	for _, p := range paths {
		method, path := p[0], p[1]
		t.Run(method+" "+strings.Replace(path, enrol, "/enrol/TOKEN", 1), func(t *testing.T) {
			send := func(r *reporter) int {
				req, _ := http.NewRequest(method, r.base+path, strings.NewReader(""))
				if method == "POST" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, _ := r.do(req)
				return resp.StatusCode
			}
			if got := send(rep); got != http.StatusNotFound {
				t.Errorf("reporter interface: %d, want 404", got)
			}
			// The same request reaches something real on the desk.
			if got := send(dsk); got == http.StatusNotFound {
				t.Errorf("desk: 404; the probe is not a desk path")
			}
		})
	}
}
