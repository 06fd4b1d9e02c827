package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cleandrop/vault/backend/servers"
)

// endToEndOnDistributed are the end-to-end tests that run a second time
// with the vault in PostgreSQL and S3: the reporter's flow in a browser
// and by HTTP, the desk, identities, export and offline open, referral
// (the officer's day), the digest, the audit of administrator actions,
// oversight and signed bundles.
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
}

// TestEndToEndPostgresS3 runs endToEndOnDistributed again, in a child
// test process, with every demo server keeping its vault in a PostgreSQL
// and a SeaweedFS (S3) started for it. Each must pass; none may skip.
func TestEndToEndPostgresS3(t *testing.T) {
	if os.Getenv("CLEANDROP_TEST_STORE") != "" {
		t.Skip("this process already runs on a chosen store")
	}
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
func TestFailoverPostgresThroughServer(t *testing.T) {
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
	s := startServer(t, data, readyURL, "demo", "--data", data, "--listen", "127.0.0.1:0",
		"--desk-listen", "127.0.0.1:0", "--no-tor", "--store", storeFile)

	type sent struct {
		receipt, ref string
		file         []byte
	}
	var (
		mu       sync.Mutex
		shown    []sent
		failed   atomic.Int64
		promoted atomic.Int64 // unix nanos of the promotion
		backAt   atomic.Int64 // first report acknowledged after it
	)
	const reports, senders = 50, 4
	var next atomic.Int64
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			r := newReporter(t, s.url)
			for {
				i := next.Add(1)
				if i > reports {
					return
				}
				file := make([]byte, 150<<10+int(i)) // an object in the bucket
				rand.Read(file)
				rc, ref, ok := r.tryReport("acc", fmt.Sprintf("report %d through the failover", i), []upload{{"evidence.bin", bytes.NewReader(file)}})
				if !ok {
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
		rep := newReporter(t, s.url)
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
	measured(t, "failover through the server: primary killed after %d reports; promoted %v after the kill; first report %v after the promotion; %d refused tries; %d cases listed for %d receipts, all complete",
		reports/5, time.Duration(promoted.Load()-killedAt.UnixNano()).Round(time.Millisecond), back.Round(time.Millisecond), failed.Load(), len(listed), reports)
}
