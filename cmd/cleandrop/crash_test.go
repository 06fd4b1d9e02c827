package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"cleandrop/vault"
	"cleandrop/vault/backend/servers"
)

// crashFile is the content of the attachment called name: the name says
// its size ("...-s12345.bin") and seeds its bytes, so that any case can be
// checked against what its reporter sent, acknowledged or not.
func crashFile(name string) []byte {
	i := strings.LastIndex(name, "-s")
	n, err := strconv.Atoi(strings.TrimSuffix(name[i+2:], ".bin"))
	if i < 0 || err != nil {
		return nil
	}
	seed := sha256.Sum256([]byte(name))
	r := rand.NewChaCha8(seed)
	b := make([]byte, n)
	r.Read(b)
	return b
}

// crashText is a report's or an answer's text: it lists the batch's files.
func crashText(tag string, files []string) string {
	return tag + "\nfiles: " + strings.Join(files, " ") + "\n"
}

// crashClient is a reporter that, unlike [reporter], expects the server to
// die under it: every call returns its error.
type crashClient struct {
	base string
	hc   *http.Client
}

func newCrashClient(base string) *crashClient {
	jar, _ := cookiejar.New(nil)
	return &crashClient{base: base, hc: &http.Client{Jar: jar, Timeout: time.Minute}}
}

func (c *crashClient) do(req *http.Request) (*http.Response, string, error) {
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // fully read: only then was it shown
	return resp, string(body), err
}

func (c *crashClient) multipart(path string, fields [][2]string, files []string) (*http.Response, string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	for _, name := range files {
		w, _ := mw.CreateFormFile("file", name)
		w.Write(crashFile(name))
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

func (c *crashClient) login(rc string) (*http.Response, string, error) {
	req, _ := http.NewRequest(http.MethodPost, c.base+"/followup", strings.NewReader("receipt="+url.QueryEscape(rc)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// crashCase is what the clients were shown of one case.
type crashCase struct {
	receipt string
	texts   []string // acknowledged report and answers
	files   []string // their acknowledged attachments
}

// crashLedger collects the acknowledgements of all clients of a trial.
type crashLedger struct {
	mu    sync.Mutex
	cases map[string]*crashCase // by reference
	acks  int
}

func (l *crashLedger) ack(ref, rc, text string, files []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.cases[ref]
	if c == nil {
		c = &crashCase{receipt: rc}
		l.cases[ref] = c
	}
	c.texts = append(c.texts, text)
	c.files = append(c.files, files...)
	l.acks++
}

// crashReporter sends reports with and without files, logs in with each
// receipt it was shown and answers with and without files, until the
// server dies under it.
func crashReporter(base, tag string, r *rand.Rand, l *crashLedger) {
	c := newCrashClient(base)
	files := func(batch string) []string {
		var out []string
		for i := range r.IntN(3) {
			size := 1 + r.IntN(3<<20)
			if r.IntN(3) == 0 {
				size = 1 + r.IntN(4000) // small: sealed into the pack at commit
			}
			out = append(out, fmt.Sprintf("%s-%s-f%d-s%d.bin", tag, batch, i, size))
		}
		return out
	}
	for n := 0; ; n++ {
		fs := files(fmt.Sprintf("r%d", n))
		text := crashText(fmt.Sprintf("crash report %s-%d", tag, n), fs)
		resp, body, err := c.multipart("/report", [][2]string{{"agency", "acc"}, {"message", text}}, fs)
		if err != nil {
			return
		}
		m := receiptRe.FindStringSubmatch(body)
		ref := refRe.FindString(body)
		if resp.StatusCode != http.StatusOK || m == nil || ref == "" {
			continue // refused (busy): nothing acknowledged
		}
		l.ack(ref, m[1], text, fs)
		for a := range r.IntN(3) {
			if _, body, err := c.login(m[1]); err != nil {
				return
			} else if !strings.Contains(body, ref) {
				break
			}
			fs := files(fmt.Sprintf("r%da%d", n, a))
			text := crashText(fmt.Sprintf("crash answer %s-%d-%d", tag, n, a), fs)
			resp, body, err := c.multipart("/case/answer", [][2]string{{"message", text}}, fs)
			if err != nil {
				return
			}
			if resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/case" && strings.Contains(body, "Your answer was encrypted and sent.") {
				l.ack(ref, m[1], text, fs)
			}
		}
	}
}

var caseListRe = regexp.MustCompile(`(?m)^(CD-[0-9A-Z]{4}-[0-9A-Z]{4})\s`)

// TestCrashRandomKill runs reporters against the real server and SIGKILLs
// it at a random moment, again and again on one data directory. After each
// kill the server starts again; every receipt a reporter was shown logs in;
// its case, exported and opened offline with the officer's key, holds
// every item acknowledged; every case that exists is whole (each batch
// holds every file its text lists, each file what was sent); the vault's
// accounting finds no byte on disk that no committed item references; and
// the audit chain verifies. CLEANDROP_CRASH_TRIALS runs more trials,
// CLEANDROP_CRASH_SEED repeats a run.
func TestCrashRandomKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills servers")
	}
	runCrash(t, "")
}

// TestCrashRandomKillPostgresS3 is TestCrashRandomKill with the vault in
// PostgreSQL and SeaweedFS (S3). There the object store is shared by
// front-ends that may still be uploading, so what a killed server left
// (an unfinished multipart upload, an object whose batch never committed)
// cannot be told from another front-end's work at the next start: it is
// removed once older than the store's sweep_after (3 s here), and the
// test checks after the last trial that nothing is left once that has
// passed.
func TestCrashRandomKillPostgresS3(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills servers")
	}
	t.Parallel()
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	runCrash(t, writeStoreConfig(t, StoreConfig{Postgres: pg.NewDatabase(t), SweepAfter: "3s",
		S3: &S3Config{Endpoint: weed.Endpoint, Bucket: weed.NewBucket(t)}}))
}

func runCrash(t *testing.T, storeFile string) {
	trials := 20
	if v, err := strconv.Atoi(os.Getenv("CLEANDROP_CRASH_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("CLEANDROP_CRASH_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("seed %d (CLEANDROP_CRASH_SEED=%d repeats this run)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	start := time.Now()

	data := filepath.Join(t.TempDir(), "data")
	args := []string{"demo", "--data", data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor"}
	if storeFile != "" {
		args = append(args, "--store", storeFile)
	}
	s := startServer(t, data, readyURL, args...)
	all := map[string]*crashCase{} // every acknowledged case, over all trials
	seen := map[string]bool{}      // every case checked whole
	var kills, acks, receipts, cases int
	for trial := range trials {
		l := &crashLedger{cases: map[string]*crashCase{}}
		var wg sync.WaitGroup
		for c := range 3 {
			r := rand.New(rand.NewPCG(seed, uint64(trial*10+c+1)))
			wg.Go(func() { crashReporter(s.url, fmt.Sprintf("t%dc%d", trial, c), r, l) })
		}
		time.Sleep(time.Duration(200+rng.IntN(2300)) * time.Millisecond)
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
		kills++
		wg.Wait()

		s = startServer(t, data, readyURL, args...) // the vault reopens
		for ref, c := range l.cases {
			if old := all[ref]; old != nil {
				t.Fatalf("trial %d: case %s acknowledged twice", trial, ref)
			}
			all[ref] = c
		}
		listed := caseListRe.FindAllStringSubmatch(s.cli(t, "cases"), -1)
		var refs []string
		for _, m := range listed {
			refs = append(refs, m[1])
		}
		for ref := range all {
			if !slices.Contains(refs, ref) {
				t.Errorf("trial %d: acknowledged case %s is not listed after the restart", trial, ref)
			}
		}
		// Each receipt shown in this trial logs in to its case.
		for ref, c := range l.cases {
			_, body, err := newCrashClient(s.url).login(c.receipt)
			if err != nil || !strings.Contains(body, ref) {
				t.Errorf("trial %d: the receipt of %s does not log in: %v", trial, ref, err)
			}
			receipts++
		}
		// Every case not yet checked (acknowledged or not) is whole; the
		// acknowledged ones hold what was acknowledged.
		for _, ref := range refs {
			if seen[ref] {
				continue
			}
			seen[ref] = true
			crashCheckCase(t, s, trial, ref, all[ref])
			cases++
		}
		acks += l.acks
		t.Logf("trial %d: %d acknowledgements of %d cases; %d cases after the restart", trial, l.acks, len(l.cases), len(refs))

		// The start swept what the kill left: nothing on disk that no
		// committed item references, and the audit chain holds.
		if storeFile != "" {
			// The shared store's one audit chain, through the running
			// server (there are no audit files on a front-end).
			if out, errOut, code := runCLI(t, "audit", "verify", "--data", data); code != 0 {
				t.Errorf("trial %d: audit verify: exit %d\n%s%s", trial, code, out, errOut)
			}
		}
		s.stop()
		if storeFile == "" {
			a, err := vault.Account(filepath.Join(data, "vault"))
			if err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			if a.Orphan != 0 || a.OrphanFiles != 0 || a.Missing != 0 {
				t.Errorf("trial %d: vault accounting after the restart: %+v", trial, a)
			}
		}
		if storeFile == "" {
			if out, errOut, code := runCLI(t, "audit", "verify", "--data", data); code != 0 {
				t.Errorf("trial %d: audit verify: exit %d\n%s%s", trial, code, out, errOut)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		s = startServer(t, data, readyURL, args...)
	}
	// Every receipt of every trial still logs in at the end.
	for ref, c := range all {
		_, body, err := newCrashClient(s.url).login(c.receipt)
		if err != nil || !strings.Contains(body, ref) {
			t.Errorf("at the end: the receipt of %s does not log in: %v", ref, err)
		}
		receipts++
	}
	if acks == 0 {
		t.Fatal("nothing was acknowledged before any kill: the test saw nothing")
	}
	if storeFile != "" {
		crashSharedClean(t, storeFile, filepath.Join(data, "vault"))
	}
	measured(t, "seed %d: %d trials, %d kills, %d acknowledgements, %d receipts logged in, %d cases exported and opened, %s",
		seed, trials, kills, acks, receipts, cases, time.Since(start).Round(time.Second))
}

// crashCheckCase exports case ref, opens it offline with the officer's
// key and checks that every batch is whole and, for an acknowledged case
// (want not nil), that every acknowledged text and file is there.
func crashCheckCase(t *testing.T, s *server, trial int, ref string, want *crashCase) {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), "case.tar")
	s.cli(t, "export", "--case", ref, "-o", bundle)
	out := filepath.Join(t.TempDir(), "opened")
	if o, e, code := runCLI(t, "open", bundle, "-i", s.key("acc"), "--signer", s.signingKey(), "-o", out); code != 0 {
		t.Errorf("trial %d: open %s: exit %d\n%s%s", trial, ref, code, o, e)
		return
	}
	ents, _ := os.ReadDir(out)
	files := map[string][]byte{} // by the name the reporter gave
	fents, _ := os.ReadDir(filepath.Join(out, "files"))
	for _, e := range fents {
		_, name, _ := strings.Cut(e.Name(), "-")
		b, _ := os.ReadFile(filepath.Join(out, "files", e.Name()))
		files[name] = b
	}
	var texts []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), "-report.txt") || strings.HasSuffix(e.Name(), "-answer.txt") {
			b, _ := os.ReadFile(filepath.Join(out, e.Name()))
			texts = append(texts, string(b))
		}
	}
	listed := 0
	for _, text := range texts {
		_, list, ok := strings.Cut(text, "\nfiles: ")
		if !ok {
			t.Errorf("trial %d: case %s: a text that no reporter sent: %q", trial, ref, text)
			continue
		}
		for _, name := range strings.Fields(list) {
			listed++
			got, ok := files[name]
			if !ok {
				t.Errorf("trial %d: case %s: half a batch: %s is missing", trial, ref, name)
			} else if !bytes.Equal(got, crashFile(name)) {
				t.Errorf("trial %d: case %s: %s differs from what was sent", trial, ref, name)
			}
		}
	}
	if listed != len(files) {
		t.Errorf("trial %d: case %s holds %d files, its texts list %d", trial, ref, len(files), listed)
	}
	if want == nil {
		return
	}
	for _, text := range want.texts {
		if !slices.Contains(texts, text) {
			t.Errorf("trial %d: acknowledged case %s lacks the text %q", trial, ref, strings.SplitN(text, "\n", 2)[0])
		}
	}
	for _, name := range want.files {
		if _, ok := files[name]; !ok {
			t.Errorf("trial %d: acknowledged case %s lacks %s", trial, ref, name)
		}
	}
}

// crashSharedClean waits, while the server runs, until the shared store
// holds no object that no committed item references and no unfinished
// upload: what the kills left is older than sweep_after by then.
func crashSharedClean(t *testing.T, storeFile, dir string) {
	t.Helper()
	sc, err := loadStoreFile(storeFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Store: sc}
	sh, err := openShared(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Meta.Close()
	client, err := minio.New(sc.S3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4("", "", "")})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		a, err := vault.AccountShared(t.Context(), dir, sh)
		if err != nil {
			t.Fatal(err)
		}
		unfinished := 0
		for u := range client.ListIncompleteUploads(t.Context(), sc.S3.Bucket, "", true) {
			if u.Err != nil {
				t.Fatal(u.Err)
			}
			unfinished++
		}
		if a.OrphanFiles == 0 && a.Missing == 0 && unfinished == 0 {
			measured(t, "shared store: %d items, %d bytes, all referenced; no unfinished upload", a.Items, a.Referenced)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 minutes after the last kill: %+v, %d unfinished uploads", a, unfinished)
		}
		time.Sleep(time.Second)
	}
}
