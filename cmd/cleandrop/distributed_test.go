package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"cleandrop/drop/web"
	"cleandrop/vault/backend/servers"
)

// endToEndOnDistributed are the end-to-end tests that run a second time
// with the vault in PostgreSQL and S3: the reporter's flow in a browser
// and by HTTP, the desk, identities, export and offline open, referral
// (the officer's day), the digest, the audit of administrator actions,
// oversight, signed bundles, and the short load run.
var endToEndOnDistributed = []string{
	"TestReportToOfflineOpen",
	"TestBrowserReportWithoutJavaScript",
	"TestBrowserDesk",
	"TestIdentityEndToEnd",
	"TestOfficerDayBinary",
	"TestOfficerNotifyDigest",
	"TestAdminActionsAudited",
	"TestOverseerAccount",
	"TestSignedBundleTamper",
	"TestLoadShortZeroErrorsZeroLost",
}

// TestEndToEndPostgresS3 runs endToEndOnDistributed again, in a child
// test process, with every demo server keeping its vault in a PostgreSQL
// and a SeaweedFS (S3) started for it. Each must pass; none may skip.
func TestEndToEndPostgresS3(t *testing.T) {
	if os.Getenv("CLEANDROP_TEST_STORE") != "" {
		t.Skip("this process already runs on a chosen store")
	}
	// With the failover test, after every other test of the package: the
	// two mostly wait on their servers.
	t.Parallel()
	// The stores start here once, so that a missing program skips (or,
	// in CI, fails) this test with its reason rather than every child.
	servers.StartPostgres(t)
	servers.StartSeaweedFS(t)

	run := "^(" + strings.Join(endToEndOnDistributed, "|") + ")$"
	cmd := exec.Command(os.Args[0], "-test.run", run, "-test.count=1", "-test.v", "-test.timeout=20m")
	cmd.Env = append(os.Environ(), "CLEANDROP_TEST_STORE=postgres-s3", "CLEANDROP_TEST_BIN="+bin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	passed := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	result := regexp.MustCompile(`^--- (PASS|FAIL|SKIP): (Test\w+) \(([0-9.]+s)\)`)
	for sc.Scan() {
		if m := result.FindStringSubmatch(sc.Text()); m != nil {
			passed[m[2]] = m[1] + " " + m[3]
		}
	}
	for _, name := range endToEndOnDistributed {
		if r := passed[name]; !strings.HasPrefix(r, "PASS") {
			t.Errorf("%s on PostgreSQL and S3: %q", name, r)
		} else {
			t.Logf("%s on PostgreSQL and S3: %s", name, r)
		}
	}
	if err != nil || t.Failed() {
		t.Fatalf("child test process: %v after %v; its output:\n%s", err, time.Since(start).Round(time.Second), tailString(out.String(), 60000))
	}
	measured(t, "%d end-to-end tests passed on PostgreSQL and S3 in %v", len(endToEndOnDistributed), time.Since(start).Round(time.Second))
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// TestFailoverPostgresThroughServer sends 50 reports with attachments to
// a server whose PostgreSQL primary is killed (SIGKILL) part way and its
// synchronous standby promoted. The server's connection string names both
// hosts. Every report whose receipt was shown logs in afterwards and its
// case exports and opens offline complete; the drop takes reports again
// within 30 s of the promotion; every case the drop lists is complete.
// A refused try gets the error page in the reporter's language (half of
// them read Albanian), saying that nothing was received, never a broken
// connection or the database's own words; a try whose commit's answer the
// killed primary took with it gets the receipt on the page that says the
// report may not have been stored, and that receipt later either opens a
// complete case or is refused like any wrong receipt.
func TestFailoverPostgresThroughServer(t *testing.T) {
	t.Parallel()
	primary := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	url := primary.NewDatabase(t) // before the standby copies the cluster
	standby := servers.StartStandby(t, primary, "standby1")
	db := strings.TrimPrefix(url[strings.LastIndex(url, "/")+1:], "")
	db = db[:strings.IndexByte(db, '?')]
	conn := fmt.Sprintf("host=127.0.0.1,127.0.0.1 port=%d,%d dbname=%s user=cleandrop sslmode=disable connect_timeout=5",
		primary.Port, standby.Port, db)
	storeFile := writeStoreFile(t, conn, weed.Endpoint, weed.NewBucket(t))
	data := filepath.Join(t.TempDir(), "data")
	// Each reporter on a circuit of their own, as through tor: the
	// per-circuit bounds then refuse nothing, and every refused try is the
	// failover's.
	s := startServer(t, data, readyURL, "demo", "--data", data, "--listen", "127.0.0.1:0",
		"--desk-listen", "127.0.0.1:0", "--no-tor", "--loopback-proxy-protocol", "--store", storeFile)
	onCircuit := func(id int) *reporter {
		hc := circuitClient(uint32(id), 10*time.Minute)
		hc.CheckRedirect = nil
		return &reporter{t: t, base: s.url, hc: hc}
	}

	type sent struct {
		receipt, ref string
		file         []byte
	}
	var (
		mu       sync.Mutex
		shown    []sent
		unsure   []sent // receipts shown as "may not have been stored"
		failed   atomic.Int64
		promoted atomic.Int64 // unix nanos of the promotion
		backAt   atomic.Int64 // first report acknowledged after it
	)
	const reports, senders = 50, 4
	cat, err := web.LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for sender := range senders {
		lang := []string{"en", "sq"}[sender%2]
		wg.Go(func() {
			r := onCircuit(1 + sender)
			r.get("/?lang=" + lang)
			for {
				i := next.Add(1)
				if i > reports {
					return
				}
				file := make([]byte, 150<<10+int(i)) // an object in the bucket
				rand.Read(file)
				rc, ref, status, page := r.attemptReport("acc", fmt.Sprintf("report %d through the failover", i), []upload{{"evidence.bin", bytes.NewReader(file)}})
				if rc == "" {
					if m := receiptRe.FindStringSubmatch(page); m != nil {
						if msg := uncertainPage(cat, lang, status, page); msg != "" {
							t.Errorf("a report of uncertain fate (%s): %s", lang, msg)
						}
						mu.Lock()
						unsure = append(unsure, sent{receipt: m[1], file: file})
						mu.Unlock()
					} else if msg := refusal(cat, lang, status, page); msg != "" {
						t.Errorf("a refused report (%s): %s", lang, msg)
					}
					failed.Add(1)
					next.Add(-1) // the reporter tries again, as a person would
					time.Sleep(500 * time.Millisecond)
					continue
				}
				if p := promoted.Load(); p != 0 {
					backAt.CompareAndSwap(0, time.Now().UnixNano())
				}
				mu.Lock()
				shown = append(shown, sent{rc, ref, file})
				mu.Unlock()
			}
		})
	}
	// Kill the primary once a fifth of the reports are in.
	for {
		mu.Lock()
		n := len(shown)
		mu.Unlock()
		if n >= reports/5 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	primary.Kill()
	killedAt := time.Now()
	standby.Promote(t)
	promoted.Store(time.Now().UnixNano())
	wg.Wait()
	if len(shown) != reports {
		t.Fatalf("%d receipts shown, want %d", len(shown), reports)
	}
	back := time.Duration(backAt.Load() - promoted.Load())
	if backAt.Load() == 0 || back > 30*time.Second {
		t.Fatalf("the drop took its first report %v after the promotion, want within 30 s", back)
	}

	// Every receipt logs in; every case exports and opens complete.
	key := s.key("acc")
	opened := map[string]bool{}
	for i, r := range shown {
		opened[r.ref] = true
		rep := onCircuit(100 + i)
		resp, body := rep.postForm("/followup", map[string]string{"receipt": r.receipt})
		if resp.Request.URL.Path != "/case" || !strings.Contains(body, r.ref) {
			t.Fatalf("receipt %d does not open its case %s after the failover", i, r.ref)
		}
		bundle := filepath.Join(t.TempDir(), "case.tar")
		s.cli(t, "export", "--case", r.ref, "-o", bundle)
		out := filepath.Join(t.TempDir(), "opened")
		if stdout, stderr, code := runCLI(t, "open", bundle, "-i", key, "--signer", s.signingKey(), "-o", out); code != 0 {
			t.Fatalf("open case %s: %d\n%s%s", r.ref, code, stdout, stderr)
		}
		got, err := os.ReadFile(filepath.Join(out, "files", "002-evidence.bin"))
		if err != nil || !bytes.Equal(got, r.file) {
			t.Fatalf("case %s: the attachment opened offline is not what was sent (%d bytes, %v)", r.ref, len(got), err)
		}
	}
	// A receipt of uncertain fate opens a complete case, or nothing.
	landed := 0
	for i, u := range unsure {
		rep := onCircuit(200 + i)
		resp, body := rep.postForm("/followup", map[string]string{"receipt": u.receipt})
		if resp.Request.URL.Path != "/case" {
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("receipt %q of uncertain fate: %d at %s, want the case or the wrong-receipt page", u.receipt, resp.StatusCode, resp.Request.URL.Path)
			}
			continue
		}
		ref := refRe.FindString(body)
		bundle := filepath.Join(t.TempDir(), "case.tar")
		s.cli(t, "export", "--case", ref, "-o", bundle)
		out := filepath.Join(t.TempDir(), "opened")
		if stdout, stderr, code := runCLI(t, "open", bundle, "-i", key, "--signer", s.signingKey(), "-o", out); code != 0 {
			t.Fatalf("open case %s of uncertain fate: %d\n%s%s", ref, code, stdout, stderr)
		}
		if got, err := os.ReadFile(filepath.Join(out, "files", "002-evidence.bin")); err != nil || !bytes.Equal(got, u.file) {
			t.Fatalf("case %s of uncertain fate: the attachment opened offline is not what was sent (%d bytes, %v)", ref, len(got), err)
		}
		opened[ref] = true
		landed++
	}
	// Nothing half-committed: every case the drop lists exports complete.
	cases := s.cli(t, "cases")
	refs := regexp.MustCompile(`CD-[0-9A-Z]{4}-[0-9A-Z]{4}`).FindAllString(cases, -1)
	listed := map[string]bool{}
	for _, ref := range refs {
		listed[ref] = true
	}
	for ref := range listed {
		if opened[ref] {
			continue
		}
		bundle := filepath.Join(t.TempDir(), "case.tar")
		s.cli(t, "export", "--case", ref, "-o", bundle)
		if stdout, stderr, code := runCLI(t, "open", bundle, "-i", key, "--signer", s.signingKey(), "-o", filepath.Join(t.TempDir(), "o")); code != 0 {
			t.Fatalf("listed case %s does not open complete: %d\n%s%s", ref, code, stdout, stderr)
		}
	}
	if len(listed) < reports {
		t.Fatalf("the drop lists %d cases, fewer than the %d receipts shown", len(listed), reports)
	}
	if len(listed) != reports+landed {
		t.Errorf("the drop lists %d cases, for %d receipts shown and %d of uncertain fate that open a case", len(listed), reports, landed)
	}
	measured(t, "failover through the server: primary killed after %d reports; promoted %v after the kill; first report %v after the promotion; %d refused tries, %d of them of uncertain fate (%d landed); %d cases listed for %d receipts, all complete",
		reports/5, time.Duration(promoted.Load()-killedAt.UnixNano()).Round(time.Millisecond), back.Round(time.Millisecond), failed.Load(), len(unsure), landed, len(listed), reports)
}

// uncertainPage says what is wrong with the page of a report whose
// commit's answer was lost, or "" when it is the page a reporter should
// see: 503, in lang, saying that the report may not have been stored and
// how to find out, and naming no part of the server.
func uncertainPage(cat *web.Catalog, lang string, status int, page string) string {
	if status != http.StatusServiceUnavailable {
		return fmt.Sprintf("status %d, want 503", status)
	}
	if !strings.Contains(page, `<html lang="`+lang+`"`) {
		return "the page is not in the reporter's language"
	}
	for _, key := range []string{"receipt.uncertain.title", "receipt.uncertain.intro", "receipt.uncertain.check"} {
		if !strings.Contains(page, html.EscapeString(cat.T(lang, key))) {
			return "the page lacks " + key
		}
	}
	return namesServer(page)
}

// refusal says what is wrong with the page of a refused report, or ""
// when it is the error page a reporter should see: 500 or 503, in lang,
// saying that nothing was saved, and naming no part of the server.
func refusal(cat *web.Catalog, lang string, status int, page string) string {
	if status != http.StatusInternalServerError && status != http.StatusServiceUnavailable {
		return fmt.Sprintf("status %d, want 500 or 503", status)
	}
	if !strings.Contains(page, `<html lang="`+lang+`"`) {
		return "the page is not in the reporter's language"
	}
	said := false
	for _, key := range []string{"error.internal", "error.busy", "error.store"} {
		said = said || strings.Contains(page, html.EscapeString(cat.T(lang, key)))
	}
	if !said {
		return "the page does not say that nothing was saved"
	}
	return namesServer(page)
}

// namesServer says which part of the server a page names, or "".
func namesServer(page string) string {
	for _, word := range []string{"postgres", "SQLSTATE", "connection refused", "goroutine"} {
		if strings.Contains(strings.ToLower(page), strings.ToLower(word)) {
			return fmt.Sprintf("the page names %q", word)
		}
	}
	return ""
}

// TestBackupRestorePostgresS3 backs up a distributed drop the way
// docs/operations.md says, while a reporter keeps sending: pg_dump of the
// database, then a copy of every object of the bucket; restores both into
// a new database and bucket; and starts a front-end on them with the data
// directory's secrets. Every receipt shown before the dump logs in, and
// every case exports with the same manifest digests as before.
func TestBackupRestorePostgresS3(t *testing.T) {
	t.Parallel()
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	url1, bucket1 := pg.NewDatabase(t), weed.NewBucket(t)
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"demo", "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor"}
	s := startServer(t, data, readyURL, append(args, "--data", data, "--store", writeStoreFile(t, url1, weed.Endpoint, bucket1))...)

	type sent struct{ receipt, ref string }
	var before []sent
	r := newReporter(t, s.url)
	for i := range 6 {
		file := make([]byte, 100<<10+i) // an object each
		rand.Read(file)
		rc, ref := r.report("acc", fmt.Sprintf("report %d before the backup", i), []upload{{"f.bin", bytes.NewReader(file)}})
		before = append(before, sent{rc, ref})
	}
	manifests := map[string]string{}
	for _, c := range before {
		bundle := filepath.Join(t.TempDir(), "case.tar")
		s.cli(t, "export", "--case", c.ref, "-o", bundle)
		manifests[c.ref] = manifestDigests(t, bundle)
	}

	// The backup, while a reporter sends.
	stop := make(chan struct{})
	var during atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		r := newReporter(t, s.url)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			file := make([]byte, 80<<10)
			rand.Read(file)
			if _, _, ok := r.tryReport("acc", fmt.Sprintf("report %d during the backup", i), []upload{{"g.bin", bytes.NewReader(file)}}); ok {
				during.Add(1)
			}
		}
	})
	time.Sleep(500 * time.Millisecond)
	dump := pg.Dump(t, url1)
	client := weed.Client(t)
	bucket2 := weed.NewBucket(t)
	copied := 0
	for o := range client.ListObjects(t.Context(), bucket1, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if _, err := client.CopyObject(t.Context(), minio.CopyDestOptions{Bucket: bucket2, Object: o.Key},
			minio.CopySrcOptions{Bucket: bucket1, Object: o.Key}); err != nil {
			t.Fatalf("copy %s: %v", o.Key, err)
		}
		copied++
	}
	close(stop)
	wg.Wait()
	s.stop()

	// The restore: a new database from the dump, the bucket copy, and the
	// data directory's secrets (as an operator copies them to a new
	// front-end).
	url2 := pg.NewDatabase(t)
	pg.Restore(t, url2, dump)
	data2 := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command("cp", "-a", data, data2).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(data2, "control.sock"))
	s2 := startServer(t, data2, readyURL, append(args, "--data", data2, "--store", writeStoreFile(t, url2, weed.Endpoint, bucket2))...)
	for _, c := range before {
		rep := newReporter(t, s2.url)
		resp, body := rep.postForm("/followup", map[string]string{"receipt": c.receipt})
		if resp.Request.URL.Path != "/case" || !strings.Contains(body, c.ref) {
			t.Fatalf("after the restore, the receipt of %s does not open its case", c.ref)
		}
		bundle := filepath.Join(t.TempDir(), "case.tar")
		s2.cli(t, "export", "--case", c.ref, "-o", bundle)
		if got := manifestDigests(t, bundle); got != manifests[c.ref] {
			t.Fatalf("case %s exports differently after the restore:\n%s\nwant\n%s", c.ref, got, manifests[c.ref])
		}
	}
	measured(t, "distributed backup under load: a %d-byte pg_dump and %d objects copied while %d reports arrived; %d cases restored, receipts log in, export manifests equal",
		len(dump), copied, during.Load(), len(before))
}

// TestCheckStorePostgresS3 runs 'cleandrop check' on a configuration
// with a store section, as an operator does before starting a front-end:
// it connects, and tells a matching vault.key, a missing one, another
// one, and a store that holds no vault yet; and it refuses bad sections
// without connecting.
func TestCheckStorePostgresS3(t *testing.T) {
	t.Parallel()
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	url, bucket := pg.NewDatabase(t), weed.NewBucket(t)
	data := filepath.Join(t.TempDir(), "data")
	args := []string{"demo", "--data", data, "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor"}
	s := startServer(t, data, readyURL, append(args, "--store", writeStoreFile(t, url, weed.Endpoint, bucket))...)
	s.stop()
	cfgPath := filepath.Join(data, "demo", "config.json")
	setStore := func(store map[string]any) {
		demoConfig(t, data, func(m map[string]any) { m["store"] = store })
	}
	good := map[string]any{"postgres": url, "s3": map[string]any{"endpoint": weed.Endpoint, "bucket": bucket}}
	check := func(wantCode int, want ...string) {
		t.Helper()
		out, errOut, code := runCLI(t, "check", "--config", cfgPath)
		if code != wantCode {
			t.Fatalf("check: exit %d, want %d\n%s%s", code, wantCode, out, errOut)
		}
		for _, w := range want {
			if !strings.Contains(out+errOut, w) {
				t.Fatalf("check does not say %q:\n%s%s", w, out, errOut)
			}
		}
	}
	setStore(good)
	check(0, "PostgreSQL answers", "the vault key matches")

	key := filepath.Join(data, "vault", "vault.key")
	saved, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	os.WriteFile(key, other, 0o600)
	check(1, "another vault.key", "copy")
	os.Remove(key)
	check(1, "vault.key is missing", "copy vault.key")
	// A new database and bucket: no vault yet, with or without a key.
	setStore(map[string]any{"postgres": pg.NewDatabase(t), "s3": map[string]any{"endpoint": weed.Endpoint, "bucket": weed.NewBucket(t)}})
	check(0, "no vault yet")
	os.WriteFile(key, saved, 0o600)
	check(0, "no vault yet")

	for _, bad := range []struct {
		store map[string]any
		want  string
	}{
		{map[string]any{"postgres": "", "s3": good["s3"]}, "postgres is empty"},
		{map[string]any{"postgres": "host=db password=hunter2 dbname=x", "s3": good["s3"]}, "holds a password"},
		{map[string]any{"postgres": "postgres://u:hunter2@db/x", "s3": good["s3"]}, "holds a password"},
		{map[string]any{"postgres": url}, "s3 is missing"},
		{map[string]any{"postgres": url, "s3": map[string]any{"endpoint": "nohost", "bucket": bucket}}, "is not host:port"},
		{map[string]any{"postgres": url, "s3": map[string]any{"endpoint": weed.Endpoint, "bucket": "Bad_Bucket"}}, "not a valid bucket name"},
		{map[string]any{"postgres": url, "s3": map[string]any{"endpoint": weed.Endpoint, "bucket": bucket, "access_key_file": "k"}}, "one of access_key_file and secret_key_file"},
		{map[string]any{"postgres": url, "s3": map[string]any{"endpoint": weed.Endpoint, "bucket": bucket, "part_size_mib": 2}}, "part_size_mib 2 is out of range"},
		{map[string]any{"postgres": url, "sweep_after": "5m0", "s3": good["s3"]}, "sweep_after"},
		{map[string]any{"postgres": url, "s3": map[string]any{"endpoint": weed.Endpoint, "bucket": "nosuchbucket"}}, `bucket "nosuchbucket" does not exist`},
	} {
		setStore(bad.store)
		check(1, bad.want)
		if out, errOut, _ := runCLI(t, "check", "--config", cfgPath); strings.Contains(out+errOut, "hunter2") {
			t.Fatalf("check repeats the password:\n%s%s", out, errOut)
		}
	}
}

// TestTwoFrontEndsPostgresS3 runs two servers over one PostgreSQL and
// one bucket, the second with a copy of the first's secrets, as a
// national deployment does behind one onion: a report sent through one is
// followed up through the other; a reporter's session and an officer's
// session, begun on one, serve on the other and end on both at sign-out;
// and a TOTP code used on one is refused on the other.
func TestTwoFrontEndsPostgresS3(t *testing.T) {
	t.Parallel()
	pg := servers.StartPostgres(t)
	weed := servers.StartSeaweedFS(t)
	store := writeStoreFile(t, pg.NewDatabase(t), weed.Endpoint, weed.NewBucket(t))
	dataA := filepath.Join(t.TempDir(), "data")
	args := []string{"demo", "--listen", "127.0.0.1:0", "--desk-listen", "127.0.0.1:0", "--no-tor", "--store", store}
	a := startServer(t, dataA, readyURL, append(args, "--data", dataA)...)
	dataB := filepath.Join(t.TempDir(), "data")
	if out, err := exec.Command("cp", "-a", dataA, dataB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(dataB, "control.sock"))
	b := startServer(t, dataB, readyURL, append(args, "--data", dataB)...)

	// The report through A, the follow-up and an answer through B.
	r := newReporter(t, a.url)
	rc, ref := r.report("acc", "sent through front-end A", nil)
	rb := newReporter(t, b.url)
	resp, body := rb.postForm("/followup", map[string]string{"receipt": rc})
	if resp.Request.URL.Path != "/case" || !strings.Contains(body, ref) {
		t.Fatalf("front-end B does not open the case sent through A:\n%s", body)
	}
	if resp, body := rb.postMultipart("/case/answer", [][2]string{{"message", "answered through B"}}, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("answer through B: %d\n%s", resp.StatusCode, body)
	}
	// The same browser (one cookie jar: cookies do not depend on the
	// port) now on A: the session begun on B serves there.
	rb.base = a.url
	if resp, body := rb.get("/case"); resp.StatusCode != http.StatusOK || !strings.Contains(body, ref) {
		t.Fatalf("the session begun on B does not serve on A: %d", resp.StatusCode)
	}
	rb.postForm("/logout", nil)
	rb.base = b.url
	if resp, _ := rb.get("/case"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after signing out on A, B still serves the session: %d", resp.StatusCode)
	}

	// An officer enrols on A; a code used on A is refused on B.
	deskA, deskB := a.deskURL(t), b.deskURL(t)
	path := a.addOfficer(t, "acc", "alice")
	const password = "a long desk password for testing"
	officer := newReporter(t, deskA)
	officer.get(path)
	_, body = officer.postForm(path, map[string]string{"password": password, "confirm": password})
	m := totpRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no TOTP secret on the enrolment page:\n%s", body)
	}
	auth := newAuthenticator(t, m[1])
	if resp, body := officer.postForm(path, map[string]string{"code": auth.code()}); resp.StatusCode != http.StatusOK {
		t.Fatalf("enrolment confirm: %d\n%s", resp.StatusCode, body)
	}
	code := auth.early()
	login := func(desk, code string) int {
		st, err := postForm(&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
			desk+"/login", url.Values{"name": {"alice"}, "password": {password}, "code": {code}})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := login(deskA, code); st != http.StatusSeeOther {
		t.Fatalf("sign-in on A: %d, want 303", st)
	}
	if st := login(deskB, code); st == http.StatusSeeOther {
		t.Fatal("the code used on A signed in on B too")
	}
	// The officer's session begun on A serves on B.
	o := newReporter(t, deskA)
	if resp, body := o.postForm("/login", map[string]string{"name": "alice", "password": password, "code": auth.code()}); resp.StatusCode != http.StatusOK || !strings.Contains(body, ref) {
		t.Fatalf("sign-in on A with a new code: %d", resp.StatusCode)
	}
	o.base = deskB
	if resp, body := o.get("/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, ref) {
		t.Fatalf("the officer's session begun on A does not serve on B: %d", resp.StatusCode)
	}
}
