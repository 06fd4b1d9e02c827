package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cleandrop/drop/control"
)

// The load tests run the real binary on loopback with
// --loopback-proxy-protocol and many simulated reporters, each on its own
// Tor circuit (a PROXY line on each of its connections, as tor sends) and
// speaking HTTP as Tor Browser does with JavaScript off: plain forms, a
// cookie jar, redirects followed, no script. Each reporter loops until the
// time is up over a mix of new reports (text only, or with one large
// attachment streamed from a generator, never held in memory), follow-up
// logins with a receipt it was shown earlier, answers, and files added on
// follow-up; an officer asks questions and moves cases on through the
// control socket meanwhile. Afterwards every receipt that was shown must
// log in, and its case must hold every item acknowledged.
//
// What counts as an error: any request that fails, any status other than
// the page the step leads to, any page without what it must show (the
// receipt, the case, "your answer was sent"). That includes 429 and 503:
// the drop's fairness limits answer those, and a reporter who meets one has
// failed to send. The limits are set for the load rather than excused: the
// interface-wide bound on uploads at once (max_uploads, 16 by default) is
// raised to the number of reporters plus headroom, as an operator expecting
// that many at once would set it, since every one of them may wait for a
// receipt derivation while holding an upload slot. The per-circuit bounds
// (two uploads, two derivations) stay at their defaults: a reporter sends
// one form at a time, as a browser does, and never meets them.

// loadParams is one load run.
type loadParams struct {
	reporters  int
	duration   time.Duration
	attachMiB  int64 // the large attachment of a new report
	followKiB  int64 // the file added on follow-up
	officerGap time.Duration
	verifiers  int // concurrent logins in the check afterwards
	// maxUploads is the server's max_uploads; 0: the number of
	// reporters and verifiers plus 16.
	maxUploads int
}

// TestLoadShortZeroErrorsZeroLost is the short load run of make test: 20
// reporters for 20 seconds, with 50 MiB attachments.
func TestLoadShortZeroErrorsZeroLost(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the load run")
	}
	runLoad(t, loadParams{reporters: 20, duration: 20 * time.Second, attachMiB: 50, followKiB: 1024, officerGap: 500 * time.Millisecond, verifiers: 8})
}

// TestLoadZeroErrorsZeroLost is make load: 200 reporters for 2 minutes
// (CLEANDROP_LOAD_REPORTERS, CLEANDROP_LOAD_DURATION and
// CLEANDROP_LOAD_ATTACH_MIB change them; CLEANDROP_LOAD_MAX_UPLOADS sets
// the server's max_uploads, to see what a lower bound refuses). It runs
// only with CLEANDROP_LOAD=1.
func TestLoadZeroErrorsZeroLost(t *testing.T) {
	if os.Getenv("CLEANDROP_LOAD") != "1" {
		t.Skip("the long load run: make load (CLEANDROP_LOAD=1)")
	}
	p := loadParams{reporters: 200, duration: 2 * time.Minute, attachMiB: 50, followKiB: 1024, officerGap: 250 * time.Millisecond, verifiers: 16}
	if v := os.Getenv("CLEANDROP_LOAD_REPORTERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4000 {
			t.Fatalf("CLEANDROP_LOAD_REPORTERS=%q: want 1 to 4000", v)
		}
		p.reporters = n
	}
	if v := os.Getenv("CLEANDROP_LOAD_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("CLEANDROP_LOAD_DURATION=%q: want a Go duration such as 2m", v)
		}
		p.duration = d
	}
	if v := os.Getenv("CLEANDROP_LOAD_ATTACH_MIB"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 1024 {
			t.Fatalf("CLEANDROP_LOAD_ATTACH_MIB=%q: want 1 to 1024", v)
		}
		p.attachMiB = n
	}
	if v := os.Getenv("CLEANDROP_LOAD_MAX_UPLOADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4096 {
			t.Fatalf("CLEANDROP_LOAD_MAX_UPLOADS=%q: want 1 to 4096", v)
		}
		p.maxUploads = n
	}
	runLoad(t, p)
}

// loadStats collects every operation's latency and every error.
type loadStats struct {
	mu    sync.Mutex
	lat   map[string][]time.Duration
	errs  map[string]int
	kinds map[string]int // errors by operation and what went wrong
}

func (s *loadStats) ok(op string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[op] = append(s.lat[op], d)
}

func (s *loadStats) fail(op string, d time.Duration, what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lat[op] = append(s.lat[op], d)
	s.errs[op]++
	s.kinds[op+": "+what]++
}

func (s *loadStats) errors() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.errs {
		n += e
	}
	return n
}

// percentile is the p-th percentile (0 < p <= 100) of sorted durations,
// by the nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// loadCase is what was acknowledged of one case: its reporter's receipt,
// the report's and answers' file counts ("report/1", "answer/0", ...), and
// what the officer added.
type loadCase struct {
	ref, receipt string
	items        map[string]int
	questions    int
	stages       int
	unsure       bool // a request on it failed: it may hold more than acknowledged
	staged       bool
}

// loadLedger is every acknowledgement of a run.
type loadLedger struct {
	mu    sync.Mutex
	cases map[string]*loadCase
	refs  []string // in the order acknowledged, for the officer's picks
}

func (l *loadLedger) newCase(ref, rc string, files int) *loadCase {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &loadCase{ref: ref, receipt: rc, items: map[string]int{fmt.Sprintf("report/%d", files): 1}}
	l.cases[ref] = c
	l.refs = append(l.refs, ref)
	return c
}

func (l *loadLedger) answered(c *loadCase, files int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.items[fmt.Sprintf("answer/%d", files)]++
}

func (l *loadLedger) failed(c *loadCase) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.unsure = true
}

// loadClient is one simulated reporter's browser: one circuit, one cookie
// jar, redirects followed, the headers Tor Browser sends.
type loadClient struct {
	base string
	hc   *http.Client
}

func newLoadClient(base string, circuit uint32) *loadClient {
	hc := circuitClient(circuit, 10*time.Minute)
	hc.CheckRedirect = nil // follow, as a browser does
	return &loadClient{base: base, hc: hc}
}

// do sends req and reads the final page to its end: the status and path
// of the page shown, and its body.
func (c *loadClient) do(req *http.Request) (int, string, string, error) {
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if req.Method == http.MethodPost {
		req.Header.Set("Origin", c.base)
	}
	req.Header.Set("Accept-Language", "en-US,en;q=0.5")
	req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0")
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL.Path, string(b), err
}

func (c *loadClient) get(path string) (int, string, string, error) {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *loadClient) postForm(path string, form url.Values) (int, string, string, error) {
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// loadFile is a file part: a name and its bytes, streamed.
type loadFile struct {
	name string
	data io.Reader
}

// postMultipart streams a multipart form as a browser sends it: the fields
// in form order, then the file input, which is an empty part with an empty
// file name when no file was chosen.
func (c *loadClient) postMultipart(path string, fields [][2]string, file *loadFile) (int, string, string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			for _, f := range fields {
				if err := mw.WriteField(f[0], f[1]); err != nil {
					return err
				}
			}
			name, data := "", io.Reader(strings.NewReader(""))
			if file != nil {
				name, data = file.name, file.data
			}
			w, err := mw.CreateFormFile("file", name)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, data); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// patternReader streams n bytes cut from a shared block of random bytes,
// starting at off: a file of any size that costs the client no memory.
type patternReader struct {
	block []byte
	off   int
	n     int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n <= 0 {
		return 0, io.EOF
	}
	k := copy(b[:min(int64(len(b)), p.n)], p.block[p.off:])
	p.off = (p.off + k) % len(p.block)
	p.n -= int64(k)
	return k, nil
}

var loadText = strings.Repeat("On the third of the month the procurement committee accepted a bid that arrived after the deadline. ", 12)

// loadReporter is one simulated reporter's loop.
type loadReporter struct {
	id     int
	c      *loadClient
	rng    *rand.Rand
	p      loadParams
	block  []byte
	stats  *loadStats
	ledger *loadLedger
	mine   []*loadCase // the cases whose receipt it was shown
}

// timed runs one request of op and records its latency; check says what
// is wrong with the page shown, or "" when it is the page the step leads
// to. It reports whether the step succeeded.
func (r *loadReporter) timed(op string, req func() (int, string, string, error), check func(status int, path, body string) string) (string, bool) {
	start := time.Now()
	status, path, body, err := req()
	d := time.Since(start)
	switch {
	case err != nil:
		r.stats.fail(op, d, err.Error())
		return "", false
	case check(status, path, body) != "":
		r.stats.fail(op, d, fmt.Sprintf("status %d on %s: %s", status, path, check(status, path, body)))
		return "", false
	}
	r.stats.ok(op, d)
	return body, true
}

func want(status int, path string, wantPath string, body string, marks ...string) string {
	if status != http.StatusOK {
		return "not 200"
	}
	if path != wantPath {
		return "landed on the wrong page"
	}
	for _, m := range marks {
		if !strings.Contains(body, m) {
			return "the page lacks " + strconv.Quote(m)
		}
	}
	return ""
}

// report walks the three pages of a new report: the form, the check of
// the draft, and the sending, with one large attachment when big.
func (r *loadReporter) report(big bool) {
	if _, ok := r.timed("report form", func() (int, string, string, error) { return r.c.get("/report?agency=acc") },
		func(st int, p, b string) string { return want(st, p, "/report", b, `action="/report/check"`) }); !ok {
		return
	}
	msg := fmt.Sprintf("Load report by reporter %d.\n%s", r.id, loadText)
	if _, ok := r.timed("report check", func() (int, string, string, error) {
		return r.c.postForm("/report/check", url.Values{"agency": {"acc"}, "message": {msg}})
	}, func(st int, p, b string) string { return want(st, p, "/report/check", b, `id="send"`) }); !ok {
		return
	}
	op, files := "report (text)", 0
	var file *loadFile
	if big {
		op, files = fmt.Sprintf("report (%d MiB file)", r.p.attachMiB), 1
		file = &loadFile{"evidence.bin", &patternReader{block: r.block, off: r.rng.IntN(len(r.block)), n: r.p.attachMiB << 20}}
	}
	body, ok := r.timed(op, func() (int, string, string, error) {
		return r.c.postMultipart("/report", [][2]string{{"agency", "acc"}, {"message", msg}, {"strip", "0"}, {"strip", "1"}}, file)
	}, func(st int, p, b string) string {
		if s := want(st, p, "/report", b); s != "" {
			return s
		}
		if receiptRe.FindStringSubmatch(b) == nil || refRe.FindString(b) == "" {
			return "no receipt or case reference on the page"
		}
		return ""
	})
	if !ok {
		return
	}
	c := r.ledger.newCase(refRe.FindString(body), receiptRe.FindStringSubmatch(body)[1], files)
	r.mine = append(r.mine, c)
}

// followUp signs in with a receipt it was shown, reads the case,
// answers (with a file when file is set) and signs out.
func (r *loadReporter) followUp(c *loadCase, file bool) {
	if _, ok := r.timed("login form", func() (int, string, string, error) { return r.c.get("/followup") },
		func(st int, p, b string) string { return want(st, p, "/followup", b, `name="receipt"`) }); !ok {
		return
	}
	if _, ok := r.timed("login (to the case page)", func() (int, string, string, error) {
		return r.c.postForm("/followup", url.Values{"receipt": {c.receipt}})
	}, func(st int, p, b string) string { return want(st, p, "/case", b, c.ref) }); !ok {
		return
	}
	op, files := "answer (text)", 0
	var f *loadFile
	if file {
		op, files = fmt.Sprintf("answer (%d KiB file)", r.p.followKiB), 1
		f = &loadFile{"scan.bin", &patternReader{block: r.block, off: r.rng.IntN(len(r.block)), n: r.p.followKiB << 10}}
	}
	if _, ok := r.timed(op, func() (int, string, string, error) {
		return r.c.postMultipart("/case/answer", [][2]string{{"message", fmt.Sprintf("An answer from reporter %d.", r.id)}, {"strip", "0"}, {"strip", "1"}}, f)
	}, func(st int, p, b string) string {
		return want(st, p, "/case", b, "Your answer was encrypted and sent.", c.ref)
	}); !ok {
		r.ledger.failed(c)
		return
	}
	r.ledger.answered(c, files)
	// Signing out ends the session: the next follow-up, perhaps on
	// another case, starts at the login form again.
	r.timed("logout", func() (int, string, string, error) { return r.c.postForm("/logout", nil) },
		func(st int, p, b string) string { return want(st, p, "/logout", b, "You are logged out.") })
}

// loop runs the mix until the deadline: a reporter without a receipt
// reports (text only); one with receipts reports again (30% of its turns:
// with the large attachment one time in four; 10% more: with it), so 22.5%
// text and 17.5% with the attachment, or follows up on one of its cases
// (60%: an answer, half of them with a file).
func (r *loadReporter) loop(deadline time.Time) {
	for time.Now().Before(deadline) {
		x := r.rng.IntN(100)
		switch {
		case len(r.mine) == 0 || x < 30:
			r.report(len(r.mine) > 0 && r.rng.IntN(4) == 0)
		case x < 40:
			r.report(true)
		default:
			r.followUp(r.mine[r.rng.IntN(len(r.mine))], r.rng.IntN(2) == 0)
		}
	}
}

// officer asks questions and moves cases to "acknowledged" through the
// control socket, one action every gap, on cases picked at random.
func loadOfficer(ctl *control.Client, gap time.Duration, rng *rand.Rand, l *loadLedger, stats *loadStats, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(gap):
		}
		l.mu.Lock()
		if len(l.refs) == 0 {
			l.mu.Unlock()
			continue
		}
		c := l.cases[l.refs[rng.IntN(len(l.refs))]]
		stage := !c.staged && rng.IntN(2) == 0
		if stage {
			c.staged = true // one change per case: received to acknowledged
		}
		l.mu.Unlock()
		start := time.Now()
		var err error
		op := "officer question (control socket)"
		if stage {
			op = "officer stage change (control socket)"
			err = ctl.SetStage(c.ref, control.StageChange{Stage: "acknowledged"})
		} else {
			err = ctl.Ask(c.ref, []byte("Can you tell us more about the late bid?"))
		}
		if err != nil {
			stats.fail(op, time.Since(start), err.Error())
			l.failed(c)
			continue
		}
		stats.ok(op, time.Since(start))
		l.mu.Lock()
		if stage {
			c.stages++
		} else {
			c.questions++
		}
		l.mu.Unlock()
	}
}

var (
	timelineRe   = regexp.MustCompile(`(?s)id="timeline">(.*?)</ol>`)
	tlReportRe   = regexp.MustCompile(`You sent your report with (\d+) file\(s\)\.`)
	tlAnswerRe   = regexp.MustCompile(`You sent an answer with (\d+) file\(s\)\.`)
	tlQuestionRe = regexp.MustCompile(`The officer asks:`)
	tlStageRe    = regexp.MustCompile(`The case moved to:`)
)

// checkCase logs in with c's receipt on a fresh browser and compares the
// case's timeline with what was acknowledged: the same report and answers
// with the same file counts (at least those when a request on the case
// failed), and at least the officer's questions and stage changes.
func checkCase(cl *loadClient, c *loadCase) string {
	st, path, body, err := cl.postForm("/followup", url.Values{"receipt": {c.receipt}})
	if err != nil {
		return "login: " + err.Error()
	}
	if st != http.StatusOK || path != "/case" || !strings.Contains(body, c.ref) {
		return fmt.Sprintf("the receipt does not log in (status %d on %s)", st, path)
	}
	m := timelineRe.FindStringSubmatch(body)
	if m == nil {
		return "the case page has no timeline"
	}
	got := map[string]int{}
	for _, x := range tlReportRe.FindAllStringSubmatch(m[1], -1) {
		got["report/"+x[1]]++
	}
	for _, x := range tlAnswerRe.FindAllStringSubmatch(m[1], -1) {
		got["answer/"+x[1]]++
	}
	var problems []string
	for k, n := range c.items {
		if got[k] < n {
			problems = append(problems, fmt.Sprintf("%d of %d acknowledged %s items", got[k], n, k))
		}
	}
	if !c.unsure {
		for k, n := range got {
			if n > c.items[k] {
				problems = append(problems, fmt.Sprintf("%d %s items, %d acknowledged", n, k, c.items[k]))
			}
		}
	}
	if q := len(tlQuestionRe.FindAllString(m[1], -1)); q < c.questions {
		problems = append(problems, fmt.Sprintf("%d of %d questions", q, c.questions))
	}
	if s := len(tlStageRe.FindAllString(m[1], -1)); s < c.stages {
		problems = append(problems, fmt.Sprintf("%d of %d stage changes", s, c.stages))
	}
	slices.Sort(problems)
	return strings.Join(problems, "; ")
}

// procStatus reads one field of /proc/PID/status, in KiB.
func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// loadAverage is the machine's one-minute load average: the machine the
// load runs on may be busy with other work, which the numbers then show.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func runLoad(t *testing.T, p loadParams) {
	// The demo makes its configuration and keys at its first start; the
	// second start reads the configuration set for the load.
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"demo", "--data", data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor", "--loopback-proxy-protocol"}
	s := startServer(t, data, readyURL, args...)
	s.stop()
	maxUploads := p.maxUploads
	if maxUploads == 0 {
		maxUploads = min(4096, p.reporters+p.verifiers+16)
	}
	demoConfig(t, data, func(m map[string]any) { m["max_uploads"] = maxUploads })
	s = startServer(t, data, readyURL, args...)
	ctl := control.NewClient(filepath.Join(data, "control.sock"))
	before, err := ctl.Cases()
	if err != nil {
		t.Fatal(err)
	}

	block := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{7}).Read(block)
	stats := &loadStats{lat: map[string][]time.Duration{}, errs: map[string]int{}, kinds: map[string]int{}}
	ledger := &loadLedger{cases: map[string]*loadCase{}}
	mem := sample(s.pid(), 100*time.Millisecond)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d; %d reporters for %s; %d MiB attachments, %d KiB follow-up files; max_uploads %d", seed, p.reporters, p.duration, p.attachMiB, p.followKiB, maxUploads)

	loadBefore := loadAverage()
	start := time.Now()
	deadline := start.Add(p.duration)
	stop := make(chan struct{})
	var officer sync.WaitGroup
	officer.Go(func() { loadOfficer(ctl, p.officerGap, rand.New(rand.NewPCG(seed, 0)), ledger, stats, stop) })
	var wg sync.WaitGroup
	for i := range p.reporters {
		r := &loadReporter{
			id: i, c: newLoadClient(s.url, uint32(1000+i)), rng: rand.New(rand.NewPCG(seed, uint64(i+1))),
			p: p, block: block, stats: stats, ledger: ledger,
		}
		wg.Go(func() { r.loop(deadline) })
	}
	wg.Wait()
	close(stop)
	officer.Wait()
	elapsed := time.Since(start)
	loadAfter := loadAverage()

	// Every receipt shown logs in, and its case holds what was
	// acknowledged.
	verifyStart := time.Now()
	var mu sync.Mutex
	var lost []string
	refs := slices.Sorted(maps.Keys(ledger.cases))
	next := make(chan *loadCase)
	var vw sync.WaitGroup
	for i := range p.verifiers {
		cl := newLoadClient(s.url, uint32(900000+i))
		vw.Go(func() {
			for c := range next {
				if problem := checkCase(cl, c); problem != "" {
					mu.Lock()
					lost = append(lost, c.ref+": "+problem)
					mu.Unlock()
				}
			}
		})
	}
	for _, ref := range refs {
		next <- ledger.cases[ref]
	}
	close(next)
	vw.Wait()
	verifyTime := time.Since(verifyStart)

	peakAnon, _ := mem.finish()
	hwm, err := procStatus(s.pid(), "VmHWM")
	if err != nil {
		t.Fatal(err)
	}
	after, err := ctl.Cases()
	if err != nil {
		t.Fatal(err)
	}

	// The numbers.
	ops := slices.Sorted(maps.Keys(stats.lat))
	total := 0
	for _, op := range ops {
		l := slices.Clone(stats.lat[op])
		slices.Sort(l)
		total += len(l)
		measured(t, "%-40s n=%-6d errors=%-3d p50=%-8s p95=%-8s p99=%-8s max=%s", op, len(l), stats.errs[op],
			percentile(l, 50).Round(time.Millisecond), percentile(l, 95).Round(time.Millisecond),
			percentile(l, 99).Round(time.Millisecond), l[len(l)-1].Round(time.Millisecond))
	}
	var answers, questions, stages, unsure int
	for _, c := range ledger.cases {
		for k, n := range c.items {
			if strings.HasPrefix(k, "answer/") {
				answers += n
			}
		}
		questions += c.questions
		stages += c.stages
		if c.unsure {
			unsure++
		}
	}
	errs := stats.errors()
	measured(t, "load: %d reporters for %s (%s): %d requests, %d errors; %d reports acknowledged, %d found whole afterwards (every receipt logged in, %s); %d answers, %d questions, %d stage changes acknowledged; cases in the vault %d (before %d); server peak RSS (VmHWM) %d MiB, peak RssAnon (sampled every 100 ms) %d MiB; load average %s before, %s at the end (%d cores)",
		p.reporters, p.duration, elapsed.Round(time.Second), total, errs, len(ledger.cases), len(ledger.cases)-len(lost), verifyTime.Round(time.Second),
		answers, questions, stages, len(after), len(before), hwm>>10, peakAnon>>10, loadBefore, loadAfter, runtime.NumCPU())

	for _, k := range slices.Sorted(maps.Keys(stats.kinds)) {
		t.Errorf("%d errors: %s", stats.kinds[k], k)
	}
	if errs > 0 {
		t.Errorf("%d errors under load (want 0)", errs)
	}
	slices.Sort(lost)
	for _, l := range lost {
		t.Errorf("lost: %s", l)
	}
	if unsure > 0 {
		t.Errorf("%d cases had a failed request on them", unsure)
	}
	if len(ledger.cases) == 0 || answers == 0 {
		t.Fatalf("the run acknowledged %d reports and %d answers: it tried nothing", len(ledger.cases), answers)
	}
	// No case that no reporter was shown: every report the drop kept was
	// acknowledged (with zero errors, nothing was half sent).
	if errs == 0 && len(after)-len(before) != len(ledger.cases) {
		t.Errorf("%d new cases in the vault, %d acknowledged", len(after)-len(before), len(ledger.cases))
	}
}
